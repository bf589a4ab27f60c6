"""The default lab as two ``iosemu node`` processes, driven over their telnet consoles.

Each router runs in its own process on the real clock; frames between them cross the TCP
fabric. Everything waits for a condition (a prompt, a log line, a ping that succeeds) with
generous deadlines, never for a fixed time, so the tests hold on a loaded machine.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pexpect
import pexpect.fdpexpect

WAIT = 90.0  # seconds: the most any one condition may take on a slow, busy machine
ROUTERS = ("CA-server-1", "CA-server-2")
ADDRESSES = {"CA-server-1": "10.1.32.83", "CA-server-2": "10.1.32.84"}


def free_base(count: int) -> int:
    """A base port with base+1..base+count free on 127.0.0.1 right now.

    Below Linux's ephemeral range (32768-60999), so that no client connection's source port
    takes a node's port while the node restarts."""
    for _ in range(100):
        base = random.randrange(10000, 32000)
        try:
            for i in range(1, count + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + i))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class Console:
    """A telnet console of a router, through pexpect on the socket (no telnet binary)."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.sock = wait_for(lambda: self._connect(port), f"{name}'s console port {port}")
        assert isinstance(self.sock, socket.socket)
        self.child = pexpect.fdpexpect.fdspawn(
            self.sock.fileno(), timeout=WAIT, encoding="utf-8", codec_errors="replace"
        )
        self.transcript = io.StringIO()  # everything the console printed, logs included
        self.child.logfile_read = self.transcript
        self.prompt = re.escape(name) + r"(\([a-z-]+\))?[>#]"

    @staticmethod
    def _connect(port: int) -> socket.socket | None:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            return None

    def login(self) -> None:
        """Press Return until the router gives a prompt (Return typed while it boots is lost)."""
        deadline = time.monotonic() + WAIT
        while True:
            self.child.send("\r")
            try:
                self.child.expect(self.prompt, timeout=3)
                break
            except pexpect.TIMEOUT:
                if time.monotonic() > deadline:
                    raise
        self.run("enable")
        self.run("terminal length 0")

    def run(self, command: str, timeout: float = WAIT) -> str:
        """Type a line, return what it printed up to the next prompt."""
        self.child.send(command + "\r")
        self.child.expect_exact(command, timeout=timeout)  # skip anything before our echo
        self.child.expect(self.prompt, timeout=timeout)
        return str(self.child.before)

    def configure(self, *lines: str) -> None:
        self.run("configure terminal")
        for line in lines:
            self.run(line)
        self.run("end")

    def ping(self, address: str) -> str:
        """The five-character result line of a ping (``!!!!!``, ``.!!!!``, ``.....``)."""
        out = self.run(f"ping {address} timeout 1", timeout=WAIT)
        m = re.search(r"^([.!U]{5})\s*$", out, re.M)
        assert m, out
        return m.group(1)

    def wait_interface_up(self) -> None:
        wait_for(
            lambda: re.search(
                r"GigabitEthernet0/0 .* up +up",
                self.run("show ip interface brief | include GigabitEthernet0/0"),
            ),
            f"{self.name}'s GigabitEthernet0/0 to come up",
        )

    def close(self) -> None:
        self.sock.close()


class Nodes:
    """``iosemu node`` processes of the default lab sharing one state directory."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.console_base = free_base(len(ROUTERS))
        self.fabric_base = free_base(len(ROUTERS))
        while abs(self.fabric_base - self.console_base) <= len(ROUTERS):
            self.fabric_base = free_base(len(ROUTERS))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.consoles: list[Console] = []

    def command(self, name: str, *extra: str) -> list[str]:
        return [
            *(sys.executable, "-m", "iosemu.cli", "node", name, "pki-ha"),
            *("--state", str(self.state)),
            *("--console-base", str(self.console_base)),
            *("--fabric-base", str(self.fabric_base)),
            *("--boot-delay", "0.2"),  # the boot text's wait is not what is tested here
            *extra,
        ]

    def start(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        out = open(self.state.parent / f"{name}.out", "ab")  # noqa: SIM115 (kept by Popen)
        proc = subprocess.Popen(self.command(name, *extra), stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs[name] = proc
        return proc

    def console_port(self, name: str) -> int:
        return self.console_base + ROUTERS.index(name) + 1

    def fabric_port(self, name: str) -> int:
        return self.fabric_base + ROUTERS.index(name) + 1

    def console(self, name: str) -> Console:
        console = Console(name, self.console_port(name))
        self.consoles.append(console)
        console.login()
        return console

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT)

    def log(self) -> str:
        try:
            return (self.state / "lab.log").read_text()
        except OSError:
            return ""

    def wait_log(self, pattern: str, what: str, count: int = 1) -> None:
        wait_for(lambda: len(re.findall(pattern, self.log())) >= count, what)

    def stop(self) -> None:
        for console in self.consoles:
            console.close()
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_lab(nodes: Nodes) -> dict[str, Console]:
    """Both routers up, addressed on one segment, their interfaces up and connected."""
    for name in ROUTERS:
        nodes.start(name)
    consoles = {name: nodes.console(name) for name in ROUTERS}
    nodes.wait_log(r"CA-server-1 connected to CA-server-2", "the fabric link")
    for name, console in consoles.items():
        console.configure(
            "interface GigabitEthernet0/0",
            f"ip address {ADDRESSES[name]} 255.255.255.0",
            "no shutdown",
        )
    for console in consoles.values():
        console.wait_interface_up()
    return consoles


def test_ping_across_processes_and_garbage_on_the_fabric(nodes: Nodes) -> None:
    consoles = start_lab(nodes)
    one, two = consoles["CA-server-1"], consoles["CA-server-2"]
    # The first echo is lost to ARP, as on IOS; then all answer.
    assert one.ping("10.1.32.84") == ".!!!!"
    assert one.ping("10.1.32.84") == "!!!!!"
    assert two.ping("10.1.32.83") == "!!!!!"

    # Garbage to both fabric ports: dropped and logged; the routers keep working.
    for name in ROUTERS:
        for junk in (b"GET / HTTP/1.0\r\n\r\n", os.urandom(3000), b"\x00\x00\x00\x05\x02ab"):
            with socket.create_connection(("127.0.0.1", nodes.fabric_port(name))) as s:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(WAIT)
                while s.recv(4096):  # the node sends its HELLO and hangs up
                    pass
    for name in ROUTERS:
        nodes.wait_log(
            rf"{name} iosemu.fabric.tcp WARNING fabric: {name}: connection from .*: "
            r"(protocol error|closed during the handshake)",
            f"{name} to log the garbage",
            count=3,
        )
    assert "Traceback" not in nodes.log()
    assert one.ping("10.1.32.84") == "!!!!!"
    assert two.ping("10.1.32.83") == "!!!!!"
    for proc in nodes.procs.values():
        assert proc.poll() is None

    # `iosemu console` finds a node's console through the node's own run file.
    result = subprocess.run(
        [sys.executable, "-m", "iosemu.cli", "console", "CA-server-2", "--state", str(nodes.state)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    port = nodes.console_port("CA-server-2")
    assert f"Connected to CA-server-2 on 127.0.0.1:{port}" in result.stdout
    # The node serves its vty lines too, on the lab's SSH and telnet bases.
    run = json.loads((nodes.state / "node-CA-server-2.json").read_text())
    vty = {kind: run[kind]["CA-server-2"]["port"] for kind in ("ssh", "telnet")}
    assert vty == {"ssh": nodes.console_base + 202, "telnet": nodes.console_base + 302}


def test_killed_node_falls_silent_and_comes_back_from_nvram(nodes: Nodes) -> None:
    consoles = start_lab(nodes)
    one, two = consoles["CA-server-1"], consoles["CA-server-2"]
    assert one.ping("10.1.32.84") == ".!!!!"
    assert one.ping("10.1.32.84") == "!!!!!"
    out = two.run("write memory")
    assert "[OK]" in out

    # Pull CA-server-2's power: its process dies at once.
    two.close()
    nodes.kill("CA-server-2")
    nodes.wait_log(r"CA-server-1 lost CA-server-2", "CA-server-1 to notice")
    assert one.ping("10.1.32.84") == "....."

    # Power it on again: it boots from its NVRAM, rejoins the fabric and answers.
    nodes.start("CA-server-2")
    two = nodes.console("CA-server-2")
    assert "ip address 10.1.32.84 255.255.255.0" in two.run("show running-config")
    two.wait_interface_up()
    nodes.wait_log(r"CA-server-1 connected to CA-server-2", "the link back", count=2)
    # Its ARP cache is empty, so its first answer may be lost to ARP, as on IOS.
    wait_for(lambda: one.ping("10.1.32.84") == "!!!!!", "CA-server-2 to answer again")


HSRP = (
    "interface GigabitEthernet0/0",
    # Faster than the default 3/10 s, slow enough that a busy machine causes no flaps; set
    # before the group's address, whose Listen and Speak phases run on the hold time then.
    "standby 0 timers 1 3",
    "standby 0 priority 50",
    "standby 0 name SB",
    "standby 0 ip 10.1.32.86",
)


def hsrp(console: Console) -> tuple[str, str, str]:
    """(state, active, standby) of group 0 from ``show standby brief``."""
    out = console.run("show standby brief")
    m = re.search(r"^Gi0/0\s+0\s+\d+\s+P?\s*(\w+)\s+(\S+)\s+(\S+)\s+\S+\s*$", out, re.M)
    assert m, out
    return m.group(1), m.group(2), m.group(3)


def test_hsrp_active_moves_when_its_process_dies(nodes: Nodes) -> None:
    consoles = start_lab(nodes)
    one, two = consoles["CA-server-1"], consoles["CA-server-2"]
    # CA-server-2 first: it comes up Active alone; CA-server-1 then hears its hellos over
    # the fabric and settles as Standby (deaf, it would go Active itself).
    two.configure(*HSRP)
    wait_for(lambda: hsrp(two)[0] == "Active", "CA-server-2 to become Active")
    one.configure(*HSRP)
    wait_for(
        lambda: hsrp(one) == ("Standby", "10.1.32.84", "local"), "CA-server-1 to become Standby"
    )
    wait_for(lambda: hsrp(two) == ("Active", "local", "10.1.32.83"), "CA-server-2 to see it")
    # The virtual IP answers from the other process, at the HSRP virtual MAC.
    wait_for(lambda: one.ping("10.1.32.86") == "!!!!!", "the virtual IP to answer")
    assert re.search(r"10\.1\.32\.86 +\d+ +0000\.0c07\.ac00 ", one.run("show arp"))

    two.close()
    nodes.kill("CA-server-2")
    wait_for(lambda: hsrp(one)[0] == "Active", "CA-server-1 to take over")
    assert "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 0 state Standby -> Active" in (
        one.transcript.getvalue()
    )


def clock_reading(console: Console) -> datetime:
    """``show clock`` as a datetime (the routers' calendars run on lab time)."""
    out = console.run("show clock")
    m = re.search(r"(\d\d:\d\d:\d\d\.\d{3}) UTC \w{3} (\w{3}) +(\d+) (\d{4})", out)
    assert m, out
    return datetime.strptime(" ".join(m.groups()), "%H:%M:%S.%f %b %d %Y")


def test_scaled_clock_is_anchored_for_all_nodes(nodes: Nodes) -> None:
    nodes.start("CA-server-1", "--speed", "10")
    one = nodes.console("CA-server-1")
    # A node that asks for another clock is refused, and told what to do.
    refused = subprocess.run(
        nodes.command("CA-server-2", "--clock", "real"),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert refused.returncode == 2
    assert "the lab runs on the scaled clock at 10x" in refused.stderr
    assert "start CA-server-2 without --clock/--speed to join it" in refused.stderr
    # Without a clock of its own, it joins the lab's.
    nodes.start("CA-server-2")
    two = nodes.console("CA-server-2")
    banner = (nodes.state.parent / "CA-server-2.out").read_text()
    assert "Node CA-server-2 of lab pki-ha (the scaled clock at 10x)" in banner
    # Both calendars read the same lab time: CA-server-2's reading falls between two of
    # CA-server-1's taken around it (10x makes any disagreement large).
    before = clock_reading(one)
    between = clock_reading(two)
    after = clock_reading(one)
    slack = timedelta(milliseconds=200)
    assert before - slack <= between <= after + slack, (before, between, after)
    assert after - before < timedelta(minutes=10)
