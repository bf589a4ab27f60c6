"""Every benchmark, one table: ``python -m benchmarks`` from the repository root.

Runs the sections in order and prints the machine line and one markdown table on stdout
(progress goes to stderr), ready for the README. ``--only`` picks sections, ``--runs``
sets the runs of each measure, ``--quick`` makes a smoke run (2 runs, fewer samples: not
figures to quote). Each section's module also runs alone (``python -m benchmarks.boot``...).

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

from benchmarks import boot, console, ha, memory, replay, scep
from benchmarks.common import Figure, code_version, load_average, machine, progress, table


def _boot(runs: int, quick: bool) -> list[Figure]:
    return boot.measure([2, 4, 100], runs)


def _replay(runs: int, quick: bool) -> list[Figure]:
    # Each file's seconds go to stderr: the README's table has the whole command.
    return replay.measure(runs, per_file=False)


def _console(runs: int, quick: bool) -> list[Figure]:
    return console.measure(runs, 100 if quick else 500)


# Memory (fresh interpreters with 100 routers, little spread) and HA (a default-timer
# failover waits out HSRP's 10 s hold time) take at most this many runs: the whole stays
# under ten minutes on two slow cores.
SLOW_RUNS = 3


def _memory(runs: int, quick: bool) -> list[Figure]:
    return memory.measure(min(runs, SLOW_RUNS))


def _scep(runs: int, quick: bool) -> list[Figure]:
    return scep.measure(runs, requests=50 if quick else 200, sign_seconds=0.5 if quick else 1.0)


def _ha(runs: int, quick: bool) -> list[Figure]:
    return ha.measure(min(runs, SLOW_RUNS), enrollments=30 if quick else 100)


SECTIONS: dict[str, Callable[[int, bool], list[Figure]]] = {
    "boot": _boot,
    "replay": _replay,
    "console": _console,
    "memory": _memory,
    "scep": _scep,
    "ha": _ha,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
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
    code = code_version()  # at the start: what the sections import and run
    figures: list[Figure] = []
    failed: list[str] = []
    loads: list[str] = []  # other work on the machine slows some sections and not others
    for name in names:
        loads.append(f"{name} {load_average()}")
        progress(f"== {name}")
        try:
            figures += SECTIONS[name](runs, args.quick)
        except (Exception, SystemExit) as e:  # one broken section leaves the others' figures
            progress(f"{name} failed: {e!r}")
            failed.append(f"{name} ({type(e).__name__}: {e})")
    elapsed = time.perf_counter() - started
    print(f"Machine: {machine()}")
    print(f"Code: iosemu at {code}.")
    print(
        f"Load average (1 min) at each section's start: {', '.join(loads)}; "
        f"{load_average()} at the end."
    )
    print()
    print(table(figures))
    print()
    met = [f.met for f in figures if f.met is not None]
    if failed:
        print(f"FAILED sections, not in the table: {'; '.join(failed)}")
    print(
        f"{sum(met)} of {len(met)} goals met; median of {runs} runs each "
        f"(memory and HA: {min(runs, SLOW_RUNS)}); {elapsed / 60:.1f} min in all."
        + (" Quick run: not figures to quote." if args.quick else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
