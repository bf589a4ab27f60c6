"""Load: many SCEP clients and console sessions at once against one CA.

CA-server-1 runs ``crypto pki server PKI-HA`` with ``grant auto`` and ``database level
complete`` on ``flash:`` (tests/pki_lab.py); every client is a task on CA-server-2 that
enrolls over SCEP again and again (its own key, a new transaction each time), while
console sessions on both routers type show and configuration commands. Afterwards: no
error anywhere, every certificate a client got verifies against the CA and is in the CA's
database under a serial of its own, and the CA still knows all of them after ``write
memory`` and a reload.

Short run: 50 clients enrolling twice each, 10 consoles typing meanwhile, in-process on
the virtual clock (about a second of lab time). Long run (``IOSEMU_LONG=1``): the same on
the real clock for 60 s, each client enrolling as often as it can.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from helpers import CaptureTerminal, Cli
from pki_lab import CA, CLIENT, ca_lab
from robust import LONG, record, size
from test_fuzz import HANDLER_ERROR, no_logged_errors  # noqa: F401 (autouse)
from test_scep_fuzz import CA_ADDRESS

from iosemu.api import Lab
from iosemu.features.http import fetch
from iosemu.features.pki import cms
from iosemu.features.pki.cms import MessageType, PkiStatus
from iosemu.features.pki.objects import hash_name, verify_signed_by
from iosemu.features.pki.scep import SCEP_PATH
from iosemu.features.pki.server import CertificateServer
from iosemu.session import Session

CLIENTS = 50
CONSOLES = 10
# The short run: two enrollments per client, consoles typing meanwhile (a few seconds of
# virtual time). The long run: enrollments for DURATION seconds of real time.
ROUNDS = size(2, 10**9)
DURATION = size(3600, 60)

CONSOLE_LINES = [
    "show crypto pki server",
    "show clock",
    "configure terminal",
    "interface Loopback{n}",
    "description load {i}",
    "end",
    "show running-config | include Loopback",
    "show crypto pki server PKI-HA requests",
]


@cache
def client_key(index: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 1024)


@dataclass
class Tally:
    certs: list[x509.Certificate] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    console_lines: int = 0
    console_errors: list[str] = field(default_factory=list)


async def enroll(
    lab: Lab,
    ca_cert: x509.Certificate,
    index: int,
    tally: Tally,
    tx: str,
    want: PkiStatus | None = PkiStatus.SUCCESS,
) -> PkiStatus:
    """One PKCSReq of client ``index`` (its own key); a certificate goes to the tally."""
    key = client_key(index)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client{index}.lab")])
    signer = cms.self_signed(key, subject, lab.router(CLIENT).clock.utc())
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    payload = csr.public_bytes(serialization.Encoding.DER)
    message = cms.request(
        MessageType.PKCS_REQ, payload, transaction_id=tx, key=key, cert=signer, recipient=ca_cert
    )
    target = f"{SCEP_PATH}?operation=PKIOperation"
    reply = await fetch(lab.router(CLIENT), CA_ADDRESS, target, method="POST", body=message)
    tally.outcomes[f"http {reply.status}"] += 1
    assert reply.status == 200, reply
    rep = cms.read_cert_rep(reply.body, ca_cert=ca_cert, key=key, cert=signer)
    assert want is None or rep.status is want, rep
    if rep.status is PkiStatus.SUCCESS:
        [cert] = rep.certs
        assert cert.public_key().public_numbers() == key.public_key().public_numbers()
        tally.certs.append(cert)
    return rep.status


async def enroll_forever(
    lab: Lab, ca_cert: x509.Certificate, index: int, tally: Tally, until: float
) -> None:
    for round_ in range(ROUNDS):
        if lab.loop.time() >= until:
            return
        await enroll(lab, ca_cert, index, tally, f"LOAD-{index}-{round_}")


async def type_forever(
    lab: Lab, router: str, n: int, tally: Tally, clients: asyncio.Future[list[None]]
) -> None:
    terminal = CaptureTerminal(default_answer="")
    session = Session(lab.router(router), terminal, line="con 0", privilege=15)
    for i in itertools.count():
        for template in CONSOLE_LINES:
            if clients.done():
                return
            line = template.format(n=n, i=i)
            await session.execute(line)
            out = terminal.take()
            tally.console_lines += 1
            if HANDLER_ERROR.search(out) or "Invalid input" in out or "Internal" in out:
                tally.console_errors.append(f"{router}: {line!r} -> {out!r}")
            await asyncio.sleep(0.05)


def test_many_scep_clients_and_consoles() -> None:
    # On flash: (64 MB); the 480 kB of nvram: hold the database of a few hundred clients.
    settings = ("grant auto", "database level complete", "database url flash:")
    lab = ca_lab(*settings, clock="real" if LONG else "virtual")
    try:
        server = lab.router(CA).feature(CertificateServer)
        assert server.ca is not None
        ca_cert = server.ca.cert
        for index in range(CLIENTS):
            client_key(index)  # made before the clock starts counting
        tally = Tally()

        async def scenario() -> float:
            start = lab.loop.time()
            until = start + DURATION
            clients = asyncio.gather(
                *(enroll_forever(lab, ca_cert, i, tally, until) for i in range(CLIENTS))
            )
            await asyncio.gather(
                clients,
                *(
                    type_forever(lab, (CA, CLIENT)[n % 2], n, tally, clients)
                    for n in range(CONSOLES)
                ),
            )
            return lab.loop.time() - start

        elapsed = lab.run(scenario())
        assert tally.console_errors == []
        serials = [cert.serial_number for cert in tally.certs]
        assert len(serials) >= CLIENTS and len(set(serials)) == len(serials)
        for cert in tally.certs:
            assert cert.issuer == ca_cert.subject
            alg = hash_name(cert.signature_hash_algorithm)
            public = ca_cert.public_key()
            assert isinstance(public, rsa.RSAPublicKey)
            assert verify_signed_by(cert.tbs_certificate_bytes, cert.signature, alg, public)
        ca = server.ca
        assert ca.serial == max(serials) == len(serials) + 1  # 1 is the CA's own
        assert set(serials) <= set(ca.issued)
        # Nothing lost on the way to the database: every certificate is a file of it...
        stored = server.stored_certificates()
        assert {
            s: c.public_bytes(serialization.Encoding.DER) for s, c in stored.items() if s in serials
        } == {c.serial_number: c.public_bytes(serialization.Encoding.DER) for c in tally.certs}
        # ...and the CA comes back after a reload knowing its last serial.
        router = lab.router(CA)
        cli = Cli(lab, CA)
        assert "[OK]" in cli("write memory")
        router.reload("test")
        lab.run(asyncio.sleep(30))
        out = Cli(lab, CA)("show crypto pki server")
        assert re.search(
            rf"Last certificate issued serial number \(hex\): {max(serials):X}\n", out
        ), out
        record(
            "load",
            clients=CLIENTS,
            consoles=CONSOLES,
            lab_seconds=round(elapsed),
            certificates=len(serials),
            console_lines=tally.console_lines,
            requests=sum(tally.outcomes.values()),
        )
    finally:
        lab.close()


def test_a_full_database_refuses_requests_and_loses_no_serial() -> None:
    """With ``nvram:`` full, a request gets a FAILURE instead of a certificate the CA
    could not record; after a reload no serial handed out is handed out again."""
    lab = ca_lab("grant auto", "database level complete")
    try:
        router = lab.router(CA)
        server = router.feature(CertificateServer)
        assert server.ca is not None
        ca_cert = server.ca.cert
        tally = Tally()
        lab.run(enroll(lab, ca_cert, 0, tally, "BEFORE"))
        router.nvram.write("filler", b"x" * (router.nvram.free() - 200))
        for n in range(3):
            lab.run(enroll(lab, ca_cert, 1, tally, f"FULL-{n}", want=PkiStatus.FAILURE))
        router.nvram.delete("filler")
        assert "[OK]" in Cli(lab, CA)("write memory")
        router.reload("test")
        lab.run(asyncio.sleep(30))
        lab.run(enroll(lab, ca_cert, 2, tally, "AFTER"))
        serials = [cert.serial_number for cert in tally.certs]
        assert len(serials) == len(set(serials)) == 2
        assert serials[1] > serials[0]
    finally:
        lab.close()
