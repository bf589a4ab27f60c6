"""A lab in a subprocess and pexpect sessions on its telnet consoles.

The tests here drive the real ``iosemu lab`` command over TCP, byte for byte, the way
netmiko or a person with telnet does. Starting a lab costs the boot delay (about two
seconds of real time), so one lab serves many tests: it holds a pool of identical routers
(all with hostname ``R``) and every test takes a router nobody has touched yet.

Synchronisation is always on output (the lab's table on stdout, a prompt on a console),
never on sleeps; timeouts are generous so a loaded machine is slow, not flaky.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pexpect
from pexpect import fdpexpect

IOSEMU = Path(sys.executable).with_name("iosemu")
TIMEOUT = 30.0  # seconds a console may take to answer on a loaded machine
START_TIMEOUT = 60.0
POOL_SIZE = 64  # routers per lab; a test that types takes one, another lab starts when out
GREETING = bytes([255, 251, 1, 255, 251, 3])  # IAC WILL ECHO, IAC WILL SGA


class PoolExhausted(RuntimeError):
    """More tests want a fresh router than the lab has: raise the pool size."""


def pool_lab_file(
    path: Path, count: int, hostname: str = "R", prefix: str = "R", config: Sequence[str] = ()
) -> list[str]:
    """Write a lab file of ``count`` unlinked routers named R1.. with one hostname (and
    ``config``, more lines of their startup-config)."""
    names = [f"{prefix}{i}" for i in range(1, count + 1)]
    lines = ["name: pool", "topology:", "  nodes:"]
    for name in names:
        lines += [f"    {name}:", "      startup-config: |", f"        hostname {hostname}"]
        lines += [f"        {line}" for line in config]
    path.write_text("\n".join(lines) + "\n")
    return names


def _ports_free(base: int, count: int) -> bool:
    for port in range(base + 1, base + count + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


# A lab's SSH and vty telnet ports follow its consoles at these offsets (lab/topology.py).
SSH_OFFSET, TELNET_OFFSET = 200, 300


def free_port_base(count: int) -> int:
    """A base such that base+1 .. base+count are free now, and the SSH and vty telnet ports
    that follow (the lab binds them next)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count - TELNET_OFFSET)
        if all(_ports_free(base + offset, count) for offset in (0, SSH_OFFSET, TELNET_OFFSET)):
            return base
    raise RuntimeError("no free range of console ports")


class LabProcess:
    """``iosemu lab FILE --no-attach`` in a subprocess, ready once its table is printed."""

    def __init__(
        self, lab_file: Path, state: Path, nodes: list[str], args: Sequence[str] = ()
    ) -> None:
        self.lab_file = lab_file
        self.args = list(args)  # more options for ``iosemu lab`` (a scaled clock...)
        self.state = state
        self.nodes = nodes
        self.base = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.table = ""
        self.stderr_path = state.with_name(state.name + ".stderr")
        self._next = 0

    def start(self) -> None:
        last_error = ""
        for _ in range(5):  # another program may take a port between our check and the bind
            self.base = free_port_base(len(self.nodes))
            ok, last_error = self._try_start()
            if ok:
                return
        raise RuntimeError(f"the lab did not start: {last_error}")

    def _try_start(self) -> tuple[bool, str]:
        args = [str(IOSEMU), "lab", str(self.lab_file), "--no-attach"]
        args += ["--console-base", str(self.base), "--state", str(self.state), "--fresh"]
        args += ["--boot-delay", "0.2"]  # what is tested is the console, not the wait
        args += self.args
        # stderr to a file: a pipe nobody reads could fill up and stall the lab.
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err
            )
        assert self.proc.stdout is not None
        want = f"telnet 127.0.0.1 {self.port(self.nodes[-1])}"
        out = b""
        deadline = time.monotonic() + START_TIMEOUT
        fd = self.proc.stdout.fileno()
        # The table is printed once every console port listens: read until its last row.
        while want.encode() not in out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.stop()
                return False, f"no console table after {START_TIMEOUT:.0f} s: {out!r}"
            chunk = os.read(fd, 65536)
            if not chunk:
                self.stop()
                return False, self.stderr_path.read_text(errors="replace") or out.decode()
            out += chunk
        self.table = out.decode()
        return True, ""

    def wait_booted(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the routers run their consoles: keys typed while booting are lost.

        The last router boots last, so it is the witness (and never handed to a test). It
        shows ``Press RETURN`` when booted, unless that went by before we connected: then a
        Return gets a prompt. A Return sent while it still boots is dropped, so it is sent
        again each time half a second passes with no output we wait for.
        """
        witness = Console(self.port(self.nodes[-1]))
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    witness.child.expect_exact([b"Press RETURN to get started!", b">"], 0.5)
                    return
                except pexpect.TIMEOUT:
                    if time.monotonic() > deadline:
                        raise
                    witness.send("\r")
        finally:
            witness.close()

    def port(self, node: str) -> int:
        return self.base + self.nodes.index(node) + 1

    def ssh_port(self, node: str) -> int:
        return self.port(node) + SSH_OFFSET

    def telnet_port(self, node: str) -> int:
        """Telnet to the router's vty lines (``port`` is its console)."""
        return self.port(node) + TELNET_OFFSET

    def take(self) -> str:
        """A router no test has used yet."""
        if self._next >= len(self.nodes) - 1:  # the last one is the boot witness
            raise PoolExhausted(f"all {len(self.nodes)} routers of the pool are used")
        node = self.nodes[self._next]
        self._next += 1
        return node

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class RouterPool:
    """Untouched routers on demand, from as many labs as it takes (each costs a boot)."""

    def __init__(self, where: Path, size: int = POOL_SIZE) -> None:
        self.where = where
        self.size = size
        self.labs: list[LabProcess] = []

    def take(self) -> tuple[LabProcess, str]:
        if self.labs:
            try:
                return self.labs[-1], self.labs[-1].take()
            except PoolExhausted:
                pass
        here = self.where / f"lab{len(self.labs) + 1}"
        here.mkdir()
        lab = LabProcess(
            here / "pool.yml", here / "state", pool_lab_file(here / "pool.yml", self.size)
        )
        self.labs.append(lab)
        lab.start()
        lab.wait_booted()
        return lab, lab.take()

    def close(self) -> None:
        for lab in self.labs:
            lab.stop()


class Console:
    """A pexpect session on one router's telnet console, in bytes."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.port = port
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.settimeout(None)
        # pexpect owns the descriptor from here on (and closes it).
        self.child = fdpexpect.fdspawn(sock.detach(), timeout=timeout)
        self.child.expect_exact(GREETING)

    def send(self, data: str | bytes) -> None:
        self.child.send(data.encode() if isinstance(data, str) else data)

    def until(self, marker: bytes, timeout: float | None = None) -> bytes:
        """Everything received up to and including ``marker``."""
        self.child.expect_exact(marker, timeout=-1 if timeout is None else timeout)
        before, after = self.child.before, self.child.after
        assert isinstance(before, bytes) and isinstance(after, bytes)
        return before + after

    def until_re(self, pattern: bytes, timeout: float | None = None) -> bytes:
        self.child.expect(re.compile(pattern), timeout=-1 if timeout is None else timeout)
        before, after = self.child.before, self.child.after
        assert isinstance(before, bytes) and isinstance(after, bytes)
        return before + after

    def cmd(self, line: str, prompt: bytes, timeout: float | None = None) -> bytes:
        """Type ``line`` and Return; what came back up to the next ``prompt``."""
        self.send(line + "\r")
        return self.until(prompt, timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.child.close()


# Routers that take SSH and vty telnet logins: ``admin`` (privilege 15) and ``op`` (level 1,
# ``enable`` with the secret ``cisco``). SSH also needs a key: ``give_keys``.
VTY_CONFIG = [
    "ip domain name lab",
    "enable secret cisco",
    "username admin privilege 15 secret admin",
    "username op password op",
    "line vty 0 4",
    " login local",
]


def configure(console: Console, lines: Sequence[str], prompt: bytes = b"R") -> None:
    """Type configuration lines on a console that is at ``R#``, back at ``R#`` after."""
    console.cmd("configure terminal", prompt + b"(config)#")
    for line in lines:
        console.send(line + "\r")
        console.until_re(prompt + rb"\([a-z-]+\)#$")
    console.cmd("end", prompt + b"#")


def console_enabled(lab: LabProcess, node: str) -> Console:
    """The node's console at ``R#`` (``enable`` answered with ``VTY_CONFIG``'s secret)."""
    console = Console(lab.port(node))
    console.send("\r")
    if console.until_re(rb"R[>#]$").endswith(b">"):  # another test may have enabled it
        console.cmd("enable", b"Password: ")
        console.cmd("cisco", b"R#")
    return console


def give_keys(lab: LabProcess, nodes: Sequence[str], bits: int = 1024) -> None:
    """``crypto key generate rsa`` on the nodes' consoles, all at once (a lab second each)."""
    consoles = [console_enabled(lab, node) for node in nodes]
    try:
        for console in consoles:
            console.cmd("configure terminal", b"R(config)#")
            console.send(f"crypto key generate rsa modulus {bits}\r")
        for console in consoles:
            console.until(b"[OK]")
            console.until(b"R(config)#")
            console.cmd("end", b"R#")
    finally:
        for console in consoles:
            console.close()


class VtyLab(LabProcess):
    """A lab of routers with ``VTY_CONFIG``: the first ``keyed`` have an RSA key (SSH)."""

    def __init__(self, where: Path, keyed: int, plain: int, speed: float) -> None:
        lab_file = where / "vty.yml"
        # One more plain router: the last is the boot witness, never handed out.
        nodes = pool_lab_file(lab_file, keyed + plain + 1, config=VTY_CONFIG)
        args = ["--clock", "scaled", "--speed", f"{speed:g}"]
        super().__init__(lab_file, where / "state", nodes, args)
        self.keyed = keyed
        self.speed = speed
        self._taken = {True: 0, False: 0}

    def take(self, keyed: bool = True) -> str:
        """A router no test has used yet, with an RSA key or without."""
        first, count = (0, self.keyed) if keyed else (self.keyed, len(self.nodes) - 1)
        index = first + self._taken[keyed]
        if index >= count:
            kind = "keyed" if keyed else "plain"
            raise PoolExhausted(f"all {kind} routers of the vty lab are used: add some")
        self._taken[keyed] += 1
        return self.nodes[index]


def start_vty_lab(where: Path, keyed: int, plain: int, speed: float = 10) -> VtyLab:
    """A ``VtyLab`` running on a clock ``speed`` times real time (key generation and
    timeouts go by faster), its keys made."""
    lab = VtyLab(where, keyed, plain, speed)
    lab.start()
    lab.wait_booted()
    give_keys(lab, lab.nodes[:keyed])
    return lab
