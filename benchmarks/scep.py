"""Certificate issuance through HTTP, next to this machine's RSA-2048 signing rate.

The ``scep`` section of ``python -m benchmarks``; alone: ``python -m benchmarks.scep``.

Three measures, each run ``--runs`` times, and one ratio per run:

* RSA-2048 signatures per second with ``cryptography`` (PKCS#1 v1.5, SHA-256), one core:
  the ceiling. Issuing one certificate costs the CA three private-key operations
  (open the request's envelope, sign the certificate, sign the CertRep).
* SCEP issuance over the lab's HTTP: ``--requests`` PKCSReq messages POSTed by
  CA-server-2 to CA-server-1 (``ip http server``, a CA with an RSA-2048 key, SHA-256,
  ``grant auto``) over the lab's TCP, ``--clients`` at a time, one connection each (IOS's
  default of one request per connection). The lab runs on the virtual clock, so the
  figure is CPU, not wire latency.
* The same through a host port forward: real sockets on 127.0.0.1 into the lab (real
  clock), relayed to the CA's address by the forward's hidden lab host.
* The lab's issuance rate as a share of the ceiling (signing rate / 3) measured in the
  same run, so a slower or busier machine moves both.

Client keys come from a pre-generated pool (``--pool``), and every request is built before
the clock starts: the figures are the server's. Each request has its own transaction ID,
so each one is a new certificate.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from benchmarks.common import Figure, machine, progress, table
from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import fetch
from iosemu.features.interfaces import Interfaces
from iosemu.features.pki import cms
from iosemu.features.pki.ca import CaSettings, CertificateAuthority
from iosemu.features.pki.objects import ios_name, make_ca_cert
from iosemu.features.pki.scep import PKI_MESSAGE_TYPE, SCEP_PATH, install_scep
from iosemu.lab.topology import builtin_lab, parse_forward_option

CA_ROUTER, CLIENT_ROUTER = "CA-server-1", "CA-server-2"
CA_ADDRESS = IPv4Address("10.1.32.83")
TARGET = f"{SCEP_PATH}?operation=PKIOperation"


@dataclass
class Client:
    key: rsa.RSAPrivateKey
    signer: x509.Certificate
    csr_der: bytes


def client_pool(size: int) -> list[Client]:
    pool = []
    for i in range(size):
        key = rsa.generate_private_key(65537, 2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"client{i}.lab")])
        csr = (
            x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        )
        signer = cms.self_signed(key, subject)
        pool.append(Client(key, signer, csr.public_bytes(serialization.Encoding.DER)))
    return pool


def requests_for(
    ca_cert: x509.Certificate, pool: list[Client], count: int, run: int
) -> list[bytes]:
    out = []
    for i in range(count):
        client = pool[i % len(pool)]
        out.append(
            cms.request(
                cms.MessageType.PKCS_REQ,
                client.csr_der,
                transaction_id=f"BENCH-{run}-{i}",
                key=client.key,
                cert=client.signer,
                recipient=ca_cert,
            )
        )
    return out


# --------------------------------------------------------------------------- measures


def rsa_sign_rate(seconds: float) -> float:
    key = rsa.generate_private_key(65537, 2048)
    data = os.urandom(64)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        count += 20
    return count / elapsed


async def _setup(lab: Lab, ca_key: rsa.RSAPrivateKey) -> CertificateAuthority:
    await lab.start()
    router = lab.router(CA_ROUTER)
    for name, address in ((CA_ROUTER, "10.1.32.83"), (CLIENT_ROUTER, "10.1.32.84")):
        text = f"interface Gi0/0\n ip address {address} 255.255.255.0\n no shutdown\n"
        await load_config(lab.router(name), text, lambda _: None)
    await load_config(router, "ip http server\n", lambda _: None)
    now = router.clock.utc().replace(microsecond=0)
    cert = make_ca_cert(ca_key, ios_name("PKI-HA"), now, 1095, "sha256")
    ca = CertificateAuthority(
        ca_key, cert, router.clock.utc, CaSettings(grant="auto", hash="sha256")
    )
    await ca.regenerate_crl()
    install_scep(router, lambda: ca)
    while not all(  # links and line protocols come up (3 lab seconds)
        lab.router(name).feature(Interfaces).get("GigabitEthernet0/0").protocol_up
        for name in (CA_ROUTER, CLIENT_ROUTER)
    ):
        await asyncio.sleep(0.1)
    return ca


def _check(ca: CertificateAuthority, replies: list[bytes], pool: list[Client], count: int) -> None:
    """After the clock stops: every answer was a certificate."""
    if ca.serial != 1 + count:
        raise SystemExit(f"benchmark: {ca.serial - 1} certificates issued, {count} expected")
    for i, body in enumerate(replies[:: max(1, count // 10)]):
        client = pool[(i * max(1, count // 10)) % len(pool)]
        rep = cms.read_cert_rep(body, ca_cert=ca.cert, key=client.key, cert=client.signer)
        if rep.status is not cms.PkiStatus.SUCCESS:
            raise SystemExit(f"benchmark: a request was answered {rep.status.name}")


async def _drive(send: Callable, messages: list[bytes], clients: int) -> list[bytes]:  # type: ignore[type-arg]
    replies: list[bytes] = [b""] * len(messages)
    queue = list(range(len(messages)))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            replies[i] = await send(messages[i])

    await asyncio.gather(*(worker() for _ in range(clients)))
    return replies


def issuance_in_lab(
    ca_key: rsa.RSAPrivateKey, pool: list[Client], count: int, clients: int, run: int
) -> float:
    lab = Lab(copy.deepcopy(builtin_lab()), clock="virtual")
    try:
        ca = lab.run(_setup(lab, ca_key))
        messages = requests_for(ca.cert, pool, count, run)
        client = lab.router(CLIENT_ROUTER)

        async def send(message: bytes) -> bytes:
            reply = await fetch(client, CA_ADDRESS, TARGET, method="POST", body=message)
            if reply.status != 200 or reply.header("content-type") != PKI_MESSAGE_TYPE:
                raise SystemExit(f"benchmark: HTTP {reply.status}")
            return reply.body

        start = time.perf_counter()
        replies = lab.run(_drive(send, messages, clients))
        elapsed = time.perf_counter() - start
        _check(ca, replies, pool, count)
        return count / elapsed
    finally:
        lab.close()


async def _post_real(port: int, message: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {TARGET} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {PKI_MESSAGE_TYPE}\r\nContent-Length: {len(message)}\r\n\r\n"
    )
    writer.write(head.encode() + message)
    await writer.drain()
    data = await reader.read()
    writer.close()
    header, _, body = data.partition(b"\r\n\r\n")
    if not header.startswith(b"HTTP/1.1 200 "):
        raise SystemExit(f"benchmark: {header[:40]!r}")
    return body


def issuance_via_forward(
    ca_key: rsa.RSAPrivateKey, pool: list[Client], count: int, clients: int, run: int
) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    spec = copy.deepcopy(builtin_lab())
    spec.forwards.append(parse_forward_option(f"{CA_ADDRESS}:80={port}"))
    lab = Lab(spec, clock="real", boot_delay=0.2)
    try:
        ca = lab.run(_setup(lab, ca_key))
        messages = requests_for(ca.cert, pool, count, run)
        lab.run(lab.start_forwards())
        first = lab.run(_post_real(port, messages[0]))  # the relay joins and ARPs: untimed
        start = time.perf_counter()
        replies = lab.run(_drive(lambda m: _post_real(port, m), messages[1:], clients))
        elapsed = time.perf_counter() - start
        _check(ca, [first, *replies], pool, count)
        return (count - 1) / elapsed
    finally:
        lab.close()


# --------------------------------------------------------------------------- figures

GOAL = 250.0  # certificates per second (issue 9)
OPS_PER_CERT = 3  # RSA private-key operations: open the envelope, sign the cert, the CertRep


def measure(
    runs: int,
    requests: int = 200,
    clients: int = 8,
    pool_size: int = 16,
    sign_seconds: float = 1.0,
    forward: bool = True,
) -> list[Figure]:
    """Signing rate and issuance in each run, the one beside the other."""
    pool = client_pool(pool_size)
    ca_key = rsa.generate_private_key(65537, 2048)
    signing: list[float] = []
    in_lab: list[float] = []
    forwarded: list[float] = []
    for run in range(runs):
        signing.append(rsa_sign_rate(sign_seconds))
        in_lab.append(issuance_in_lab(ca_key, pool, requests, clients, run))
        if forward:
            forwarded.append(issuance_via_forward(ca_key, pool, requests, clients, run))
        progress(
            f"scep, run {run + 1}/{runs}: {in_lab[-1]:.0f}/s in the lab"
            + (f", {forwarded[-1]:.0f}/s forwarded" if forward else "")
            + f", signing {signing[-1]:.0f}/s"
        )
    share = [100 * n / (s / OPS_PER_CERT) for n, s in zip(in_lab, signing, strict=True)]
    figures = [
        Figure("RSA-2048 signatures, `cryptography`, one core", signing, "/s"),
        Figure(
            "SCEP issuance, `grant auto`, RSA-2048 CA, lab HTTP (virtual clock)",
            in_lab,
            "/s",
            GOAL,
            higher_is_better=True,
            note=f"{requests} requests, {clients} at a time",
        ),
        Figure(
            f"SCEP issuance / signing ceiling (signatures per second / {OPS_PER_CERT}), same run",
            share,
            "%",
        ),
    ]
    if forward:
        figures.append(
            Figure(
                "SCEP issuance through a host port forward (real clock, 127.0.0.1)",
                forwarded,
                "/s",
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scep", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each measure (5)")
    parser.add_argument("--requests", type=int, default=200, help="PKCSReq per run (200)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--pool", type=int, default=16, help="pre-generated client keys (16)")
    parser.add_argument("--sign-seconds", type=float, default=1.0, help="per signing run (1.0)")
    parser.add_argument("--no-forward", action="store_true", help="skip the host-forward measure")
    args = parser.parse_args(argv)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # closed labs' leftover tasks
    figures = measure(
        args.runs, args.requests, args.clients, args.pool, args.sign_seconds, not args.no_forward
    )
    print(f"Machine: {machine()}")
    print()
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
