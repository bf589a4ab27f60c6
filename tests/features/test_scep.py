"""SCEP against the certificate authority over the lab's HTTP, on the virtual clock.

The client is ``ScepClient`` on CA-server-2, talking to CA-server-1's HTTP server over the
lab's TCP; the CA is built directly (the ``crypto pki server`` commands are tested
elsewhere). What the CA issues is checked with the ``openssl`` binary as well.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AttributeOID, NameOID
from helpers import open_lab

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import HttpReply
from iosemu.features.pki import cms
from iosemu.features.pki.ca import CaSettings, CertificateAuthority
from iosemu.features.pki.cms import FailInfo, MessageType, PkiStatus
from iosemu.features.pki.objects import ios_name, make_ca_cert, sign_tbs
from iosemu.features.pki.scep import (
    DEFAULT_CAPS,
    IOS_USER_AGENT,
    SCEP_PATH,
    ScepClient,
    ScepEvent,
    install_scep,
    lab_transport,
)

ONE, TWO = "CA-server-1", "CA-server-2"
CA_ADDRESS = IPv4Address("10.1.32.83")
OPENSSL = shutil.which("openssl")


@cache
def rsa_key(index: int, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A few keys shared by every test (RSA-2048 generation costs ~50 ms each)."""
    return rsa.generate_private_key(65537, bits)


@dataclass
class Recorder:
    """A transport that remembers what went over the wire."""

    inner: object
    sent: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)

    async def __call__(
        self, method: str, target: str, body: bytes = b"", headers: list | None = None
    ) -> HttpReply:
        self.sent.append((method, target, headers or []))
        return await self.inner(method, target, body, headers)  # type: ignore[operator]


class Scep:
    """A lab whose CA-server-1 runs a CA with SCEP; helpers to drive it from CA-server-2."""

    def __init__(self, lab: Lab, hash_alg: str = "sha256", grant: str = "manual") -> None:
        self.lab = lab
        router = lab.router(ONE)
        now = router.clock.utc().replace(microsecond=0)
        key = rsa_key(0)
        cert = make_ca_cert(key, ios_name("PKI-HA"), now, 1095, hash_alg)
        self.ca = CertificateAuthority(
            key, cert, router.clock.utc, CaSettings(grant=grant, hash=hash_alg)
        )
        lab.run(self.ca.regenerate_crl())
        self.running = True
        self.events: list[ScepEvent] = []
        install_scep(router, lambda: self.ca if self.running else None, observer=self.events.append)
        self.transport = Recorder(lab_transport(lab.router(TWO), CA_ADDRESS))

    def client(self, **kwargs: object) -> ScepClient:
        return ScepClient(self.transport, **kwargs)  # type: ignore[arg-type]

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.lab.run(coro)

    def state(self) -> tuple[object, ...]:
        ca = self.ca
        return (
            ca.serial,
            sorted((r.id, r.state, r.transaction_id) for r in ca.requests.values()),
            ca.crl_der,
            sorted(ca.issued),
            list(ca.revoked),
            dict(ca.passwords),
        )


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = open_lab()
    for name, address in ((ONE, "10.1.32.83"), (TWO, "10.1.32.84")):
        text = f"interface Gi0/0\n ip address {address} 255.255.255.0\n no shutdown\n"
        lab.run(load_config(lab.router(name), text, lambda _: None))
    lab.run(load_config(lab.router(ONE), "ip http server\n", lambda _: None))
    lab.run(asyncio.sleep(5))
    yield lab
    lab.close()


@pytest.fixture
def scep(lab: Lab) -> Scep:
    return Scep(lab)


@dataclass
class Requester:
    key: rsa.RSAPrivateKey
    signer: x509.Certificate
    csr: x509.CertificateSigningRequest
    tx: str


def requester(
    index: int,
    name: str = "R2.lab.local",
    *,
    password: str | None = None,
    csr_hash: str = "sha256",
    ios_subject: bool = False,
) -> Requester:
    key = rsa_key(index)
    if ios_subject:  # IOS puts its FQDN in unstructuredName
        subject = x509.Name(
            [
                x509.NameAttribute(
                    x509.ObjectIdentifier("1.2.840.113549.1.9.2"), name, _ASN1Type.IA5String
                )
            ]
        )
    else:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if password is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, password.encode())
    csr = builder.sign(key, hashes.SHA256())
    if csr_hash != "sha256":  # cryptography signs no MD5/SHA-1 requests: re-sign the TBS
        der = sign_tbs(csr.tbs_certrequest_bytes, key, csr_hash)
        csr = x509.load_der_x509_csr(der)
    signer = cms.self_signed(key, subject, dt.datetime(2010, 6, 3, tzinfo=dt.UTC))
    return Requester(key, signer, csr, cms.transaction_id_for(key.public_key()))


def enroll(scep: Scep, client: ScepClient, who: Requester) -> cms.CertRep:
    return scep.run(client.enroll(who.csr, who.key, who.signer, who.tx))


def poll(scep: Scep, client: ScepClient, who: Requester) -> cms.CertRep:
    return scep.run(client.poll(who.csr.subject, who.key, who.signer, who.tx))


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run(
        [OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def lab_epoch(scep: Scep) -> str:
    return str(int(scep.lab.router(ONE).clock.utc().timestamp()))


# --------------------------------------------------------------------------- discovery


def test_get_ca_caps_and_the_ca_certificate(scep: Scep) -> None:
    client = scep.client()
    assert scep.run(client.get_ca_caps()) == list(DEFAULT_CAPS)
    assert scep.run(client.get_ca_cert()) == scep.ca.cert
    reply = scep.run(scep.transport("GET", f"{SCEP_PATH}?operation=GetCACert&message=x"))
    assert reply.header("content-type") == "application/x-x509-ca-cert"
    assert reply.body == scep.ca.cert_der
    reply = scep.run(scep.transport("GET", f"{SCEP_PATH}?operation=GetCACaps"))
    assert reply.header("content-type") == "text/plain"
    assert reply.body == b"POSTPKIOperation\nSHA-256\nSHA-1\nDES3\nAES\nRenewal\n"


def test_a_server_that_is_not_running_answers_404(scep: Scep) -> None:
    scep.running = False
    for query in ("GetCACaps", "GetCACert", "GetCRL", "PKIOperation&message=MA=="):
        reply = scep.run(scep.transport("GET", f"{SCEP_PATH}?operation={query}"))
        assert reply.status == 404
    scep.running = True
    assert scep.run(scep.transport("GET", f"{SCEP_PATH}?operation=GetCACaps")).status == 200


def test_unknown_operations_and_non_messages_are_http_400(scep: Scep) -> None:
    for query in ("", "?operation=Bogus", "?operation=GetNextCACert", "?operation=PKIOperation"):
        assert scep.run(scep.transport("GET", SCEP_PATH + query)).status == 400
    reply = scep.run(scep.transport("POST", f"{SCEP_PATH}?operation=PKIOperation", b"hello"))
    assert reply.status == 400


# --------------------------------------------------------------------------- enrollment


def test_post_aes_sha256_manual_grant_pending_then_granted(scep: Scep, tmp_path: Path) -> None:
    client = scep.client(method="POST", cipher="aes128", digest="sha256")
    who = requester(1)
    rep = enroll(scep, client, who)
    assert (rep.status, rep.digest) == (PkiStatus.PENDING, "sha256")
    [request] = scep.ca.requests.values()
    assert (request.state, request.transaction_id) == ("pending", who.tx)
    assert poll(scep, client, who).status is PkiStatus.PENDING
    assert enroll(scep, client, who).status is PkiStatus.PENDING  # a resend is a poll
    assert len(scep.ca.requests) == 1
    assert scep.run(scep.ca.grant(None)) == 1
    rep = poll(scep, client, who)
    assert (rep.status, rep.cipher) == (PkiStatus.SUCCESS, "aes128")
    [cert] = rep.certs
    assert cert.serial_number == 2
    assert cert.public_key().public_numbers() == who.key.public_key().public_numbers()
    assert cert.subject == who.csr.subject and cert.issuer == scep.ca.cert.subject
    # GetCert finds it again by serial.
    again = scep.run(client.get_cert(2, who.key, who.signer, "get-2"))
    assert again.status is PkiStatus.SUCCESS and again.certs == [cert]
    missing = scep.run(client.get_cert(99, who.key, who.signer, "get-99"))
    assert (missing.status, missing.fail_info) == (PkiStatus.FAILURE, FailInfo.BAD_CERT_ID)
    assert [e.operation for e in scep.events if e.status] == [
        "PKCSReq",
        "CertPoll",
        "PKCSReq",
        "CertPoll",
        "GetCert",
        "GetCert",
    ]
    if OPENSSL:
        (tmp_path / "ca.pem").write_bytes(pem(scep.ca.cert))
        (tmp_path / "ee.pem").write_bytes(pem(cert))
        at = lab_epoch(scep)
        done = openssl("verify", "-attime", at, "-CAfile", "ca.pem", "ee.pem", cwd=tmp_path)
        assert done.stdout.strip() == "ee.pem: OK", done.stderr
        text = openssl("x509", "-in", "ee.pem", "-noout", "-text", cwd=tmp_path).stdout
        assert "Signature Algorithm: sha256WithRSAEncryption" in text
        assert "X509v3 Key Usage: critical" in text


def test_get_3des_sha1_grant_auto(lab: Lab) -> None:
    scep = Scep(lab, hash_alg="sha1", grant="auto")
    client = scep.client(method="GET", cipher="des3", digest="sha1")
    who = requester(1)
    rep = enroll(scep, client, who)
    assert (rep.status, rep.digest, rep.cipher) == (PkiStatus.SUCCESS, "sha1", "des3")
    assert rep.certs[0].signature_hash_algorithm.name == "sha1"  # type: ignore[union-attr]
    [(method, target, _)] = [s for s in scep.transport.sent if "PKIOperation" in s[1]]
    assert method == "GET" and ("%2B" in target or "%2F" in target)  # properly escaped base64


def test_old_ios_get_des_md5_with_line_breaks_and_its_user_agent(lab: Lab, tmp_path: Path) -> None:
    scep = Scep(lab, hash_alg="md5", grant="auto")
    scep.transport = Recorder(lab_transport(lab.router(TWO), CA_ADDRESS, http_version="1.0"))
    client = scep.client(method="GET", cipher="des", digest="md5", ios_style=True)
    who = requester(2, "R15.otus.ru", csr_hash="md5", ios_subject=True)
    rep = enroll(scep, client, who)
    assert (rep.status, rep.digest, rep.cipher) == (PkiStatus.SUCCESS, "md5", "des")
    [cert] = rep.certs
    assert cert.signature_hash_algorithm.name == "md5"  # type: ignore[union-attr]
    [(method, target, headers)] = [s for s in scep.transport.sent if "PKIOperation" in s[1]]
    assert method == "GET" and headers == [("User-Agent", IOS_USER_AGENT)]
    message = target.split("message=", 1)[1]
    assert "%0A" in message and "+" in message  # '+' unescaped, decoded with unquote
    assert all(len(line) == 64 for line in message.split("%0A")[:-2])
    if OPENSSL:
        (tmp_path / "ca.pem").write_bytes(pem(scep.ca.cert))
        (tmp_path / "ee.pem").write_bytes(pem(cert))
        at = lab_epoch(scep)
        done = openssl("verify", "-attime", at, "-CAfile", "ca.pem", "ee.pem", cwd=tmp_path)
        assert done.stdout.strip() == "ee.pem: OK", done.stderr


def test_oaep_key_transport_aes256_sha512(lab: Lab) -> None:
    scep = Scep(lab, grant="auto")
    client = scep.client(method="POST", cipher="aes256", digest="sha512", oaep=True)
    rep = enroll(scep, client, requester(3))
    assert (rep.status, rep.digest, rep.cipher) == (PkiStatus.SUCCESS, "sha512", "aes256")


def test_get_crl_by_scep_and_the_plain_download_after_a_revoke(lab: Lab, tmp_path: Path) -> None:
    scep = Scep(lab, grant="auto")
    client = scep.client()
    who = requester(1)
    [cert] = enroll(scep, client, who).certs
    assert scep.run(scep.ca.revoke(cert.serial_number))
    rep = scep.run(client.get_crl(who.key, cert, "crl-1"))
    assert rep.status is PkiStatus.SUCCESS and rep.crls == [scep.ca.crl_der]
    crl = x509.load_der_x509_crl(rep.crls[0])
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    plain = scep.run(scep.transport("GET", f"{SCEP_PATH}?operation=GetCRL"))
    assert plain.status == 200 and plain.body == scep.ca.crl_der
    assert plain.header("content-type") == "application/pkix-crl"
    if OPENSSL:
        (tmp_path / "ca.pem").write_bytes(pem(scep.ca.cert))
        (tmp_path / "ee.pem").write_bytes(pem(cert))
        (tmp_path / "crl.der").write_bytes(plain.body)
        openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
        checked = openssl("crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", cwd=tmp_path)
        assert "verify OK" in checked.stderr + checked.stdout
        at = lab_epoch(scep)
        args = ["-attime", at, "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem"]
        done = openssl("verify", *args, "ee.pem", cwd=tmp_path)
        assert done.returncode != 0 and "certificate revoked" in done.stdout + done.stderr


def test_renewal_signed_with_the_current_certificate(lab: Lab) -> None:
    scep = Scep(lab, grant="auto")
    client = scep.client()
    old = requester(1)
    [current] = enroll(scep, client, old).certs
    new = requester(2)
    rep = scep.run(client.enroll(new.csr, old.key, current, "renew-1", renewal=True))
    assert rep.status is PkiStatus.SUCCESS
    [renewed] = rep.certs
    assert renewed.serial_number == 3
    assert renewed.public_key().public_numbers() == new.key.public_key().public_numbers()
    # A RenewalReq signed by a certificate that is not ours is refused.
    rep = scep.run(client.enroll(new.csr, new.key, new.signer, "renew-2", renewal=True))
    assert (rep.status, rep.fail_info) == (PkiStatus.FAILURE, FailInfo.BAD_MESSAGE_CHECK)
    assert scep.ca.serial == 3


def test_a_bad_signature_is_failure_bad_message_check(scep: Scep) -> None:
    client = scep.client()
    who = requester(1)
    scep.run(client.get_ca_cert())
    assert client.ca_cert is not None
    der = bytearray(
        cms.request(
            MessageType.PKCS_REQ,
            who.csr.public_bytes(serialization.Encoding.DER),
            transaction_id=who.tx,
            key=who.key,
            cert=who.signer,
            recipient=client.ca_cert,
        )
    )
    der[-5] ^= 0x01  # inside the signature, the last field
    before = scep.state()
    rep = cms.read_cert_rep(
        scep.run(client.operation(bytes(der))), ca_cert=scep.ca.cert, key=who.key
    )
    assert (rep.status, rep.fail_info) == (PkiStatus.FAILURE, FailInfo.BAD_MESSAGE_CHECK)
    assert rep.transaction_id == who.tx
    assert rep.recipient_nonce == cms.parse(bytes(der)).sender_nonce
    assert scep.state() == before


def test_one_time_challenge_password_issues_at_once_and_only_once(scep: Scep) -> None:
    client = scep.client()
    password = scep.run(scep.ca.new_password())
    first = requester(1, "R2.lab.local", password=password)
    rep = enroll(scep, client, first)
    assert rep.status is PkiStatus.SUCCESS  # manual grant, but the password vouches
    second = requester(2, "R3.lab.local", password=password)
    rep = enroll(scep, client, second)
    # Used, it vouches no more: the request waits for the administrator, as does one
    # carrying some other password (an IOS client's revocation password, say).
    assert rep.status is PkiStatus.PENDING
    wrong = requester(3, "R4.lab.local", password="NOT-A-PASSWORD")
    rep = enroll(scep, client, wrong)
    assert rep.status is PkiStatus.PENDING
    assert scep.ca.serial == 2


def test_a_cert_rep_passes_openssl_cms_verify_and_decrypt(lab: Lab, tmp_path: Path) -> None:
    if not OPENSSL:
        pytest.skip("no openssl binary")
    scep = Scep(lab, grant="auto")
    client = scep.client(cipher="des3", digest="sha1")
    who = requester(1)
    scep.run(client.get_ca_cert())
    assert client.ca_cert is not None
    der = cms.request(
        MessageType.PKCS_REQ,
        who.csr.public_bytes(serialization.Encoding.DER),
        transaction_id=who.tx,
        key=who.key,
        cert=who.signer,
        recipient=client.ca_cert,
        digest="sha1",
        cipher="des3",
    )
    (tmp_path / "rep.der").write_bytes(scep.run(client.operation(der)))
    (tmp_path / "ca.pem").write_bytes(pem(scep.ca.cert))
    (tmp_path / "key.pem").write_bytes(
        who.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    at = lab_epoch(scep)
    args = ["-inform", "DER", "-in", "rep.der", "-CAfile", "ca.pem", "-attime", at]
    done = openssl("cms", "-verify", *args, "-out", "env.der", cwd=tmp_path)
    assert "Verification successful" in done.stderr, done.stderr
    args = ["-inform", "DER", "-in", "env.der", "-inkey", "key.pem", "-outform", "DER"]
    done = openssl("cms", "-decrypt", *args, "-out", "certs.der", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = openssl("pkcs7", "-inform", "DER", "-in", "certs.der", "-print_certs", cwd=tmp_path)
    assert "subject=CN = R2.lab.local" in printed.stdout


def test_the_certificate_server_serves_scep_through_its_commands(lab: Lab) -> None:
    """End to end with ``crypto pki server``: the server installs SCEP and serves the enrollment."""
    from helpers import Cli

    from iosemu.features.http import Http

    config = Cli(lab, ONE).configure()
    config("crypto pki server PKI-HA")
    config("no shutdown", "passphrase1", "passphrase1")
    lab.run(asyncio.sleep(5))
    assert SCEP_PATH in lab.router(ONE).feature(Http).routes
    client = ScepClient(lab_transport(lab.router(TWO), CA_ADDRESS))
    who = requester(1)
    assert enroll_with(lab, client, who).status is PkiStatus.PENDING
    Cli(lab, ONE)("crypto pki server PKI-HA grant all")
    rep = lab.run(client.poll(who.csr.subject, who.key, who.signer, who.tx))
    assert rep.status is PkiStatus.SUCCESS
    [cert] = rep.certs
    assert cert.issuer.rfc4514_string() == "CN=PKI-HA" and cert.serial_number == 2


def enroll_with(lab: Lab, client: ScepClient, who: Requester) -> cms.CertRep:
    return lab.run(client.enroll(who.csr, who.key, who.signer, who.tx))
