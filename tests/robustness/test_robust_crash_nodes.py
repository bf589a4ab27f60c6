"""Crash safety: ``kill -9`` of a router's process during ``write memory`` and while its
certificate server issues certificates.

CA-server-1 runs as an ``iosemu node`` process (tests/lab/test_fabric_nodes.py's
``Nodes``), on the real clock, with ``crypto pki server PKI-HA`` (``grant auto``,
``database level complete``) saved to its NVRAM. CA-server-2 runs in this process, joined
by the TCP fabric, and plays SCEP clients that enroll one after another until the CA's
process is killed; a console meanwhile types ``write memory`` in a loop with changes in
between, and the process is killed in the middle of that.

After each restart: the node boots from NVRAM (the startup-config and the key storage
parse, the server comes back enabled), the serial file parses, its request records agree
with it, every certificate a client was given is in the database, and new certificates
never reuse a serial that was handed out before the crash.

Short run: one kill of each kind. Long run (``IOSEMU_LONG=1``): many.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from pki_lab import PASS
from robust import SEED, record, size
from test_fabric_nodes import ADDRESSES, WAIT, Console, Nodes, wait_for
from test_fabric_peer import until
from test_scep_fuzz import CA_ADDRESS, key

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import fetch
from iosemu.features.pki import cms
from iosemu.features.pki.cms import MessageType, PkiStatus
from iosemu.features.pki.scep import SCEP_PATH
from iosemu.features.pki.store import parse_serial_file
from iosemu.lab.tcp import TcpFabric
from iosemu.lab.topology import find_lab

ONE, TWO = "CA-server-1", "CA-server-2"
ISSUANCE_KILLS = size(1, 12)
WRITE_KILLS = size(1, 12)
CLIENTS = 4  # enrolling at once
REQUEST_TIMEOUT = 15.0  # real seconds a request may take before the CA counts as gone

CA_CONFIG = (
    "interface GigabitEthernet0/0",
    f"ip address {ADDRESSES[ONE]} 255.255.255.0",
    "no shutdown",
    "exit",
    "ip http server",
    "crypto pki server PKI-HA",
    "grant auto",
    "database level complete",
)


class CrashLab:
    """The CA node and, in this process, CA-server-2 as its SCEP clients."""

    def __init__(self, nodes: Nodes) -> None:
        self.nodes = nodes
        spec = copy.deepcopy(find_lab("pki-ha"))
        spec.console_base, spec.fabric_base = nodes.console_base, nodes.fabric_base
        nodes.state.mkdir(parents=True, exist_ok=True)
        self.lab = Lab(spec, clock="real", state_dir=nodes.state, local_nodes=[TWO])
        self.fabric = TcpFabric(spec, self.lab.fabric, TWO)
        self.client_key = key(1)
        self.ca_cert: x509.Certificate | None = None
        self.serials: list[int] = []  # every serial a client was given, in order
        self.certs: dict[int, bytes] = {}
        self.floor = 1  # the highest serial handed out before the last crash
        self.kills = 0

    # --- the node ----------------------------------------------------------------------

    def start_ca(self, first: bool) -> Console:
        self.nodes.start(ONE)
        self.lab.run(until(lambda: ONE in self.fabric.links, "the fabric link", WAIT))
        console = self.nodes.console(ONE)
        if first:
            console.run("configure terminal")
            for line in CA_CONFIG:
                console.run(line)
            console.child.send("no shutdown\r")
            for question in ("Password: ", "Re-enter password: "):
                console.child.expect_exact(question)
                console.child.send(PASS + "\r")
            console.child.expect_exact("% Certificate Server enabled.")
            console.run("end")
            assert "[OK]" in console.run("write memory")
        wait_for(
            lambda: re.search(r"Status: enabled", console.run("show crypto pki server")),
            "the certificate server to be enabled",
        )
        return console

    def kill(self) -> None:
        for console in self.nodes.consoles:
            console.close()
        self.nodes.consoles.clear()
        self.nodes.kill(ONE)
        self.kills += 1
        self.floor = max(self.serials, default=1)

    @property
    def nvram(self) -> Path:
        return self.nodes.state / ONE / "nvram"

    # --- the clients -------------------------------------------------------------------

    def up(self) -> None:
        async def scenario() -> None:
            await self.fabric.start()
            router = self.lab.router(TWO)
            router.power_on()
            await until(lambda: router.state == "running", "CA-server-2 to boot", WAIT)
            text = f"interface Gi0/0\n ip address {ADDRESSES[TWO]} 255.255.255.0\n no shutdown\n"
            await load_config(router, text, lambda _: None)

        self.lab.run(scenario())

    async def get_ca_cert(self) -> x509.Certificate:
        router = self.lab.router(TWO)
        target = f"{SCEP_PATH}?operation=GetCACert&message=PKI-HA"
        for _ in range(int(WAIT)):
            with contextlib.suppress(Exception):
                reply = await asyncio.wait_for(fetch(router, CA_ADDRESS, target), 5)
                if reply.status == 200:
                    return x509.load_der_x509_certificate(reply.body)
            await asyncio.sleep(1)
        raise AssertionError("the CA did not answer GetCACert")

    async def enroll(self, tx: str) -> int:
        """One certificate for a new transaction; its serial."""
        assert self.ca_cert is not None
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{tx}.lab")])
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(subject)
            .sign(self.client_key, hashes.SHA256())
        )
        signer = cms.self_signed(self.client_key, subject)
        message = cms.request(
            MessageType.PKCS_REQ,
            csr.public_bytes(serialization.Encoding.DER),
            transaction_id=tx,
            key=self.client_key,
            cert=signer,
            recipient=self.ca_cert,
        )
        target = f"{SCEP_PATH}?operation=PKIOperation"
        router = self.lab.router(TWO)
        reply = await asyncio.wait_for(
            fetch(router, CA_ADDRESS, target, method="POST", body=message), REQUEST_TIMEOUT
        )
        assert reply.status == 200, reply
        rep = cms.read_cert_rep(reply.body, ca_cert=self.ca_cert, key=self.client_key, cert=signer)
        assert rep.status is PkiStatus.SUCCESS, rep
        [cert] = rep.certs
        serial = cert.serial_number
        assert serial not in self.certs, f"serial {serial:X} issued twice"
        assert serial > self.floor, f"serial {serial:X} reused after a crash"
        self.serials.append(serial)
        self.certs[serial] = cert.public_bytes(serialization.Encoding.DER)
        return serial

    def issue(self, round_: int, count: int, kill: bool) -> None:
        """Clients enroll until ``count`` more certificates; with ``kill`` the CA then dies
        under the requests still in flight."""
        start = len(self.serials)

        async def client(n: int) -> None:
            for i in range(10**6):
                if len(self.serials) - start >= count:
                    return
                await self.enroll(f"CRASH-{round_}-{n}-{i}")

        async def scenario() -> None:
            self.ca_cert = await self.get_ca_cert()
            tasks = [asyncio.ensure_future(client(n)) for n in range(CLIENTS)]
            await until(lambda: len(self.serials) - start >= count, "issuance", WAIT)
            if kill:
                self.kill()  # requests are in flight: the next ones were sent already
                for task in tasks:
                    task.cancel()  # their answers died with the process
            for task in tasks:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task

        self.lab.run(scenario())

    # --- checks after a restart --------------------------------------------------------

    def check_database(self) -> None:
        serial, records = parse_serial_file((self.nvram / "PKI-HA.ser").read_bytes())
        assert serial >= max(self.serials, default=1)
        granted = [r["serial"] for r in records if r.get("serial")]
        assert len(granted) == len(set(granted))
        assert all(isinstance(s, int) and s <= serial for s in granted)
        for number, der in self.certs.items():
            stored = self.nvram / f"{number:X}.crt"
            assert stored.read_bytes() == der, f"certificate {number:X} lost"

    def check_boot(self, console: Console) -> None:
        config = console.run("show running-config")
        assert "crypto pki server PKI-HA" in config and ADDRESSES[ONE] in config
        keys = console.run("show crypto key mypubkey rsa")
        assert "Key name: PKI-HA" in keys
        assert "KEYSTORE" not in console.transcript.getvalue()
        assert "Traceback" not in self.nodes.log()
        assert not list(self.nvram.glob(".tmp-*")), "half-written files left in NVRAM"

    def close(self) -> None:
        async def down() -> None:
            await self.fabric.close()

        with contextlib.suppress(Exception):
            self.lab.run(down())
        self.lab.close()


@pytest.fixture
def crash(tmp_path: Path) -> Iterator[CrashLab]:
    nodes = Nodes(tmp_path / "state")
    lab = CrashLab(nodes)
    try:
        lab.up()
        yield lab
    finally:
        nodes.stop()
        lab.close()


def test_kill_during_write_memory_and_issuance(crash: CrashLab) -> None:
    rng = random.Random(SEED)
    console = crash.start_ca(first=True)
    writes = 0
    for round_ in range(WRITE_KILLS):
        # Changes and saves typed ahead; the process dies somewhere among them.
        for i in range(20):
            console.child.send("configure terminal\rinterface Loopback1\r")
            console.child.send(f"description crash {round_} {i}\rend\rwrite memory\r")
        console.child.expect_exact("[OK]")
        writes += 20
        crash.kill()
        console = crash.start_ca(first=False)
        crash.check_boot(console)
        saved = console.run("show startup-config")
        assert saved.rstrip().endswith("end")
        assert re.search(r"description crash \d+ \d+", saved)
    for round_ in range(ISSUANCE_KILLS):
        crash.issue(round_, rng.randrange(2, 8), kill=True)
        console = crash.start_ca(first=False)
        crash.check_boot(console)
        crash.check_database()
    # After the last crash the CA goes on from where it was: no serial handed out twice.
    crash.issue(ISSUANCE_KILLS, 3, kill=False)
    crash.check_database()
    record(
        "crash",
        kills=crash.kills,
        write_memory_sent=writes,
        certificates=len(crash.serials),
        last_serial=max(crash.serials),
    )
