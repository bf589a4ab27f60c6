"""Over four hundred malformed SCEP requests: every one gets an HTTP error or a CertRep
FAILURE, the server keeps serving, and the CA's state (serial, request database, CRL,
passwords) does not change.

Cases are drawn from seeded generators, so a failure replays exactly. Each test has a lab
of its own (virtual clock), compares the CA's state before and after, and ends with a full
PKIOperation round trip that must still succeed.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from functools import cache
from ipaddress import IPv4Address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from helpers import open_lab

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import HttpReply, fetch
from iosemu.features.pki import cms
from iosemu.features.pki.ca import CaSettings, CertificateAuthority
from iosemu.features.pki.cms import MessageType, PkiStatus
from iosemu.features.pki.objects import der_read, ios_name, make_ca_cert
from iosemu.features.pki.scep import PKI_MESSAGE_TYPE, SCEP_PATH, install_scep
from iosemu.features.tcp import TcpStack

ONE, TWO = "CA-server-1", "CA-server-2"
CA_ADDRESS = IPv4Address("10.1.32.83")
SEED = 20100603
NOW = dt.datetime(2010, 6, 3, tzinfo=dt.UTC)


@cache
def key(index: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


class Fuzz:
    def __init__(self) -> None:
        self.lab: Lab = open_lab()
        lab = self.lab
        for name, address in ((ONE, "10.1.32.83"), (TWO, "10.1.32.84")):
            text = f"interface Gi0/0\n ip address {address} 255.255.255.0\n no shutdown\n"
            lab.run(load_config(lab.router(name), text, lambda _: None))
        lab.run(load_config(lab.router(ONE), "ip http server\n", lambda _: None))
        lab.run(asyncio.sleep(5))
        router = lab.router(ONE)
        now = router.clock.utc().replace(microsecond=0)
        ca_cert = make_ca_cert(key(0), ios_name("PKI-HA"), now, 1095, "sha256")
        self.ca = CertificateAuthority(key(0), ca_cert, router.clock.utc, CaSettings())
        lab.run(self.ca.regenerate_crl())
        install_scep(router, lambda: self.ca)
        self.client_key = key(1)
        self.subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz.lab")])
        self.signer = cms.self_signed(self.client_key, self.subject, NOW)
        self.csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(self.subject)
            .sign(self.client_key, hashes.SHA256())
        )
        self.outcomes: Counter[str] = Counter()

    # --- building ------------------------------------------------------------------

    def message(
        self,
        kind: MessageType = MessageType.PKCS_REQ,
        payload: bytes | None = None,
        **kwargs: object,
    ) -> bytes:
        if payload is None:
            payload = self.csr.public_bytes(serialization.Encoding.DER)
        options: dict[str, object] = {
            "transaction_id": "FUZZ-TX",
            "key": self.client_key,
            "cert": self.signer,
            "recipient": self.ca.cert,
        }
        options.update(kwargs)
        return cms.request(kind, payload, **options)  # type: ignore[arg-type]

    def signed(self, content: bytes, message_type: str = "19", tx: str = "FUZZ-TX") -> bytes:
        """A validly signed message with any content and message type."""
        attributes = cms.scep_attributes(message_type, tx)
        return cms.sign(content, attributes, self.client_key, self.signer)

    # --- sending -------------------------------------------------------------------

    def state(self) -> tuple[object, ...]:
        ca = self.ca
        return (
            ca.serial,
            ca.next_request_id,
            sorted((r.id, r.state, r.transaction_id, r.serial) for r in ca.requests.values()),
            ca.crl_der,
            sorted(ca.issued),
            list(ca.revoked),
            dict(ca.passwords),
        )

    def get(self, query: str) -> HttpReply:
        return self.lab.run(fetch(self.lab.router(TWO), CA_ADDRESS, f"{SCEP_PATH}?{query}"))

    def post(self, body: bytes, query: str = "operation=PKIOperation") -> HttpReply:
        router = self.lab.router(TWO)
        target = f"{SCEP_PATH}?{query}"
        return self.lab.run(fetch(router, CA_ADDRESS, target, method="POST", body=body))

    def outcome(self, reply: HttpReply) -> str:
        """``http 400`` or ``scep FAILURE badMessageCheck``: what a request earned."""
        if reply.status != 200:
            return f"http {reply.status}"
        assert reply.header("content-type") == PKI_MESSAGE_TYPE, reply.header("content-type")
        rep = cms.read_cert_rep(reply.body, ca_cert=self.ca.cert, key=self.client_key)
        assert rep.status is PkiStatus.FAILURE, rep
        assert rep.fail_info is not None
        return f"scep FAILURE {rep.fail_info.name}"

    def expect_error(self, reply: HttpReply, allowed: set[str] | None = None) -> str:
        got = self.outcome(reply)
        # 4xx, or 501 for a method HTTP servers need not know; never a 500.
        assert got.startswith("scep") or 400 <= reply.status < 500 or reply.status == 501, got
        if allowed is not None:
            assert got in allowed, got
        self.outcomes[got] += 1
        return got

    def still_serving(self) -> None:
        """A full PKIOperation round trip that changes nothing: GetCert of the CA's own."""
        assert self.get("operation=GetCACaps").status == 200
        payload = cms.issuer_and_serial(self.ca.cert.subject, 1)
        reply = self.post(self.message(MessageType.GET_CERT, payload))
        rep = cms.read_cert_rep(
            reply.body, ca_cert=self.ca.cert, key=self.client_key, cert=self.signer
        )
        assert rep.status is PkiStatus.SUCCESS and rep.certs == [self.ca.cert]


@pytest.fixture
def fuzz() -> Iterator[Fuzz]:
    setup = Fuzz()
    yield setup
    setup.lab.close()


@pytest.fixture
def unchanged(fuzz: Fuzz) -> Iterator[Fuzz]:
    """The CA's state is the same after the test, and the server still answers."""
    before = fuzz.state()
    yield fuzz
    fuzz.still_serving()
    assert fuzz.state() == before
    assert "http 500" not in fuzz.outcomes


def tlv_headers(der: bytes, at: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(offset, header length) of every element, descending into constructed ones."""
    out: list[tuple[int, int]] = []
    end = len(der) if end is None else end
    while at < end:
        tag, header, length = der_read(der, at)
        out.append((at, header))
        if tag & 0x20:
            out += tlv_headers(der, at + header, at + header + length)
        at += header + length
    return out


def flip(der: bytes, rng: random.Random, positions: list[int] | None = None) -> bytes:
    data = bytearray(der)
    where = rng.choice(positions) if positions else rng.randrange(len(data))
    data[where] ^= 1 << rng.randrange(8)
    return bytes(data)


# --------------------------------------------------------------------------- HTTP level


def test_garbage_and_truncated_base64(unchanged: Fuzz) -> None:
    fuzz, rng = unchanged, random.Random(SEED)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%-_.~!*'()"
    for _ in range(40):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))
        fuzz.expect_error(fuzz.get(f"operation=PKIOperation&message={text}"))
    valid = base64.b64encode(fuzz.message()).decode()
    for _ in range(40):
        cut = valid[: rng.randrange(1, len(valid) - 4)]
        fuzz.expect_error(fuzz.get(f"operation=PKIOperation&message={cut}"), {"http 400"})
    for _ in range(20):
        data = base64.b64encode(rng.randbytes(rng.randrange(1, 600))).decode()
        fuzz.expect_error(fuzz.get(f"operation=PKIOperation&message={data}"), {"http 400"})


def test_unknown_operations_and_methods(unchanged: Fuzz) -> None:
    fuzz, rng = unchanged, random.Random(SEED + 1)
    names = ["", "pkioperation2", "GetCACertificate", "GetNextCACert", "PKIOp", "%00", "x" * 300]
    names += ["".join(rng.choice("abcXYZ_%0123") for _ in range(8)) for _ in range(23)]
    for name in names:
        fuzz.expect_error(fuzz.get(f"operation={name}&message=abc"), {"http 400"})
    fuzz.expect_error(fuzz.get("message=abc"), {"http 400"})
    fuzz.expect_error(fuzz.post(fuzz.message(), "operation=Bogus"), {"http 400"})
    reply = fuzz.lab.run(
        fetch(fuzz.lab.router(TWO), CA_ADDRESS, SCEP_PATH, method="PUT", body=b"x")
    )
    fuzz.expect_error(reply, {"http 501"})


def test_oversized_bodies_and_urls(unchanged: Fuzz) -> None:
    fuzz, rng = unchanged, random.Random(SEED + 2)
    for size in (64 * 1024 + 1, 100_000, 300_000):
        fuzz.expect_error(fuzz.post(rng.randbytes(size)), {"http 413"})
    for size in (20_000, 40_000):
        text = base64.b64encode(rng.randbytes(size)).decode()
        fuzz.expect_error(fuzz.get(f"operation=PKIOperation&message={text}"), {"http 431"})


async def _slow(fuzz: Fuzz, data: bytes) -> bytes:
    """Send part of a request and stall; what the server says, and whether it closed."""
    tcp = fuzz.lab.router(TWO).feature(TcpStack)
    reader, writer = await tcp.connect(CA_ADDRESS, 80)
    writer.write(data)
    got = b""
    while chunk := await reader.read(65536):
        got += chunk
    writer.close()
    return got


def test_slow_clients_that_never_finish(unchanged: Fuzz) -> None:
    fuzz = unchanged
    partial = [
        b"GET /cgi-bin/pkiclient.exe?operation=PKIOp",
        b"GET /cgi-bin/pkiclient.exe?operation=GetCACaps HTTP/1.1\r\nHost: a\r\n",
        b"POST /cgi-bin/pkiclient.exe?operation=PKIOperation HTTP/1.0\r\n"
        b"Content-Length: 5000\r\n\r\n" + fuzz.message()[:1000],
        b"",
    ] * 5

    async def scenario() -> tuple[list[bytes], HttpReply, float]:
        start = fuzz.lab.loop.time()
        stalled = [asyncio.ensure_future(_slow(fuzz, data)) for data in partial]
        await asyncio.sleep(10)
        # Twenty stalled clients hold connections; others are still served meanwhile.
        served = await fetch(fuzz.lab.router(TWO), CA_ADDRESS, f"{SCEP_PATH}?operation=GetCACaps")
        answers = await asyncio.gather(*stalled)
        return answers, served, fuzz.lab.loop.time() - start

    answers, served, took = fuzz.lab.run(scenario())
    assert served.status == 200
    for data, answer in zip(partial, answers, strict=True):
        if data:
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:40]
            fuzz.outcomes["http 408"] += 1
        else:
            assert answer == b""  # nothing asked, nothing said: closed at the idle time
    assert took == pytest.approx(180, abs=2)


# --------------------------------------------------------------------------- DER level


def test_broken_der(unchanged: Fuzz) -> None:
    fuzz, rng = unchanged, random.Random(SEED + 3)
    valid = fuzz.message()
    for _ in range(30):  # truncated
        fuzz.expect_error(fuzz.post(valid[: rng.randrange(1, len(valid) - 1)]), {"http 400"})
    for _ in range(10):  # trailing bytes
        fuzz.expect_error(fuzz.post(valid + rng.randbytes(rng.randrange(1, 5))), {"http 400"})
    for _ in range(20):  # random bytes that start like DER
        fuzz.expect_error(fuzz.post(b"\x30" + rng.randbytes(rng.randrange(1, 3000))))
    headers = tlv_headers(valid)
    for _ in range(40):  # a damaged tag or length somewhere in the tree
        offset, length = rng.choice(headers)
        fuzz.expect_error(fuzz.post(flip(valid, rng, list(range(offset, offset + length)))))


def test_random_bit_flips_anywhere(unchanged: Fuzz) -> None:
    """No single bit of an accepted message can change unnoticed, signed or not."""
    fuzz, rng = unchanged, random.Random(SEED + 4)
    valid = fuzz.message()
    for _ in range(120):
        fuzz.expect_error(fuzz.post(flip(valid, rng)))


# --------------------------------------------------------------------------- SCEP level


def test_wrong_signatures(unchanged: Fuzz) -> None:
    fuzz, rng = unchanged, random.Random(SEED + 5)
    check = {"scep FAILURE BAD_MESSAGE_CHECK"}
    valid = fuzz.message()
    signature_at = len(valid) - 256  # the signature is the message's last 256 bytes
    for _ in range(20):
        fuzz.expect_error(fuzz.post(flip(valid, rng, list(range(signature_at, len(valid))))), check)
    # Signed by another key than the certificate's.
    fuzz.expect_error(fuzz.post(fuzz.message(key=key(2))), check)
    # A certificate whose own self-signature is broken, the message signed correctly.
    der = bytearray(fuzz.signer.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x40
    broken = x509.load_der_x509_certificate(bytes(der))
    fuzz.expect_error(fuzz.post(fuzz.message(cert=broken)), check)
    # A RenewalReq signed by a self-signed certificate: it proves no certificate of ours.
    fuzz.expect_error(fuzz.post(fuzz.message(MessageType.RENEWAL_REQ)), check)
    # A certificate "issued" by a CA of the same name but another key.
    other = make_ca_cert(key(2), ios_name("PKI-HA"), NOW, 1095, "sha256")
    for digest in ("md5", "sha1", "sha256"):
        message = fuzz.message(MessageType.RENEWAL_REQ, cert=other, key=key(2), digest=digest)
        fuzz.expect_error(fuzz.post(message), check)


def test_broken_envelopes_and_requests(unchanged: Fuzz) -> None:
    fuzz = unchanged
    ca = fuzz.ca.cert
    # Encrypted to someone else: the CA cannot open it.
    stranger = cms.self_signed(key(2), "stranger", NOW)
    fuzz.expect_error(
        fuzz.post(fuzz.message(recipient=stranger)),
        {"scep FAILURE BAD_MESSAGE_CHECK", "scep FAILURE BAD_REQUEST"},
    )
    # eContent that is no envelope, or an empty one.
    for content in (b"", b"\x30\x00", b"hello", cms.degenerate([ca])):
        fuzz.expect_error(fuzz.post(fuzz.signed(content)), {"scep FAILURE BAD_REQUEST"})
    # An envelope whose cipher is none we know (an unassigned OID in AES-128-CBC's place).
    sealed = cms.envelope(b"x" * 40, ca, "aes128")
    cbc = bytes.fromhex("0609608648016503040102")
    odd = sealed.replace(cbc, bytes.fromhex("0609608648016503040163"), 1)
    fuzz.expect_error(fuzz.post(fuzz.signed(odd)), {"scep FAILURE BAD_ALG"})
    # Envelopes of things that are not the request the message type says.
    bad = {"scep FAILURE BAD_REQUEST"}
    for payload in (b"", b"garbage", cms.issuer_and_serial(ca.subject, 2), b"\x30\x03\x02\x01\x01"):
        fuzz.expect_error(fuzz.post(fuzz.message(MessageType.PKCS_REQ, payload)), bad)
        fuzz.expect_error(fuzz.post(fuzz.message(MessageType.GET_CERT, payload)))
        fuzz.expect_error(fuzz.post(fuzz.message(MessageType.CERT_POLL, payload[:3])), bad)
    # A request whose own signature is broken, and one for a key that is not RSA.
    der = bytearray(fuzz.csr.public_bytes(serialization.Encoding.DER))
    der[-2] ^= 0x01
    fuzz.expect_error(
        fuzz.post(fuzz.message(MessageType.PKCS_REQ, bytes(der))),
        {"scep FAILURE BAD_MESSAGE_CHECK"},
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(fuzz.subject)
        .sign(ec_key, hashes.SHA256())
    )
    payload = ec_csr.public_bytes(serialization.Encoding.DER)
    fuzz.expect_error(
        fuzz.post(fuzz.message(MessageType.PKCS_REQ, payload)), {"scep FAILURE BAD_ALG"}
    )


def test_odd_message_types_and_unknown_certificates(unchanged: Fuzz) -> None:
    fuzz = unchanged
    ca = fuzz.ca.cert
    csr = fuzz.csr.public_bytes(serialization.Encoding.DER)
    for message_type in ("3", "18", "99", "0", "-1", "abc", "", "19 ", "0019"):
        sealed = cms.envelope(csr, ca)
        fuzz.expect_error(
            fuzz.post(fuzz.signed(sealed, message_type)), {"scep FAILURE BAD_REQUEST"}
        )
    unknown = {"scep FAILURE BAD_CERT_ID"}
    poll = cms.issuer_and_subject(ca.subject, fuzz.subject)
    fuzz.expect_error(fuzz.post(fuzz.message(MessageType.CERT_POLL, poll)), unknown)
    for serial in (0, 2, 3, 10**30):
        payload = cms.issuer_and_serial(ca.subject, serial)
        fuzz.expect_error(fuzz.post(fuzz.message(MessageType.GET_CERT, payload)), unknown)
    elsewhere = cms.issuer_and_serial(fuzz.subject, 1)
    for kind in (MessageType.GET_CERT, MessageType.GET_CRL):
        fuzz.expect_error(fuzz.post(fuzz.message(kind, elsewhere)), unknown)
    # Missing SCEP attributes: not a pkiMessage at all.
    sealed = cms.envelope(csr, ca)
    bare = cms.sign(sealed, [], fuzz.client_key, fuzz.signer)
    fuzz.expect_error(fuzz.post(bare), {"http 400"})


def test_a_real_request_after_the_storm(fuzz: Fuzz) -> None:
    rng = random.Random(SEED + 6)
    valid = fuzz.message()
    for _ in range(30):
        fuzz.expect_error(fuzz.post(flip(valid, rng)))
    assert fuzz.ca.serial == 1 and not fuzz.ca.requests
    reply = fuzz.post(valid)
    rep = cms.read_cert_rep(reply.body, ca_cert=fuzz.ca.cert, key=fuzz.client_key)
    assert rep.status is PkiStatus.PENDING
    [request] = fuzz.ca.requests.values()
    assert request.transaction_id == "FUZZ-TX" and request.state == "pending"
