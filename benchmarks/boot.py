"""Lab boot: ``iosemu lab`` started to every console answering, for 2, 4 and 100 routers.

Each run writes a lab file of N routers on one segment (hostname and an addressed Gi0/0
each), starts ``iosemu lab FILE --no-attach --clock real --boot-delay 0`` (all routers in
one process) and connects to every console as soon as the lab prints its table, pressing
Return until the router's ``Rn>`` prompt arrives. Per lab size:

* **boot**: the table printed (ports listening, every router powered on) to the last
  prompt: the lab's own work;
* **command**: the process started to the last prompt: the above plus the interpreter,
  imports and reading the lab file, which is what a person waits for;
* the startup part alone (process started to the table), for context;
* **CPU**: user + system seconds the lab process used until the last prompt: what the
  command costs, where the wall times also hold whatever else the machine was doing.

``--boot-delay 0``: the default boot delay (2 lab seconds, an ISR's minutes shortened) is a
wait, not work, and would add 2 s to every figure.

``python -m benchmarks.boot [--runs N] [--sizes 2,4,100]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    Figure,
    LabProcess,
    console_answers,
    lab_file,
    machine,
    progress,
    table,
)

GOALS = {2: 0.5, 100: 10.0}


def boot_once(
    size: int, boot_delay: float = 0.0, timeout: float = 120.0
) -> tuple[float, float, float]:
    """One lab of ``size`` routers: (seconds to the table, seconds to the last prompt, CPU
    seconds the lab process used until then)."""
    with tempfile.TemporaryDirectory(prefix="iosemu-bench-") as tmp:
        names = lab_file(Path(tmp) / "lab.yml", size)
        lab = LabProcess(Path(tmp) / "lab.yml", Path(tmp) / "state", size, boot_delay)
        try:
            listening = lab.wait_listening(timeout)
            deadline = time.perf_counter() + timeout

            async def probe() -> list[float]:
                return await asyncio.gather(
                    *(
                        console_answers(lab.port(i), name, deadline)
                        for i, name in enumerate(names, start=1)
                    )
                )

            ready = max(asyncio.run(probe()))
            return listening - lab.started, ready - lab.started, lab.cpu_seconds()
        finally:
            lab.close()


def measure(sizes: list[int], runs: int, boot_delay: float = 0.0) -> list[Figure]:
    figures: list[Figure] = []
    boot_once(sizes[0], boot_delay)  # untimed: fills the bytecode cache
    for size in sizes:
        startup: list[float] = []
        total: list[float] = []
        cpu: list[float] = []
        for run in range(runs):
            to_table, to_prompt, used = boot_once(size, boot_delay)
            startup.append(to_table)
            total.append(to_prompt)
            cpu.append(used)
            progress(
                f"boot {size} routers, run {run + 1}/{runs}: "
                f"{to_prompt - to_table:.3f} s boot, {to_prompt:.3f} s from exec"
            )
        routers = f"{size} router{'s' if size != 1 else ''}"
        figures.append(
            Figure(
                f"Boot, {routers}: power-on to every console answering",
                [t - s for s, t in zip(startup, total, strict=True)],
                "s",
                GOALS.get(size),
            )
        )
        figures.append(
            Figure(
                f"Boot, {routers}: `iosemu lab` exec to every console answering",
                total,
                "s",
                note=f"of which exec to listening {statistics.median(startup):.2f} s",
            )
        )
        figures.append(Figure(f"Boot, {routers}: CPU time of `iosemu lab` until then", cpu, "s"))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.boot", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per lab size (5)")
    parser.add_argument("--sizes", default="2,4,100", help="lab sizes (2,4,100)")
    parser.add_argument("--boot-delay", type=float, default=0.0, help="lab seconds (0)")
    args = parser.parse_args(argv)
    print(machine())
    print()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(table(measure(sizes, args.runs, args.boot_delay)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
