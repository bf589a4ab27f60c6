"""The guide's transcripts replayed on the virtual clock: ``iosemu replay transcripts/*.md``.

Each run starts the command as a subprocess and times it from exec to exit (interpreter,
imports and all); each file's own seconds are those the command prints beside ``PASS``
(its lab built, booted and every block typed and compared). A file that does not pass
is named in the table (a fast wrong replay is no figure to quote without saying so).

``python -m benchmarks.replay [--runs N]``
"""

from __future__ import annotations

import argparse
import re
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


def replay_once(files: list[Path]) -> tuple[float, dict[str, float], list[str]]:
    """One run of the command: (wall seconds, seconds per file, files that failed)."""
    start = time.perf_counter()
    done = subprocess.run(
        [*IOSEMU, "replay", *(str(f.relative_to(ROOT)) for f in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=child_env(),
    )
    wall = time.perf_counter() - start
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
    return wall, per_file, failed


def measure(runs: int, per_file: bool = True) -> list[Figure]:
    files = transcripts()
    walls: list[float] = []
    by_file: dict[str, list[float]] = {f.name: [] for f in files}
    failed: set[str] = set()
    replay_once(files[:1])  # untimed: fills the bytecode cache
    for run in range(runs):
        wall, seconds, bad = replay_once(files)
        failed.update(bad)
        walls.append(wall)
        for name, value in seconds.items():
            by_file[name].append(value)
        progress(f"replay, run {run + 1}/{runs}: {wall:.2f} s")
    figures = [
        Figure(
            f"Guide replay: `iosemu replay transcripts/*.md`, {len(files)} files, wall",
            walls,
            "s",
            GOAL,
            note=f"FAILED: {', '.join(sorted(failed))}" if failed else "",
        )
    ]
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
