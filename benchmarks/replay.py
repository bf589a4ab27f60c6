"""The guide's transcripts replayed on the virtual clock: ``iosemu replay transcripts/*.md``.

Each run starts the command as a subprocess and times it from exec to exit (interpreter,
imports and all), and takes its CPU time (user + system, from the kernel's account of
children): on a busy machine the wall time grows and the CPU time much less. Each file's
own seconds are those the command prints beside ``PASS``
(its lab built, booted and every block typed and compared). A file that does not pass
is named in the table (a fast wrong replay is no figure to quote without saying so).

``python -m benchmarks.replay [--runs N]``
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import IOSEMU, ROOT, Figure, child_env, machine, progress, table

GOAL = 2.0
_RESULT = re.compile(r"^(PASS|FAIL|UPDATED) (\S+) \((\d+) blocks?, ([\d.]+) s\)")


def transcripts() -> list[Path]:
    return sorted((ROOT / "transcripts").glob("*.md"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def replay_once(files: list[Path]) -> tuple[float, float, dict[str, float], list[str]]:
    """One run of the command: (wall seconds, CPU seconds, seconds per file, files that
    failed)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [*IOSEMU, "replay", *(str(f.relative_to(ROOT)) for f in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=child_env(),
    )
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    per_file: dict[str, float] = {}
    failed: list[str] = []
    for line in done.stdout.splitlines():
        m = _RESULT.match(line)
        if m:
            name = Path(m.group(2)).name
            per_file[name] = float(m.group(4))
            if m.group(1) != "PASS":
                failed.append(name)
    if len(per_file) != len(files):
        raise SystemExit(f"benchmark: iosemu replay failed:\n{done.stdout}{done.stderr}")
    return wall, cpu, per_file, failed


def measure(runs: int, per_file: bool = True) -> list[Figure]:
    files = transcripts()
    walls: list[float] = []
    cpus: list[float] = []
    by_file: dict[str, list[float]] = {f.name: [] for f in files}
    failed: set[str] = set()
    replay_once(files[:1])  # untimed: fills the bytecode cache
    for run in range(runs):
        wall, cpu, seconds, bad = replay_once(files)
        failed.update(bad)
        walls.append(wall)
        cpus.append(cpu)
        for name, value in seconds.items():
            by_file[name].append(value)
        progress(f"replay, run {run + 1}/{runs}: {wall:.2f} s, {cpu:.2f} s CPU")
    figures = [
        Figure(
            f"Guide replay: `iosemu replay transcripts/*.md`, {len(files)} files, wall",
            walls,
            "s",
            GOAL,
            note=f"FAILED: {', '.join(sorted(failed))}" if failed else "",
        ),
        # What the command itself used: wall time less what other work on the machine took.
        Figure("Guide replay: the same, CPU time (user + system)", cpus, "s"),
    ]
    slowest = sorted(by_file.items(), key=lambda kv: -statistics.median(kv[1]))[:4]
    progress(
        "replay, slowest files (median s): "
        + ", ".join(f"{name} {statistics.median(v):.2f}" for name, v in slowest)
    )
    if per_file:
        figures += [
            Figure(f"Guide replay: {name}", values, "s", note="FAILED" if name in failed else "")
            for name, values in by_file.items()
        ]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replay", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs (5)")
    args = parser.parse_args(argv)
    print(machine())
    print()
    print(table(measure(args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
