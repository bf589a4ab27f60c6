"""What the benchmark modules share: the machine, figures and their table, lab files, telnet.

Every figure is a list of per-run values; the table shows their median and spread
(min..max) beside the goal from issue 9. The machine line says where they came from.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# The console script of the venv this interpreter belongs to; else the module.
IOSEMU: list[str] = (
    [str(Path(PYTHON).with_name("iosemu"))]
    if Path(PYTHON).with_name("iosemu").exists()
    else [PYTHON, "-m", "iosemu.cli"]
)
GREETING = bytes([255, 251, 1, 255, 251, 3])  # IAC WILL ECHO, IAC WILL SGA


def child_env() -> dict[str, str]:
    """The environment of the processes we time: bytecode cached, as an installed iosemu has.

    With ``PYTHONDONTWRITEBYTECODE`` set (some sandboxes and CI images set it) every start
    compiles iosemu's sources again, a third of a second that no user pays twice. The
    cache goes to a directory of its own (``PYTHONPYCACHEPREFIX``), not into the tree;
    each measure makes one untimed run first to fill it.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "iosemu-bench-pyc"))
    return env


# --------------------------------------------------------------------------- the machine


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in info:
            info[key.strip()] = value.strip()
    return info


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _cpu() -> str:
    info = _cpuinfo()
    cpu = info.get("model name") or platform.processor() or platform.machine()
    mhz = info.get("cpu MHz")
    if mhz:
        cpu += f" @ {float(mhz) / 1000:.2f} GHz"
    return cpu


def _crypto() -> str:
    """The RSA figures are OpenSSL's: its version is part of the machine."""
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend

    return f"cryptography {cryptography.__version__} ({backend.openssl_version_text()})"


def machine() -> str:
    """One line: CPU model and clock, cores, memory, OS and kernel, Python, OpenSSL."""
    cpu = _cpu()
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {_os_name()} (Linux {platform.release()}), "
        f"{platform.machine()}; {platform.python_implementation()} {platform.python_version()}, "
        f"{_crypto()}"
    )


def machine_tag() -> str:
    """A few words for the table's Machine column (the full line goes above the table)."""
    cpu = _cpu().replace("(R)", "").replace("(TM)", "").replace(" CPU", "").replace(" @", "")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores, {python}"


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "transcripts"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown (no git)"
    if not commit:
        return "unknown (not a git checkout)"
    return commit + (" with uncommitted changes in src/ or transcripts/" if dirty else "")


def load_average() -> str:
    """The 1-minute load average: other work on the machine shows in every figure."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


# --------------------------------------------------------------------------- figures


@dataclass
class Figure:
    """One row of the table: a value per run (or per sample set), in ``unit``."""

    name: str
    values: list[float]
    unit: str  # "s", "ms", "MB", "/s"
    goal: float | None = None  # from issue 9; None: no goal, reported for context
    higher_is_better: bool = False
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        return self.median >= self.goal if self.higher_is_better else self.median < self.goal


def fmt(value: float, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "MB":
        return f"{value:.2f} MB" if value >= 1 else f"{value:.3f} MB"
    return f"{value:.3g} {unit}"


def table(figures: Sequence[Figure], where: str | None = None) -> str:
    """The markdown table the README quotes; ``where``: the Machine column (this one's)."""
    where = where or machine_tag()
    lines = [
        "| Measure | Median | Spread (min..max) | Runs | Goal | Met | Machine |",
        "|---|---:|---:|---:|---:|:---:|---|",
    ]
    for f in figures:
        spread = f"{fmt(min(f.values), f.unit)}..{fmt(max(f.values), f.unit)}"
        goal = ""
        if f.goal is not None:
            goal = ("≥ " if f.higher_is_better else "< ") + fmt(f.goal, f.unit)
        met = {None: "", True: "yes", False: "**no**"}[f.met]
        name = f.name + (f" ({f.note})" if f.note else "")
        lines.append(
            f"| {name} | {fmt(f.median, f.unit)} | {spread} | {len(f.values)} | {goal} | {met} "
            f"| {where} |"
        )
    return "\n".join(lines)


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): a value that was measured."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def progress(text: str) -> None:
    """Progress goes to stderr so stdout stays the table."""
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- lab files


def lab_file(path: Path, count: int, *, name: str = "bench") -> list[str]:
    """Write a lab of ``count`` routers R1..Rn on one Ethernet segment; returns hostnames.

    Each router has a hostname and an addressed, enabled Gi0/0, so the fabric is wired and
    links come up as in a real lab.
    """
    names = [f"R{i}" for i in range(1, count + 1)]
    lines = [f"name: {name}", "topology:", "  nodes:"]
    for i, host in enumerate(names, start=1):
        lines += [
            f"    {host}:",
            "      startup-config: |",
            f"        hostname {host}",
            "        interface GigabitEthernet0/0",
            f"         ip address 10.{i // 250}.{i % 250 + 1}.1 255.255.0.0",
            "         no shutdown",
        ]
    if count > 1:
        endpoints = ", ".join(f'"{host}:GigabitEthernet0/0"' for host in names)
        lines += ["  links:", f"    - endpoints: [{endpoints}]"]
    path.write_text("\n".join(lines) + "\n")
    return names


# ``iosemu lab`` may serve more than consoles from the console base: SSH at +200 and vty
# telnet at +300 by default. Every port of base+1 .. base+SPAN+count must be free.
SPAN = 400


def free_port_base(count: int) -> int:
    """A base such that base+1 .. base+SPAN+count are free now (the lab binds them next)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count - SPAN)
        ok = True
        for port in range(base + 1, base + SPAN + count + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free range of console ports")


class LabProcess:
    """``iosemu lab FILE --no-attach`` in a subprocess (real clock), stopped by SIGTERM."""

    def __init__(
        self,
        lab: Path | str,
        state: Path,
        count: int,
        boot_delay: float,
        extra: Sequence[str] = (),
    ) -> None:
        self.base = free_port_base(count)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                *IOSEMU,
                "lab",
                str(lab),
                "--no-attach",
                "--clock",
                "real",
                "--fresh",
                "--state",
                str(state),
                "--console-base",
                str(self.base),
                "--boot-delay",
                str(boot_delay),
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
        )

    def port(self, index: int) -> int:
        """The console port of router ``index`` (1-based, lab file order)."""
        return self.base + index

    def wait_listening(self, timeout: float = 120.0) -> float:
        """Block until the lab prints its table (ports listening, routers powered on)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"iosemu lab ended: {err.strip()}")
            if line.startswith(b"Router"):
                return time.perf_counter()
        raise RuntimeError("iosemu lab printed no console table")

    def cpu_seconds(self) -> float:
        """User + system CPU the lab process has used so far (Linux: /proc/PID/stat)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


# --------------------------------------------------------------------------- telnet


class Telnet:
    """A blocking telnet client for one console: enough for a router that only sends the
    greeting's options and doubles 0xFF (which IOS text never contains)."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until(self, *endings: bytes) -> bytes:
        """Read until the received text ends with one of ``endings``; returns all of it."""
        while not self.buffer.endswith(endings):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"console closed; last bytes {self.buffer[-80:]!r}")
            self.buffer = (self.buffer + chunk).replace(GREETING, b"")
        out, self.buffer = self.buffer, b""
        return out

    def command(self, line: str, *prompts: bytes) -> bytes:
        self.send(line.encode() + b"\r")
        return self.read_until(*prompts)

    def close(self) -> None:
        self.sock.close()


async def console_answers(port: int, hostname: str, deadline: float) -> float:
    """Connect to a booting router's console and press Return until its prompt shows.

    Return is pressed on connecting and again at every ``Press RETURN`` greeting: the key
    typed while the router boots is dropped when its console line starts (as on IOS).
    Returns ``time.perf_counter()`` at the prompt's last byte.
    """
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.002)
    prompt = f"{hostname}>".encode()
    greeting = b"Press RETURN to get started"
    seen = b""
    writer.write(b"\r")
    try:
        while not seen.endswith(prompt):
            chunk = await asyncio.wait_for(reader.read(65536), deadline - time.perf_counter())
            if not chunk:
                raise ConnectionError(f"console of {hostname} closed")
            seen += chunk
            if greeting in seen:
                seen = seen[seen.index(greeting) + len(greeting) :]
                writer.write(b"\r")
        return time.perf_counter()
    finally:
        writer.close()
