"""A CA and an IOS PKI client in the two-router lab, and a tap on the CA's SCEP wire.

CA-server-1 (10.1.32.83) runs ``crypto pki server PKI-HA`` made through its CLI;
CA-server-2 is the client: its trustpoints enroll with ``http://10.1.32.83:80``. Shared by
tests/features/test_pki_client.py and tests/conformance/test_scep_client_openssl.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import Cli, open_lab

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import Http, HttpRequest, HttpResponse
from iosemu.features.pki.keys import Keys
from iosemu.features.pki.scep import SCEP_PATH
from iosemu.features.pki.server import CertificateServer
from iosemu.lab.clock import ClockMode

CA, CLIENT = "CA-server-1", "CA-server-2"
CA_URL = "http://10.1.32.83:80"
PASS = "cisco123"


@dataclass
class Wire:
    """Every SCEP request the CA's HTTP server got, and its answer."""

    exchanges: list[tuple[HttpRequest, HttpResponse]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # lab time of each request

    def operations(self) -> list[str]:
        return [request.param("operation") or "" for request, _ in self.exchanges]

    def last(self, operation: str) -> tuple[HttpRequest, HttpResponse]:
        found = [(q, r) for q, r in self.exchanges if q.param("operation") == operation]
        assert found, f"no {operation} on the wire: {self.operations()}"
        return found[-1]


def tap(lab: Lab, router: str = CA) -> Wire:
    """Record the SCEP traffic of ``router``'s HTTP server (until it reboots)."""
    http = lab.router(router).feature(Http)
    inner = http.routes[SCEP_PATH]
    wire = Wire()

    async def handler(request: HttpRequest) -> HttpResponse:
        wire.times.append(lab.loop.time())
        response = await inner(request)
        wire.exchanges.append((request, response))
        return response

    http.route(SCEP_PATH, handler)
    return wire


def ca_lab(*server_lines: str, clock: ClockMode = "virtual") -> Lab:
    """The two-router lab with CA-server-1's certificate server running."""
    lab = open_lab(clock)
    for name, address in ((CA, "10.1.32.83"), (CLIENT, "10.1.32.84")):
        text = f"interface Gi0/0\n ip address {address} 255.255.255.0\n no shutdown\n"
        lab.run(load_config(lab.router(name), text, lambda _: None))
    lab.run(load_config(lab.router(CA), "ip http server\n", lambda _: None))
    lab.run(asyncio.sleep(5))
    ca = Cli(lab, CA).configure()
    ca("crypto pki server PKI-HA")
    for line in server_lines:
        ca(line)
    ca("no shutdown", PASS, PASS)
    ca("end")
    lab.run(asyncio.sleep(1))
    assert lab.router(CA).feature(CertificateServer).enabled
    return lab


def trustpoint(cli: Cli, name: str, *lines: str, url: str = CA_URL) -> str:
    """Define a trustpoint (``cli`` in configuration mode) and return to config mode."""
    out = cli(f"crypto pki trustpoint {name}")
    out += cli(f"enrollment url {url}")
    for line in lines:
        out += cli(line)
    return out + cli("exit")


def wait(lab: Lab, seconds: float) -> None:
    lab.run(asyncio.sleep(seconds))


def logs(lab: Lab, router: str) -> list[str]:
    """The router's logging buffer, stamps cut off."""
    return [line.split(": ", 1)[1] for line in lab.router(router).log.buffer if ": " in line]


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def router_key(lab: Lab, router: str, label: str) -> rsa.RSAPrivateKey:
    pair = lab.router(router).feature(Keys).get(label)
    assert pair is not None, f"{router} has no key {label}"
    return pair.key
