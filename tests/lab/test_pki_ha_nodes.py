"""The redundant CA pair as two ``iosemu node`` processes; the active is ``kill -9``'d.

The lab has a third router, ``Client``, which runs in this test's process: the test's own
lab runs just that node and joins the two node processes over the TCP fabric, exactly as
a third ``iosemu node`` would. (A host port forward cannot live in a node process, and
this needs none: ``ScepClient`` speaks SCEP from ``Client`` over the lab's TCP, through
the fabric, to the virtual IP.) The CA routers boot with the guide's steps 1-4 in their
startup configurations (HSRP hello 1 s, hold 3 s, no reload delay); step 5 is typed at
the active's console. All three run the lab's clock scaled 4x (the nodes share it through
their clock anchor): boot, link, HSRP and RF waits take a quarter of the time, processes
and the kill are as real as ever. Every wait is for a condition.
"""

from __future__ import annotations

import asyncio
import copy
import re
import shutil
import subprocess
import textwrap
import threading
import time
from collections.abc import Coroutine, Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from test_fabric_nodes import WAIT, Console, Nodes, free_base, wait_for
from test_redundancy_nodes import PEER, states

from iosemu.api import Lab
from iosemu.features.pki import cms
from iosemu.features.pki.scep import SCEP_PATH, ScepClient, ScepProblem, lab_transport
from iosemu.lab.tcp import TcpFabric
from iosemu.lab.topology import find_lab
from iosemu.labs.guide import pair_config
from iosemu.node import join_clock

T = TypeVar("T")
OPENSSL = shutil.which("openssl")
CAS = ("CA-server-1", "CA-server-2")
VIP = IPv4Address("10.1.32.86")
SPEED = 4.0
CLOCK = ("--clock", "scaled", "--speed", str(SPEED))


def ca_config(name: str) -> str:
    """The startup-config of a CA router, indented for the lab file below."""
    config = pair_config(name, timers="1 3")
    return "      startup-config: |\n" + textwrap.indent(config, " " * 8)


LAB = (
    "name: pki-ha-nodes\ntopology:\n  nodes:\n"
    + "".join(f"    {name}:\n{ca_config(name)}" for name in CAS)
    + """    Client:
      startup-config: |
        hostname Client
        interface GigabitEthernet0/0
         ip address 10.1.32.90 255.255.255.0
         no shutdown
  links:
    - endpoints:
        - "CA-server-1:GigabitEthernet0/0"
        - "CA-server-2:GigabitEthernet0/0"
        - "Client:GigabitEthernet0/0"
"""
)


class CaNodes(Nodes):
    """The two CA routers of LAB as node processes (console and fabric ports for three)."""

    def __init__(self, state: Path, lab_file: Path) -> None:
        super().__init__(state)
        self.lab_file = lab_file
        self.console_base = free_base(3)
        self.fabric_base = free_base(3)
        while abs(self.fabric_base - self.console_base) <= 3:
            self.fabric_base = free_base(3)

    def command(self, name: str, *extra: str) -> list[str]:
        return [
            *super().command(name, *CLOCK, *extra)[:5],
            str(self.lab_file),
            *super().command(name, *CLOCK, *extra)[6:],
        ]


class ClientNode:
    """``Client`` in this process: the lab's loop runs in a thread of its own."""

    def __init__(self, state: Path, lab_file: Path, fabric_base: int) -> None:
        spec = copy.deepcopy(find_lab(str(lab_file)))
        spec.fabric_base = fabric_base
        anchor, self._live = join_clock(state, "Client", ("scaled", SPEED))
        spec.start = anchor.calendar_at(time.time())
        self.lab = Lab(spec, clock="scaled", speed=SPEED, state_dir=state, local_nodes=["Client"])
        self.fabric = TcpFabric(spec, self.lab.fabric, "Client")
        self.thread = threading.Thread(target=self.lab.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = WAIT) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.lab.loop).result(timeout)

    async def start(self) -> None:
        await self.fabric.start()
        self.lab.router("Client").power_on()

    def close(self) -> None:
        try:
            self.run(self.fabric.close())
        finally:
            self.lab.loop.call_soon_threadsafe(self.lab.loop.stop)
            self.thread.join(WAIT)
            self.lab.close()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[CaNodes, ClientNode]]:
    lab_file = tmp_path / "pki-ha-nodes.yml"
    lab_file.write_text(LAB)
    nodes = CaNodes(tmp_path / "state", lab_file)
    client: ClientNode | None = None
    try:
        for name in CAS:
            nodes.start(name)
        client = ClientNode(tmp_path / "state", lab_file, nodes.fabric_base)
        client.run(client.start())
        yield nodes, client
    finally:
        if client is not None:
            client.close()
        nodes.stop()


def start_ca(console: Console) -> None:
    """Step 5 at the active's console, the passphrase dialog included."""
    for line in ("configure terminal", "crypto pki server PKI-HA", "redundancy", "grant auto"):
        console.run(line)
    console.child.send("no shutdown\r")
    for _ in range(2):
        console.child.expect("[Pp]assword: ", timeout=WAIT)
        console.child.send("cisco123\r")
    console.child.expect_exact("% Certificate Server enabled.", timeout=WAIT)
    console.child.expect(console.prompt, timeout=WAIT)
    console.run("end")


def requester(i: int) -> tuple[rsa.RSAPrivateKey, x509.Certificate, bytes]:
    key = rsa.generate_private_key(65537, 1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"node-client{i}.example.com")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return key, cms.self_signed(key, name), csr.public_bytes(serialization.Encoding.DER)


async def enroll(client: ScepClient, i: int) -> x509.Certificate:
    """One PKCSReq, sent again (same transaction) until a CA answers: no reuse either way."""
    key, signer, csr = requester(i)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            rep = await client.exchange(
                cms.MessageType.PKCS_REQ, csr, transaction_id=f"NODE-{i}", key=key, cert=signer
            )
            break
        except (ConnectionError, TimeoutError, OSError, ScepProblem):
            assert time.monotonic() < deadline, "no CA answered at the virtual IP"
            await asyncio.sleep(0.1)
    assert rep.status is cms.PkiStatus.SUCCESS, rep
    return rep.certs[0]


def serial_on(console: Console) -> int:
    out = console.run("show crypto pki server PKI-HA")
    m = re.search(r"Last certificate issued serial number \(hex\): ([0-9A-F]+)", out)
    assert m, out
    return int(m.group(1), 16)


def test_enrollment_continues_after_kill_of_the_active_ca(
    setup: tuple[CaNodes, ClientNode], tmp_path: Path
) -> None:
    nodes, client_node = setup
    consoles = {name: nodes.console(name) for name in CAS}
    roles: dict[str, str] = {}

    def paired() -> bool:
        for name, console in consoles.items():
            if states(console) == ("8  -STANDBY HOT", "13 -ACTIVE", "Duplex"):
                roles.update(standby=name, active=PEER[name])
                return True
        return False

    wait_for(paired, "ACTIVE / STANDBY HOT")
    active, standby = consoles[roles["active"]], consoles[roles["standby"]]
    start_ca(active)
    wait_for(
        lambda: "Status: enabled" in standby.run("show crypto pki server PKI-HA"),
        "the standby CA enabled",
    )
    router = client_node.lab.router("Client")
    scep = ScepClient(lab_transport(router, VIP))
    ca_cert = client_node.run(scep.get_ca_cert())
    before = [client_node.run(enroll(scep, i)) for i in range(3)]
    active.run(f"crypto pki server PKI-HA revoke {before[1].serial_number:X}")
    wait_for(lambda: serial_on(standby) == 4, "the standby at serial 4")

    # kill -9: no goodbye; the standby's HSRP takes the VIP after its hold time.
    active.close()
    nodes.kill(roles["active"])
    after = [client_node.run(enroll(scep, i)) for i in range(3, 6)]
    serials = [c.serial_number for c in before + after]
    assert serials == list(range(2, 8))
    assert serial_on(standby) == 7
    assert "Redundancy configured. This is active." in standby.run("show crypto pki server")

    # One CA certificate for all; the revocation made before the kill is in the new CRL.
    reply = client_node.run(lab_transport(router, VIP)("GET", f"{SCEP_PATH}?operation=GetCRL"))
    assert reply.status == 200
    crl = x509.load_der_x509_crl(reply.body)
    assert [entry.serial_number for entry in crl] == [before[1].serial_number]
    if OPENSSL is not None:
        (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        # The lab's calendar runs ahead of this machine's (scaled clock): check at its time.
        at = str(int(max(c.not_valid_before_utc for c in before + after).timestamp()) + 60)
        names = []
        for cert in before + after:
            names.append(f"ee{cert.serial_number}.pem")
            (tmp_path / names[-1]).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        done = subprocess.run(
            [OPENSSL, "verify", "-auth_level", "0", "-attime", at, "-CAfile", "ca.pem", *names],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert done.returncode == 0 and done.stdout.count(": OK") == 6, done.stdout + done.stderr
