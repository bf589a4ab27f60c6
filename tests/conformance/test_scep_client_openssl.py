"""Our IOS SCEP client's messages, and the CertReps our server sends it, checked by OpenSSL.

The client is ``crypto pki enroll`` on CA-server-2; the CA is CA-server-1's certificate
server. The bytes are taken off the CA's HTTP server as they crossed the lab's wire, then
handed to the ``openssl`` binary, an implementation that shares no code with ours:

* the pkiMessage (PKCSReq, then CertPoll): ``openssl cms -verify`` checks its signature
  against the signer certificate it carries; ``openssl cms -decrypt`` opens the
  pkcsPKIEnvelope with the CA's key; ``openssl req -verify`` checks the PKCS#10 inside,
  and ``openssl cms -cmsout -print`` shows SCEP's signed attributes;
* the CertReps (PENDING, then SUCCESS): ``openssl cms -verify`` against the CA
  certificate; the SUCCESS envelope, decrypted with the client's key, holds the very
  certificate the client installed, which ``openssl verify`` accepts under the CA.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from helpers import Cli
from pki_lab import (
    CA,
    CLIENT,
    ca_lab,
    key_pem,
    router_key,
    tap,
    trustpoint,
    wait,
)

from iosemu.features.pki import cms
from iosemu.features.pki.trustpoint import Pki

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="no openssl binary")


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, timeout=30, check=False)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_openssl_checks_our_pkimessages_and_the_certreps_they_get(tmp_path: Path) -> None:
    lab = ca_lab()
    try:
        wire = tap(lab)
        client = Cli(lab, CLIENT).configure()
        trustpoint(client, "TP", "rsakeypair TP 1024")
        client("crypto pki authenticate TP", "yes")
        client("crypto pki enroll TP", "", "", "no", "", "yes")
        wait(lab, 5)
        Cli(lab, CA)("crypto pki server PKI-HA grant all")
        wait(lab, 65)  # the next poll
        pki = lab.router(CLIENT).feature(Pki)
        issued = pki.router_certificate("TP")
        ca_cert = pki.ca_certificate("TP")
        assert issued is not None and ca_cert is not None
        ca_key = router_key(lab, CA, "PKI-HA")
        client_key = router_key(lab, CLIENT, "TP")
        at = str(int(lab.router(CA).clock.utc().timestamp()))
    finally:
        lab.close()
    (tmp_path / "ca.pem").write_bytes(pem(ca_cert))
    (tmp_path / "ca.key").write_bytes(key_pem(ca_key))
    (tmp_path / "client.key").write_bytes(key_pem(client_key))
    (tmp_path / "issued.pem").write_bytes(pem(issued))

    # What went over the wire: GET with IOS's base64 (a %0A every 64 characters).
    requests = [q for q, _ in wire.exchanges if q.param("operation") == "PKIOperation"]
    replies = [r for q, r in wire.exchanges if q.param("operation") == "PKIOperation"]
    assert len(requests) == 2 and all(q.method == "GET" for q in requests)
    messages = []
    for request in requests:
        raw = request.query.split("message=", 1)[1]
        assert "%0A" in raw
        messages.append(base64.b64decode(unquote(raw).replace("\n", "")))
    kinds = [cms.parse(m).message_type for m in messages]
    assert kinds == [cms.MessageType.PKCS_REQ, cms.MessageType.CERT_POLL]

    for index, message in enumerate(messages):
        name = f"msg{index}"
        (tmp_path / f"{name}.der").write_bytes(message)
        signer = cms.parse(message).signer
        assert signer is not None
        (tmp_path / f"{name}-signer.pem").write_bytes(pem(signer))
        # The signature, with the self-signed signer certificate as its own trust anchor.
        args = ["-inform", "DER", "-in", f"{name}.der", "-CAfile", f"{name}-signer.pem"]
        args += ["-attime", at, "-purpose", "any", "-out", f"{name}-env.der"]
        done = openssl("cms", "-verify", *args, cwd=tmp_path)
        assert b"Verification successful" in done.stderr, done.stderr
        printed = openssl(
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", f"{name}.der", cwd=tmp_path
        )
        text = printed.stdout.decode()
        assert "2.16.840.1.113733.1.9.2" in text and "2.16.840.1.113733.1.9.7" in text
        assert "md5" in text  # IOS's digest
        # The envelope, with the CA's key.
        args = ["-inform", "DER", "-in", f"{name}-env.der", "-inkey", "ca.key"]
        args += ["-recip", "ca.pem", "-outform", "DER", "-out", f"{name}-payload.der"]
        done = openssl("cms", "-decrypt", *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    # The PKCS#10 inside the PKCSReq.
    args = ["-inform", "DER", "-in", "msg0-payload.der", "-noout", "-verify", "-subject"]
    done = openssl("req", *args, cwd=tmp_path)
    assert b"verify OK" in done.stdout + done.stderr, done.stderr
    assert b"hostname=CA-server-2" in done.stdout + done.stderr or b"CA-server-2" in done.stdout
    # The CertPoll's IssuerAndSubject names the CA and the request's subject.
    parsed = openssl("asn1parse", "-inform", "DER", "-in", "msg1-payload.der", cwd=tmp_path)
    assert b"PKI-HA" in parsed.stdout

    # The CertReps: PENDING to the PKCSReq (manual grant), SUCCESS to the poll.
    statuses = [cms.parse(r.body).pki_status for r in replies]
    assert statuses == [cms.PkiStatus.PENDING, cms.PkiStatus.SUCCESS]
    for index, reply in enumerate(replies):
        (tmp_path / f"rep{index}.der").write_bytes(reply.body)
        args = ["-inform", "DER", "-in", f"rep{index}.der", "-CAfile", "ca.pem", "-attime", at]
        done = openssl("cms", "-verify", *args, "-out", f"rep{index}-env.der", cwd=tmp_path)
        assert b"Verification successful" in done.stderr, done.stderr
    assert (tmp_path / "rep0-env.der").read_bytes() == b""  # PENDING: empty content
    args = ["-inform", "DER", "-in", "rep1-env.der", "-inkey", "client.key", "-outform", "DER"]
    done = openssl("cms", "-decrypt", *args, "-out", "certs.der", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    args = ["-inform", "DER", "-in", "certs.der", "-print_certs", "-out", "certs.pem"]
    assert openssl("pkcs7", *args, cwd=tmp_path).returncode == 0
    delivered = x509.load_pem_x509_certificates((tmp_path / "certs.pem").read_bytes())
    assert delivered == [issued]
    # And the certificate the client holds is good under its CA's.
    done = openssl("verify", "-attime", at, "-CAfile", "ca.pem", "issued.pem", cwd=tmp_path)
    assert done.stdout.strip() == b"issued.pem: OK", done.stderr
