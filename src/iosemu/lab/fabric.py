"""The fabric: Ethernet segments that carry frames between routers' interfaces.

A segment is a switch: a frame sent by one port reaches every other port whose cable is in
and whose far end is listening, after a small latency (half a millisecond, so a LAN ping
reads ``1/1/1 ms`` as on the guide's routers). Faults live here too: pull a cable, cut a
segment into partitions, and a powered-off router's ports go deaf at once.

The in-process fabric is the default. The TCP fabric (lab/tcp.py) extends a segment to
ports of routers running in other processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("iosemu.fabric")

LATENCY = 0.0005  # seconds, one way

Receiver = Callable[[bytes], None]


@dataclass(eq=False)
class Port:
    """Where one router interface plugs into a segment."""

    router: str
    interface: str
    segment: Segment | None = None
    # What the interface does with a frame; None while the router is off.
    receiver: Receiver | None = None
    cabled: bool = True
    # Frames on their way to this port, in the order they were sent. (asyncio's timer heap
    # does not keep the order of timers due at the same instant; a wire does.)
    _inbox: deque[tuple[float, bytes]] = field(default_factory=deque)
    _draining: bool = False

    @property
    def name(self) -> str:
        return f"{self.router}:{self.interface}"

    def send(self, frame: bytes) -> None:
        if self.segment is not None and self.cabled:
            self.segment.transmit(self, frame)

    def arrive(self, loop: asyncio.AbstractEventLoop, frame: bytes, delay: float) -> None:
        """A frame reaches this port after ``delay``, behind the frames sent before it."""
        self._inbox.append((loop.time() + delay, frame))
        if not self._draining:
            self._draining = True
            loop.call_later(delay, self._drain, loop)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        while self._inbox and self._inbox[0][0] <= now + 1e-9:
            self.deliver(self._inbox.popleft()[1])
        if self._inbox:
            loop.call_later(self._inbox[0][0] - now, self._drain, loop)
        else:
            self._draining = False

    def deliver(self, frame: bytes) -> None:
        if self.cabled and self.receiver is not None:
            try:
                self.receiver(frame)
            except Exception:
                log.exception("%s: frame handling failed", self.name)


@dataclass(eq=False)
class Segment:
    name: str
    loop: asyncio.AbstractEventLoop
    ports: list[Port] = field(default_factory=list)
    # None: one broadcast domain; else the groups of port names that still hear each other.
    partitions: list[set[str]] | None = None
    # Frames to ports that live in other processes (the TCP fabric sets this).
    remote: Callable[[Port, bytes], None] | None = None
    frames: int = 0

    def attach(self, port: Port) -> None:
        port.segment = self
        self.ports.append(port)

    def _hears(self, a: Port, b: Port) -> bool:
        if self.partitions is None:
            return True
        return any(a.name in group and b.name in group for group in self.partitions)

    def transmit(self, src: Port, frame: bytes) -> None:
        self.frames += 1
        self.flood(src, frame)
        if self.remote is not None:
            self.remote(src, frame)

    def flood(self, src: Port, frame: bytes) -> None:
        """Deliver to the ports that hear ``src`` (those of other processes have no receiver;
        the TCP fabric calls this with frames that arrive from them)."""
        for port in self.ports:
            if port is not src and self._hears(src, port):
                port.arrive(self.loop, frame, LATENCY)

    def partition(self, groups: list[list[str]]) -> None:
        """Split the segment: only ports in the same group hear each other."""
        known = {p.name for p in self.ports}
        for group in groups:
            for name in group:
                if name not in known:
                    raise KeyError(f"no port {name} on segment {self.name}")
        self.partitions = [set(g) for g in groups]

    def heal(self) -> None:
        self.partitions = None


class Fabric:
    """All segments of a lab, and the port of every cabled interface."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.segments: list[Segment] = []
        self.ports: dict[tuple[str, str], Port] = {}

    def add_segment(self, endpoints: list[tuple[str, str]]) -> Segment:
        segment = Segment(f"segment{len(self.segments) + 1}", self.loop)
        for router, interface in endpoints:
            port = Port(router, interface)
            segment.attach(port)
            self.ports[(router, interface)] = port
        self.segments.append(segment)
        return segment

    def port(self, router: str, interface: str) -> Port | None:
        return self.ports.get((router, interface))

    def segment_of(self, router: str, interface: str) -> Segment | None:
        port = self.port(router, interface)
        return port.segment if port else None
