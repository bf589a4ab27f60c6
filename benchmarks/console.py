"""Console latency over telnet: the Enter key to the next prompt's last byte.

The guide's lab (``pki-ha``) runs in ``iosemu lab --no-attach`` (real clock, its own
process); this process is the telnet client, a blocking socket with ``TCP_NODELAY``. On
CA-server-1, through the console: ``enable``, ``terminal length 0``, ``no logging
console`` (no message breaks into a timing), ``ip http server`` and a certificate server
``PKI-HA`` that is started (its first ``no shutdown``, passphrase dialog and key
generation included), so ``show crypto pki server`` has a CA to describe.

For each command the line is typed and its echo awaited first; the clock runs from
sending ``\\r`` to the last byte of the prompt that follows the output. Three commands:

* ``show running-config`` (privileged EXEC, the whole configuration, no paging);
* ``show crypto pki server`` (privileged EXEC);
* ``ip domain name bench.example`` in global configuration mode (a configuration change
  that is the same each time, so every sample does the same work).

After the set-up the lab is left alone for a second, and each command is typed 20 times
untimed before its ``--samples`` timed ones. Each run gives a p50 and a p99 (nearest rank),
and the table shows the median and spread of those over ``--runs`` labs.

``python -m benchmarks.console [--runs N] [--samples N]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    Figure,
    LabProcess,
    Telnet,
    machine,
    percentile,
    progress,
    table,
)

GOAL_P99_MS = 5.0
SETTLE = 1.0  # seconds between the set-up and the first timing
HOST = "CA-server-1"
EXEC, CONFIG, CS = (f"{HOST}{p}".encode() for p in ("#", "(config)#", "(cs-server)#"))
PASSPHRASE = "cisco123"
COMMANDS: list[tuple[str, str, bytes]] = [
    # (label, line, mode prompt it is typed at and ends at)
    ("show running-config", "show running-config", EXEC),
    ("show crypto pki server", "show crypto pki server", EXEC),
    ("configuration command (ip domain name)", "ip domain name bench.example", CONFIG),
]


def _answering(port: int, timeout: float = 60.0) -> Telnet:
    """Connect and press Return until the user EXEC prompt shows."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            console = Telnet(port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    console.sock.settimeout(0.2)
    while True:
        console.send(b"\r")
        try:
            console.read_until(f"{HOST}>".encode())
            break
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
    console.sock.settimeout(30.0)
    return console


def _set_up(console: Telnet) -> None:
    """``enable``, no paging, and a running certificate server, all typed on the console."""
    console.command("enable", EXEC)
    console.command("terminal length 0", EXEC)
    console.command("configure terminal", CONFIG)
    # Log messages arrive after a prompt, at their own time: none in the timings.
    console.command("no logging console", CONFIG)
    console.command("ip http server", CONFIG)
    console.command("crypto pki server PKI-HA", CS)
    console.command("grant auto", CS)
    console.command("no shutdown", b"Password: ")
    console.command(PASSPHRASE, b"Re-enter password: ")
    out = console.command(PASSPHRASE, CS)
    if b"Certificate Server enabled" not in out:
        raise SystemExit(f"benchmark: the CA did not start: {out.decode(errors='replace')}")
    console.command("end", EXEC)
    for _ in range(100):  # the server enables itself once the CA certificate is made
        if b"State: enabled" in console.command("show crypto pki server", EXEC):
            return
        time.sleep(0.05)
    raise SystemExit("benchmark: the certificate server never said State: enabled")


def _timed(console: Telnet, line: str, prompt: bytes) -> float:
    """Type ``line``, wait for its echo, then time Enter to the prompt; milliseconds."""
    console.send(line.encode())
    console.read_until(line.encode())
    start = time.perf_counter()
    console.send(b"\r")
    out = console.read_until(b"\n" + prompt)
    elapsed = time.perf_counter() - start
    if b"\n% " in out:  # an IOS error message: the figure would time the wrong thing
        raise SystemExit(f"benchmark: {line!r} failed: {out.decode(errors='replace')}")
    return elapsed * 1000


def latency_once(samples: int, warmup: int = 20) -> dict[str, list[float]]:
    """One lab: ``samples`` timings of each command."""
    with tempfile.TemporaryDirectory(prefix="iosemu-bench-") as tmp:
        lab = LabProcess("pki-ha", Path(tmp) / "state", 2, 0.0)
        try:
            lab.wait_listening()
            console = _answering(lab.port(1))
            try:
                _set_up(console)
                time.sleep(SETTLE)  # the lab tidies up after the CA's first start
                out: dict[str, list[float]] = {}
                for label, line, prompt in COMMANDS:
                    if prompt == CONFIG:
                        console.command("configure terminal", CONFIG)
                    for _ in range(warmup):
                        _timed(console, line, prompt)
                    out[label] = [_timed(console, line, prompt) for _ in range(samples)]
                    if prompt == CONFIG:
                        console.command("end", EXEC)
                return out
            finally:
                console.close()
        finally:
            lab.close()


def measure(runs: int, samples: int) -> list[Figure]:
    p50: dict[str, list[float]] = {label: [] for label, _, _ in COMMANDS}
    p99: dict[str, list[float]] = {label: [] for label, _, _ in COMMANDS}
    for run in range(runs):
        timings = latency_once(samples)
        for label, values in timings.items():
            p50[label].append(percentile(values, 50))
            p99[label].append(percentile(values, 99))
        progress(
            f"console, run {run + 1}/{runs}: "
            + ", ".join(f"{k} p99 {p99[k][-1]:.2f} ms" for k in timings)
        )
    figures = []
    for label, _, _ in COMMANDS:
        figures.append(Figure(f"Console latency p50: {label}", p50[label], "ms"))
        figures.append(Figure(f"Console latency p99: {label}", p99[label], "ms", GOAL_P99_MS))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.console", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="labs (5)")
    parser.add_argument("--samples", type=int, default=500, help="timings per command (500)")
    args = parser.parse_args(argv)
    print(machine())
    print()
    print(table(measure(args.runs, args.samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
