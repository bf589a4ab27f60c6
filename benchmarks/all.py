"""Every benchmark, one table: ``python -m benchmarks --all`` (or ``python -m benchmarks.all``).

Runs the sections in order and prints the machine line and one markdown table on stdout
(progress goes to stderr), ready for the README. ``--only`` picks sections, ``--quick``
makes a smoke run (fewer runs and samples: not figures to quote).

A section is a function ``(runs, quick) -> list[Figure]`` in ``SECTIONS``; a new benchmark
module joins the table by adding one there.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import boot, console, memory, replay
from benchmarks.common import Figure, load_average, machine, progress, table

SCEP_GOAL = 250.0  # certificates per second (issue 9)


def _boot(runs: int, quick: bool) -> list[Figure]:
    return boot.measure([2, 4, 100], runs)


def _replay(runs: int, quick: bool) -> list[Figure]:
    return replay.measure(runs)


def _console(runs: int, quick: bool) -> list[Figure]:
    return console.measure(runs, 100 if quick else 500)


def _memory(runs: int, quick: bool) -> list[Figure]:
    return memory.measure(max(1, min(runs, 3)))


def _scep(runs: int, quick: bool) -> list[Figure]:
    """benchmarks/run.py's measures: signing rate and issuance, the ratio per run."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from benchmarks import run as scep

    requests = 50 if quick else 200
    pool = scep.client_pool(16)
    ca_key = rsa.generate_private_key(65537, 2048)
    signing: list[float] = []
    issued: list[float] = []
    for i in range(runs):
        signing.append(scep.rsa_sign_rate(0.5 if quick else 1.0))
        issued.append(scep.issuance_in_lab(ca_key, pool, requests, 8, i))
        progress(f"scep, run {i + 1}/{runs}: {issued[-1]:.0f}/s, signing {signing[-1]:.0f}/s")
    # Three RSA-2048 private-key operations per certificate: a third of the rate is the cap.
    ratio = [100 * n / (s / 3) for n, s in zip(issued, signing, strict=True)]
    return [
        Figure("RSA-2048 signatures, `cryptography`, one core", signing, "/s"),
        Figure(
            "SCEP issuance, `grant auto`, RSA-2048 CA, lab HTTP (virtual clock)",
            issued,
            "/s",
            SCEP_GOAL,
            higher_is_better=True,
        ),
        Figure("SCEP issuance as a share of the signing ceiling (rate / 3)", ratio, "%"),
    ]


SECTIONS: dict[str, Callable[[int, bool], list[Figure]]] = {
    "boot": _boot,
    "replay": _replay,
    "console": _console,
    "memory": _memory,
    "scep": _scep,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks --all", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each measure (5)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 runs, fewer samples")
    parser.add_argument(
        "--only", help=f"comma-separated sections (default all: {','.join(SECTIONS)})"
    )
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    runs = 2 if args.quick else args.runs
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # closed labs' leftover tasks
    started = time.perf_counter()
    load_before = load_average()
    figures: list[Figure] = []
    for name in names:
        progress(f"== {name}")
        figures += SECTIONS[name](runs, args.quick)
    elapsed = time.perf_counter() - started
    print(f"Machine: {machine()}")
    print(f"Load average (1 min): {load_before} at the start, {load_average()} at the end.")
    print()
    print(table(figures))
    print()
    met = [f.met for f in figures if f.met is not None]
    print(
        f"{sum(met)} of {len(met)} goals met; median of {runs} runs each "
        f"(memory: {max(1, min(runs, 3))}); {elapsed / 60:.1f} min in all."
        + (" Quick run: not figures to quote." if args.quick else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
