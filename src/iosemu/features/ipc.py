"""The IPC zone and its SCTP association: the channel inter-device redundancy talks over.

```
ipc zone default
 association 1
  no shutdown
  protocol sctp
   local-port 5000
    local-ip 10.1.32.84
   remote-port 5000
    remote-ip 10.1.32.83
```

On IOS this is an SCTP association; here it is a message-framed, ordered, reliable
channel over a TCP stream of the lab between the configured endpoints. The side with the
lower local address dials, the other listens (SCTP would let both; one connection is what
matters). While the peer is absent the dialer retries every second; heartbeats every
second notice a peer that went away. ``shutdown``/``no shutdown`` tears the association
down and brings it up again, the guide's fix for stuck states.

Clients (the redundancy facility) send on numbered channels and get called back with the
peer's messages and with the association going up and down.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from iosemu.device.router import Feature, Router
from iosemu.features.tcp import TcpStack, TcpWriter
from iosemu.parser.grammar import CONFIG, command
from iosemu.session import Ctx, config_mode

log = logging.getLogger("iosemu.ipc")

RETRY = 1.0  # seconds between connection attempts
HEARTBEAT = 1.0
DEAD_AFTER = 3.5  # seconds without any message from the peer
MAX_MESSAGE = 1 << 22

MSG_HELLO, MSG_HEARTBEAT, MSG_DATA = 1, 2, 3

MessageHandler = Callable[[bytes], None]
StateHandler = Callable[[bool], None]


class ProtocolError(Exception):
    """The peer sent something that is not an IPC message."""


@dataclass(eq=False)
class Association:
    number: int
    shutdown: bool = True
    protocol: str | None = None
    local_port: int | None = None
    local_ip: IPv4Address | None = None
    remote_port: int | None = None
    remote_ip: IPv4Address | None = None
    # Run time.
    up: bool = False
    handlers: dict[int, MessageHandler] = field(default_factory=dict)
    state_handlers: list[StateHandler] = field(default_factory=list)
    _writer: TcpWriter | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def complete(self) -> bool:
        return None not in (self.local_port, self.local_ip, self.remote_port, self.remote_ip)

    def config_lines(self) -> list[str]:
        out = [f" association {self.number}", "  shutdown" if self.shutdown else "  no shutdown"]
        if self.protocol:
            out.append(f"  protocol {self.protocol}")
            if self.local_port is not None:
                out.append(f"   local-port {self.local_port}")
                if self.local_ip is not None:
                    out.append(f"    local-ip {self.local_ip}")
            if self.remote_port is not None:
                out.append(f"   remote-port {self.remote_port}")
                if self.remote_ip is not None:
                    out.append(f"    remote-ip {self.remote_ip}")
        return out

    def send(self, channel: int, payload: bytes) -> bool:
        """Queue a message for the peer; False when the association is down."""
        if not self.up or self._writer is None:
            return False
        try:
            self._writer.write(_frame(MSG_DATA, struct.pack("!H", channel) + payload))
        except OSError:
            # The connection broke and the reader has not noticed yet: as good as down.
            return False
        return True


def _frame(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("!IB", len(payload) + 1, kind) + payload


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = await reader.readexactly(4)
    (length,) = struct.unpack("!I", header)
    if not 1 <= length <= MAX_MESSAGE:
        raise ProtocolError(f"bad message length {length}")
    body = await reader.readexactly(length)
    return body[0], body[1:]


class Ipc(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.zone_configured = False
        self.associations: dict[int, Association] = {}
        self._running = False
        self._listening: set[int] = set()

    # --- configuration ---------------------------------------------------------------

    def config(self, slot: str) -> list[str]:
        if slot != "ipc" or not self.zone_configured:
            return []
        out = ["ipc zone default"]
        for number in sorted(self.associations):
            out += self.associations[number].config_lines()
        return [*out, "!"]

    def association(self, number: int) -> Association:
        if number not in self.associations:
            self.associations[number] = Association(number)
        return self.associations[number]

    # --- life cycle --------------------------------------------------------------------

    def started(self) -> None:
        self._running = True
        for assoc in self.associations.values():
            self.restart(assoc)

    def stopped(self) -> None:
        self._running = False
        for assoc in self.associations.values():
            self._stop(assoc)

    def restart(self, assoc: Association) -> None:
        """Tear the association down and, if configured to, bring it up again."""
        self._stop(assoc)
        if not self._running or assoc.shutdown or not assoc.complete:
            return
        assert assoc.local_ip is not None and assoc.remote_ip is not None
        assert assoc.local_port is not None
        tcp = self.router.feature(TcpStack)
        if assoc.local_ip < assoc.remote_ip:
            assoc._task = self.router.spawn(self._dial(assoc), f"ipc-assoc{assoc.number}")
        else:
            self._listening.add(assoc.local_port)
            tcp.listen(assoc.local_port, lambda r, w, a=assoc: self._accepted(a, r, w))

    def _stop(self, assoc: Association) -> None:
        if assoc._task is not None:
            assoc._task.cancel()
            assoc._task = None
        if assoc.local_port in self._listening:
            self.router.feature(TcpStack).unlisten(assoc.local_port)
            self._listening.discard(assoc.local_port)
        if assoc._writer is not None:
            assoc._writer.abort()
            assoc._writer = None
        self._set_up(assoc, False)

    def _set_up(self, assoc: Association, up: bool) -> None:
        if assoc.up == up:
            return
        assoc.up = up
        for handler in list(assoc.state_handlers):
            try:
                handler(up)
            except Exception:
                log.exception("%s: association state handler failed", self.router.name)

    def _current(self, assoc: Association) -> bool:
        """Whether the running task still serves ``assoc`` (it was not stopped meanwhile)."""
        return self._running and assoc._task is asyncio.current_task()

    async def _dial(self, assoc: Association) -> None:
        tcp = self.router.feature(TcpStack)
        assert assoc.remote_ip is not None and assoc.remote_port is not None
        # Python 3.11's wait_for can swallow the cancellation of _stop (a reload, shutdown)
        # when its inner await finished at the same instant: check, or this loop would dial
        # forever from a stopped router's TCP stack and reset the new one's connections.
        while self._current(assoc):
            try:
                # Both ends of an SCTP association use their configured ports. Each
                # attempt lasts one retry period, so a peer that appears is found soon.
                reader, writer = await asyncio.wait_for(
                    tcp.connect(
                        assoc.remote_ip, assoc.remote_port, assoc.local_ip, assoc.local_port
                    ),
                    RETRY,
                )
            except (OSError, TimeoutError):
                await asyncio.sleep(RETRY)
                continue
            if not self._current(assoc):
                writer.abort()
                return
            await self._serve(assoc, reader, writer)
            await asyncio.sleep(RETRY)

    def _accepted(
        self, assoc: Association, reader: asyncio.StreamReader, writer: TcpWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        local = writer.get_extra_info("sockname")
        expected = (str(assoc.remote_ip), assoc.remote_port)
        if peer != expected or local[0] != str(assoc.local_ip) or assoc._writer is not None:  # type: ignore[index]
            writer.abort()  # not our peer, or a second connection
            return
        assoc._task = self.router.spawn(
            self._serve(assoc, reader, writer), f"ipc-assoc{assoc.number}"
        )

    async def _serve(
        self, assoc: Association, reader: asyncio.StreamReader, writer: TcpWriter
    ) -> None:
        """Run one connection of the association until it breaks."""
        assoc._writer = writer
        heartbeat: asyncio.Task[None] | None = None
        try:
            # The peer may reset the connection before the greeting goes out (it reloads
            # just as we connect): a lost association like any other, so the dialer tries
            # again instead of dying with the error and leaving the pair Simplex for good.
            writer.write(_frame(MSG_HELLO, struct.pack("!H", assoc.number)))
            heartbeat = self.router.spawn(self._heartbeat(writer), "ipc-heartbeat")
            kind, body = await asyncio.wait_for(_read_frame(reader), DEAD_AFTER)
            if kind != MSG_HELLO or body != struct.pack("!H", assoc.number):
                raise ProtocolError("the peer did not greet for this association")
            self._set_up(assoc, True)
            while True:
                kind, body = await asyncio.wait_for(_read_frame(reader), DEAD_AFTER)
                if kind == MSG_DATA:
                    if len(body) < 2:
                        raise ProtocolError("short data message")
                    (channel,) = struct.unpack("!H", body[:2])
                    handler = assoc.handlers.get(channel)
                    if handler is not None:
                        handler(body[2:])
                elif kind != MSG_HEARTBEAT:
                    raise ProtocolError(f"unknown message type {kind}")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError) as e:
            log.info("%s: association %d lost: %s", self.router.name, assoc.number, e)
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            writer.abort()
            if assoc._writer is writer:
                assoc._writer = None
            self._set_up(assoc, False)

    async def _heartbeat(self, writer: TcpWriter) -> None:
        while not writer.is_closing():
            try:
                writer.write(_frame(MSG_HEARTBEAT))
            except OSError:
                return  # reset under us: _serve's read notices and ends the connection
            await asyncio.sleep(HEARTBEAT)


# --------------------------------------------------------------------------- commands

IPC_ZONE = config_mode("ipczone", "(config-ipczone)")
IPC_ASSOC = config_mode("ipczone-assoc", "(config-ipczone-assoc)", IPC_ZONE)
IPC_SCTP = config_mode("ipc-protocol-sctp", "(config-ipc-protocol-sctp)", IPC_ASSOC)
IPC_LOCAL = config_mode("ipc-local-sctp", "(config-ipc-local-sctp)", IPC_SCTP)
IPC_REMOTE = config_mode("ipc-remote-sctp", "(config-ipc-remote-sctp)", IPC_SCTP)


@command(
    CONFIG,
    "[no] ipc zone default",
    help="Configure IPC system|Configure IPC Zone|Default IPC Zone",
)
def ipc_zone(ctx: Ctx) -> None:
    ipc = ctx.feature(Ipc)
    if ctx.negate:
        for assoc in ipc.associations.values():
            ipc._stop(assoc)
        ipc.associations.clear()
        ipc.zone_configured = False
        return
    ipc.zone_configured = True
    ctx.enter(IPC_ZONE)


@command(
    IPC_ZONE,
    "[no] association <1-255>$number",
    help="Configure an association|Association ID",
    no_syntax="association <1-255>$number",
)
def association(ctx: Ctx, number: int) -> None:
    ipc = ctx.feature(Ipc)
    if ctx.negate:
        assoc = ipc.associations.pop(number, None)
        if assoc is not None:
            ipc._stop(assoc)
        return
    ctx.enter(IPC_ASSOC, ipc.association(number))


@command(IPC_ASSOC, "[no] shutdown", help="Shutdown the association")
def association_shutdown(ctx: Ctx) -> None:
    assoc: Association = ctx.context
    assoc.shutdown = not ctx.negate
    ctx.feature(Ipc).restart(assoc)


@command(
    IPC_ASSOC,
    "[no] protocol sctp",
    help="Configure the transport protocol|Stream Control Transmission Protocol",
)
def protocol_sctp(ctx: Ctx) -> None:
    assoc: Association = ctx.context
    if ctx.negate:
        assoc.protocol = None
        assoc.local_port = assoc.local_ip = assoc.remote_port = assoc.remote_ip = None
        ctx.feature(Ipc).restart(assoc)
        return
    assoc.protocol = "sctp"
    ctx.enter(IPC_SCTP, assoc)


@command(IPC_SCTP, "local-port <1-65535>$port", help="Local SCTP port|Local port number")
def local_port(ctx: Ctx, port: int) -> None:
    assoc: Association = ctx.context
    assoc.local_port = port
    ctx.feature(Ipc).restart(assoc)
    ctx.enter(IPC_LOCAL, assoc)


@command(IPC_SCTP, "remote-port <1-65535>$port", help="Remote SCTP port|Remote port number")
def remote_port(ctx: Ctx, port: int) -> None:
    assoc: Association = ctx.context
    assoc.remote_port = port
    ctx.feature(Ipc).restart(assoc)
    ctx.enter(IPC_REMOTE, assoc)


@command(IPC_LOCAL, "[no] local-ip A.B.C.D$address", help="Local IP address|Local IP address")
def local_ip(ctx: Ctx, address: IPv4Address | None = None) -> None:
    assoc: Association = ctx.context
    assoc.local_ip = None if ctx.negate else address
    ctx.feature(Ipc).restart(assoc)


@command(IPC_REMOTE, "[no] remote-ip A.B.C.D$address", help="Remote IP address|Remote IP address")
def remote_ip(ctx: Ctx, address: IPv4Address | None = None) -> None:
    assoc: Association = ctx.context
    assoc.remote_ip = None if ctx.negate else address
    ctx.feature(Ipc).restart(assoc)
