"""``iosemu node NAME [LAB]``: one router of a lab in this process, joined by the TCP fabric.

Start every router of a lab this way (same lab file, same state directory) and they behave
as in one ``iosemu lab`` process: each serves its console on its usual port (console-base
+ i), listens on its fabric port (fabric-base + i) and exchanges frames with the routers it
shares a segment with (lab/tcp.py). Killing a node's process is pulling its power cord;
starting it again boots it from its NVRAM.

The clock. Routers in separate processes must agree on the lab's calendar. Real time needs
no help, but a scaled clock (and a lab file's ``start:``) does: lab time 0 must be one
instant for all. The first node to start writes ``<state>/clock-anchor``::

    {"clock": "scaled", "speed": 10.0, "wall": 1732690000.25,
     "epoch": "2010-06-03T01:38:00+00:00", "written-by": "CA-server-1"}

meaning "lab time 0 was Unix time ``wall`` and showed calendar ``epoch``"; every node then
reads the calendar as ``epoch + (now - wall) * speed``. "First" is decided with two flock
locks, not with pids: every running node holds ``nodes.live`` shared, so a starting node
that can take it exclusively is alone and writes a fresh anchor (an old one belongs to a
stopped lab); ``clock-anchor.lock`` makes that check-and-write one step between nodes that
start together. A node started without ``--clock``/``--speed`` adopts the running lab's
clock; one that asks for a different clock is refused. The virtual clock is refused: it
jumps ahead whenever its own process is idle, which another process cannot follow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iosemu.api import Lab, default_state_root
from iosemu.cli import lab_spec
from iosemu.lab.tcp import TcpFabric
from iosemu.serve import node_run_file, remove_run_file, serve_lab

ANCHOR_FILE = "clock-anchor"
ANCHOR_LOCK = "clock-anchor.lock"  # held exclusively while a node checks or writes the anchor
LIVE_LOCK = "nodes.live"  # held shared by every running node of the lab


class AnchorError(Exception):
    """This node cannot join the lab's clock; the message says why and what to do."""


@dataclass(frozen=True)
class ClockAnchor:
    clock: str
    speed: float
    wall: float  # Unix time at lab time 0
    epoch: datetime  # the lab's calendar at lab time 0
    written_by: str = ""

    def calendar_at(self, wall: float) -> datetime:
        return self.epoch + timedelta(seconds=(wall - self.wall) * self.speed)

    def to_json(self) -> str:
        data = {
            "clock": self.clock,
            "speed": self.speed,
            "wall": self.wall,
            "epoch": self.epoch.isoformat(),
            "written-by": self.written_by,
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ClockAnchor:
        data = json.loads(text)
        return cls(
            str(data["clock"]),
            float(data["speed"]),
            float(data["wall"]),
            datetime.fromisoformat(data["epoch"]),
            str(data.get("written-by", "")),
        )


def _describe(clock: str, speed: float) -> str:
    return f"the scaled clock at {speed:g}x" if clock == "scaled" else f"the {clock} clock"


ClockChoice = tuple[str, float]  # ("real", 1.0) or ("scaled", speed)


def join_clock(
    state: Path,
    node: str,
    wanted: ClockChoice | None,
    default: ClockChoice = ("real", 1.0),
    start: datetime | None = None,
) -> tuple[ClockAnchor, int]:
    """The lab's clock anchor, written if this node is the first; and the open ``nodes.live``
    descriptor, whose shared lock says "a node runs" until the process ends (keep it open).

    ``wanted``: the clock asked for on the command line, which a running lab must have;
    None joins whatever clock it has. A first node uses ``wanted``, else ``default``."""
    state.mkdir(parents=True, exist_ok=True)
    live = os.open(state / LIVE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    mutex = os.open(state / ANCHOR_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(mutex, fcntl.LOCK_EX)
        try:
            fcntl.flock(live, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        path = state / ANCHOR_FILE
        if alone:
            mode, rate = wanted or default
            wall = time.time()
            epoch = start or datetime.fromtimestamp(wall, UTC)
            anchor = ClockAnchor(mode, rate, wall, epoch, node)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(anchor.to_json())
            tmp.replace(path)
        else:
            try:
                anchor = ClockAnchor.from_json(path.read_text())
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise AnchorError(
                    f"other nodes of this lab are running but {path} is unreadable ({e}); "
                    "stop them and start again"
                ) from None
            if wanted is not None:
                mode, rate = wanted
                if mode != anchor.clock or not math.isclose(rate, anchor.speed):
                    raise AnchorError(
                        f"the lab runs on {_describe(anchor.clock, anchor.speed)} "
                        f"(anchored by {anchor.written_by or 'another node'} in {path}); "
                        f"start {node} without --clock/--speed to join it"
                    )
        fcntl.flock(live, fcntl.LOCK_SH)
    except BaseException:
        os.close(live)
        raise
    finally:
        fcntl.flock(mutex, fcntl.LOCK_UN)
        os.close(mutex)
    return anchor, live


def run_node(args: argparse.Namespace) -> int:
    spec = lab_spec(args.lab)
    if spec is None:
        return 2
    name = args.router
    names = [n.name for n in spec.nodes]
    if name not in names:
        print(f"iosemu: no router {name} in lab {spec.name} ({', '.join(names)})", file=sys.stderr)
        return 2
    spec.set_bases(args.console_base, args.fabric_base, args.ssh_base, args.telnet_base)
    # The command line's clock must be the running lab's; the lab file's is only a default.
    wanted: ClockChoice | None = None
    mode = args.clock or ("scaled" if args.speed else None)
    if mode is not None:
        wanted = (mode, (args.speed or spec.speed) if mode == "scaled" else 1.0)
    default_mode = spec.clock or "real"
    if default_mode == "virtual" and wanted is None:
        print(
            f"iosemu: lab {spec.name} asks for the virtual clock, which cannot be shared between "
            "processes; run its nodes with --clock real, or --clock scaled --speed N",
            file=sys.stderr,
        )
        return 2
    default = (default_mode, spec.speed if default_mode == "scaled" else 1.0)
    state = Path(args.state) if args.state else default_state_root() / spec.name
    if args.fresh:
        shutil.rmtree(state / name, ignore_errors=True)
    try:
        anchor, _live = join_clock(state, name, wanted, default, spec.start)
    except AnchorError as e:
        print(f"iosemu: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(
        filename=str(state / "lab.log"),
        level=logging.INFO,
        format=f"%(asctime)s {name} %(name)s %(levelname)s %(message)s",
    )
    # Lab time 0 of this process is now: its calendar there is the anchor's reading of now.
    spec.start = anchor.calendar_at(time.time())
    lab = Lab(
        spec,
        clock=anchor.clock,  # type: ignore[arg-type]
        speed=anchor.speed,
        state_dir=state,
        local_nodes=[name],
        boot_delay=args.boot_delay,
    )
    fabric = TcpFabric(spec, lab.fabric, name)
    run_file = node_run_file(name)

    async def main() -> None:
        try:
            await fabric.start()
        except OSError as e:
            print(f"iosemu: cannot open fabric port {fabric.port}: {e.strerror}", file=sys.stderr)
            raise SystemExit(1) from None
        extra: dict[str, object] = {
            "node": name,
            "fabric": {"host": fabric.host, "port": fabric.port},
        }
        try:
            servers = await serve_lab(lab, run_file=run_file, extra=extra)
        except OSError as e:
            await fabric.close()
            print(f"iosemu: cannot open the router's ports: {e.strerror}", file=sys.stderr)
            raise SystemExit(1) from None
        lab.router(name).power_on()
        print(f"Node {name} of lab {spec.name} ({_describe(anchor.clock, anchor.speed)})")
        print(f"State in {state}, log in {state / 'lab.log'}")
        for console, ssh, telnet in zip(
            *map(servers.ports, ("consoles", "ssh", "telnet")), strict=True
        ):
            print(f"Console  telnet {console.host} {console.port}")
            print(f"SSH      ssh -p {ssh.port} {ssh.host}")
            print(f"Telnet   telnet {telnet.host} {telnet.port} (vty lines)")
        print(f"Fabric   {fabric.host}:{fabric.port}")
        for peer in sorted(fabric.peers, key=fabric.index.__getitem__):
            print(f"Peer     {peer} at {fabric.host}:{spec.fabric_port(peer)}")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await servers.close()
        await fabric.close()

    try:
        lab.run(main())
    finally:
        remove_run_file(lab, run_file)
        lab.close()
    return 0
