"""Memory per router: 100 routers in one lab, booted and settled.

Each measure runs in a fresh interpreter (``python -m benchmarks.memory --child N``) so
nothing of an earlier lab is counted. The child imports iosemu, reads its resident set
(``VmRSS``), builds a lab of N routers (benchmarks.common.lab_file: one segment, an
addressed Gi0/0 each, byte consoles), boots it on the virtual clock, lets 60 lab seconds
pass (links up, ARP, timers running), collects garbage and reads ``VmRSS`` again.

* **RSS delta / 100**: what the brief asks; it charges the routers with what the first one
  brings (the compiled command grammar, code paths run for the first time).
* **marginal**: (delta(100) - delta(2)) / 98: what one more router costs.
* **tracemalloc**: Python objects alone, per router, from a run with tracing on (slower;
  the top allocation sites go to stderr with ``--top``).

``python -m benchmarks.memory [--runs N] [--routers 100] [--top 15]``
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    PYTHON,
    ROOT,
    Figure,
    child_env,
    lab_file,
    machine,
    progress,
    table,
)

GOAL_MB = 10.0
SETTLE = 60.0  # lab seconds after boot


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(routers: int, trace: bool, top: int) -> dict[str, float]:
    """Runs in the fresh interpreter: the lab's memory, as JSON on stdout."""
    import asyncio
    import logging
    import tracemalloc

    from iosemu.api import Lab
    from iosemu.lab.topology import load_lab

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="iosemu-bench-") as tmp:
        path = Path(tmp) / "lab.yml"
        lab_file(path, routers)
        spec = load_lab(path)
        gc.collect()
        before = rss_bytes()
        if trace:
            tracemalloc.start(8)
        lab = Lab(spec, clock="virtual", state_dir=Path(tmp) / "state")
        lab.run(lab.start())
        lab.run(asyncio.sleep(SETTLE))
        gc.collect()
        after = rss_bytes()
        out = {"before": before, "after": after}
        if trace:
            snapshot = tracemalloc.take_snapshot()
            out["traced"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            if top:
                stats = snapshot.statistics("lineno")[:top]
                for stat in stats:
                    frame = stat.traceback[0]
                    where = f"{Path(frame.filename).name}:{frame.lineno}"
                    print(
                        f"  {stat.size / routers / 1024:8.1f} KiB/router  {where}",
                        file=sys.stderr,
                    )
        lab.close()
    return out


def run_child(routers: int, trace: bool = False, top: int = 0) -> dict[str, float]:
    cmd = [PYTHON, "-m", "benchmarks.memory", "--child", str(routers)]
    if trace:
        cmd += ["--trace", "--top", str(top)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=child_env())
    if done.returncode != 0:
        raise SystemExit(f"benchmark: memory child failed:\n{done.stderr}")
    if done.stderr.strip():
        progress(done.stderr.rstrip())
    return dict(json.loads(done.stdout.splitlines()[-1]))


def measure(runs: int, routers: int = 100, top: int = 0) -> list[Figure]:
    mb = 1024 * 1024
    per_router: list[float] = []
    marginal: list[float] = []
    traced: list[float] = []
    for run in range(runs):
        big = run_child(routers)
        small = run_child(2)
        delta = big["after"] - big["before"]
        per_router.append(delta / routers / mb)
        marginal.append((delta - (small["after"] - small["before"])) / (routers - 2) / mb)
        progress(
            f"memory, run {run + 1}/{runs}: {per_router[-1]:.2f} MB/router "
            f"(marginal {marginal[-1]:.2f} MB)"
        )
    for run in range(max(1, runs // 2)):
        traced_run = run_child(routers, trace=True, top=top if run == 0 else 0)
        traced.append(traced_run["traced"] / routers / mb)
    return [
        Figure(
            f"Memory per router, {routers} in one lab (RSS delta / {routers})",
            per_router,
            "MB",
            GOAL_MB,
        ),
        Figure(
            f"Memory per router, marginal ((RSS {routers} - RSS 2) / {routers - 2})", marginal, "MB"
        ),
        Figure(f"Memory per router, Python objects (tracemalloc / {routers})", traced, "MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs (3)")
    parser.add_argument("--routers", type=int, default=100, help="routers in the lab (100)")
    parser.add_argument("--top", type=int, default=0, help="show the top allocation sites")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        sys.path.insert(0, str(ROOT / "src"))
        print(json.dumps(child(args.child, args.trace, args.top)))
        return 0
    print(machine())
    print()
    print(table(measure(args.runs, args.routers, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
