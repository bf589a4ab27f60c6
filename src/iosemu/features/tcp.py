"""TCP on the router's IP stack: ordered, reliable byte streams between ``IP:port`` endpoints.

Streams ride in IP packets on the segments like everything else, so they follow addresses
where they go: a connection to an HSRP virtual IP reaches whichever router is Active, and
breaks (reset) when the address moves. The implementation is the small part of TCP a lab
needs: three-way handshake, cumulative ACKs, go-back-N retransmission on the lab clock
(frames are lost while ARP resolves, or when a cable is pulled), FIN and RST. Applications
get asyncio's ``StreamReader`` and a writer with the usual ``write``/``drain``/``close``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from iosemu.device.router import Feature, Router
from iosemu.features.ip import Ip
from iosemu.lab.packets import PROTO_TCP, Ethernet, IPv4, Tcp

log = logging.getLogger("iosemu.tcp")

MSS = 1460
RTO = 1.0  # seconds before the first retransmission
MAX_RTO = 8.0
MAX_RETRIES = 6  # about half a minute before a silent peer counts as gone
WINDOW = 256 * 1024  # bytes a writer may have in flight before drain() waits
EPHEMERAL = 11000  # IOS picks local ports from here up

Key = tuple[IPv4Address, int, IPv4Address, int]  # local ip, local port, remote ip, remote port
Acceptor = Callable[[asyncio.StreamReader, "TcpWriter"], None]


class TcpWriter:
    """The sending half of a connection, shaped like ``asyncio.StreamWriter``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def write(self, data: bytes) -> None:
        self._conn.send(data)

    async def drain(self) -> None:
        await self._conn.drained()

    def close(self) -> None:
        self._conn.close()

    def is_closing(self) -> bool:
        return self._conn.state in ("fin-wait", "closed")

    async def wait_closed(self) -> None:
        await self._conn.closed

    def abort(self) -> None:
        self._conn.abort()

    def get_extra_info(self, name: str, default: object = None) -> object:
        if name == "peername":
            return (str(self._conn.key[2]), self._conn.key[3])
        if name == "sockname":
            return (str(self._conn.key[0]), self._conn.key[1])
        return default


@dataclass(eq=False)
class Connection:
    tcp: TcpStack
    key: Key
    snd_nxt: int
    rcv_nxt: int = 0
    state: str = "syn-sent"  # syn-sent, syn-rcvd, established, fin-wait, closed
    snd_una: int = 0
    unacked: list[tuple[int, int, bytes]] = field(default_factory=list)  # (seq, flags, data)
    retries: int = 0
    rto: float = RTO
    timer: asyncio.TimerHandle | None = None
    reader: asyncio.StreamReader = field(default_factory=asyncio.StreamReader)
    established: asyncio.Future[None] | None = None
    closed: asyncio.Future[None] | None = None
    peer_fin: bool = False
    acceptor: Acceptor | None = None
    _space: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        loop = self.tcp.router.loop
        self.snd_una = self.snd_nxt
        self.established = loop.create_future()
        self.closed = loop.create_future()
        self._space.set()

    # --- sending -------------------------------------------------------------------

    def _segment(self, seq: int, flags: int, data: bytes = b"") -> None:
        local_ip, local_port, remote_ip, remote_port = self.key
        ack = self.rcv_nxt if flags & Tcp.ACK else 0
        seg = Tcp(local_port, remote_port, seq, ack, flags, data)
        self.tcp.ip.send_ip(IPv4(local_ip, remote_ip, PROTO_TCP, seg.encode()))

    def _queue(self, flags: int, data: bytes = b"") -> None:
        """Send something that takes sequence space and must be acknowledged."""
        seq = self.snd_nxt
        length = len(data) + (1 if flags & (Tcp.SYN | Tcp.FIN) else 0)
        self.snd_nxt += length
        self.unacked.append((seq, flags, data))
        self._segment(seq, flags, data)
        if self.timer is None:
            self._arm()

    def send(self, data: bytes) -> None:
        if self.state != "established":
            raise ConnectionResetError("connection is not open")
        for i in range(0, len(data), MSS):
            self._queue(Tcp.ACK | Tcp.PSH, data[i : i + MSS])
        if self.snd_nxt - self.snd_una > WINDOW:
            self._space.clear()

    async def drained(self) -> None:
        if self.state == "closed":
            raise ConnectionResetError("connection closed")
        await self._space.wait()

    def close(self) -> None:
        if self.state in ("established", "syn-rcvd"):
            self.state = "fin-wait"
            self._queue(Tcp.FIN | Tcp.ACK)
        elif self.state == "syn-sent":
            self.abort()

    def abort(self) -> None:
        if self.state != "closed":
            self._segment(self.snd_nxt, Tcp.RST)
        self._finish(ConnectionResetError("connection aborted"))

    # --- timers --------------------------------------------------------------------

    def _arm(self) -> None:
        self.timer = self.tcp.router.call_later(self.rto, self._retransmit)

    def _retransmit(self) -> None:
        self.timer = None
        if not self.unacked or self.state == "closed":
            return
        self.retries += 1
        if self.retries > MAX_RETRIES:
            self._finish(TimeoutError("connection timed out"))
            return
        for seq, flags, data in self.unacked:
            self._segment(seq, flags, data)
        self.rto = min(self.rto * 2, MAX_RTO)
        self._arm()

    # --- receiving -----------------------------------------------------------------

    def receive(self, seg: Tcp) -> None:
        if seg.flags & Tcp.RST:
            self._finish(
                ConnectionRefusedError("connection refused")
                if self.state == "syn-sent"
                else ConnectionResetError("connection reset by peer")
            )
            return
        if seg.flags & Tcp.ACK:
            self._acked(seg.ack)
        if self.state == "syn-sent":
            if seg.flags & Tcp.SYN and seg.flags & Tcp.ACK:
                self.rcv_nxt = seg.seq + 1
                self.state = "established"
                self._segment(self.snd_nxt, Tcp.ACK)
                self._resolve(self.established)
            return
        if self.state == "syn-rcvd" and seg.flags & Tcp.ACK and not self.unacked:
            self.state = "established"
            self._resolve(self.established)
            if self.acceptor is not None:
                self.acceptor(self.reader, TcpWriter(self))
        if seg.flags & Tcp.SYN:
            self._segment(self.snd_nxt, Tcp.ACK)  # a repeated SYN: our SYN-ACK was lost
            return
        if seg.payload or seg.flags & Tcp.FIN:
            if seg.seq != self.rcv_nxt:
                self._segment(self.snd_nxt, Tcp.ACK)  # out of order: say what we expect
                return
            if seg.payload:
                self.rcv_nxt += len(seg.payload)
                self.reader.feed_data(seg.payload)
            if seg.flags & Tcp.FIN and not self.peer_fin:
                self.rcv_nxt += 1
                self.peer_fin = True
                self.reader.feed_eof()
                if self.state == "established":
                    self.close()  # answer the close with our own FIN
            self._segment(self.snd_nxt, Tcp.ACK)
        if self.peer_fin and self.state == "fin-wait" and not self.unacked:
            self._finish(None)

    def _acked(self, ack: int) -> None:
        if not self.snd_una < ack <= self.snd_nxt:
            return
        self.snd_una = ack
        self.unacked = [
            u
            for u in self.unacked
            if u[0] + len(u[2]) + (1 if u[1] & (Tcp.SYN | Tcp.FIN) else 0) > ack
        ]
        self.retries = 0
        self.rto = RTO
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.unacked:
            self._arm()
        if self.snd_nxt - self.snd_una <= WINDOW:
            self._space.set()

    def _resolve(self, fut: asyncio.Future[None] | None) -> None:
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _finish(self, error: BaseException | None) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.unacked.clear()
        self._space.set()
        if error is not None:
            self.reader.set_exception(error)
            if self.established is not None and not self.established.done():
                self.established.set_exception(error)
                self.established.exception()  # retrieved: nobody may be waiting
        else:
            self.reader.feed_eof()
        self._resolve(self.closed)
        self.tcp.connections.pop(self.key, None)


class TcpStack(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.connections: dict[Key, Connection] = {}
        self.listeners: dict[int, Acceptor] = {}
        self._isn = itertools.count(0x1000, 0x10000)
        self._ports = itertools.count(EPHEMERAL)

    @property
    def ip(self) -> Ip:
        return self.router.feature(Ip)

    def started(self) -> None:
        self.ip.protocol_handlers[PROTO_TCP] = self._receive

    def stopped(self) -> None:
        for conn in list(self.connections.values()):
            conn._finish(ConnectionResetError("router stopped"))

    def listen(self, port: int, acceptor: Acceptor) -> None:
        """Accept connections to ``port`` on any local address (the VIP included)."""
        self.listeners[port] = acceptor

    def unlisten(self, port: int) -> None:
        self.listeners.pop(port, None)

    async def connect(
        self,
        remote: IPv4Address,
        port: int,
        source: IPv4Address | None = None,
        source_port: int | None = None,
    ) -> tuple[asyncio.StreamReader, TcpWriter]:
        """Open a connection; raises ConnectionRefusedError, TimeoutError or OSError."""
        local = source or self.ip.source_for(remote)
        if local is None:
            raise OSError("no route to host")
        key = (local, source_port or self._free_port(local, remote, port), remote, port)
        if key in self.connections:
            raise OSError("address already in use")
        conn = Connection(self, key, next(self._isn))
        self.connections[key] = conn
        conn._queue(Tcp.SYN)
        assert conn.established is not None
        try:
            await asyncio.shield(conn.established)
        except asyncio.CancelledError:
            conn.abort()  # the caller gave up waiting: forget the half-open connection
            raise
        return conn.reader, TcpWriter(conn)

    def _free_port(self, local: IPv4Address, remote: IPv4Address, port: int) -> int:
        while True:
            candidate = next(self._ports)
            if candidate > 65535:
                self._ports = itertools.count(EPHEMERAL)
                continue
            if (local, candidate, remote, port) not in self.connections:
                return candidate

    def _receive(self, interface: str, eth: Ethernet, packet: IPv4) -> None:
        seg = Tcp.decode(packet.payload)
        key = (packet.dst, seg.dst_port, packet.src, seg.src_port)
        conn = self.connections.get(key)
        if conn is not None:
            conn.receive(seg)
            return
        if seg.flags & Tcp.RST:
            return
        acceptor = self.listeners.get(seg.dst_port)
        if acceptor is None or not seg.flags & Tcp.SYN or seg.flags & Tcp.ACK:
            # Nobody here: refuse, so the other end learns at once.
            ack = seg.seq + len(seg.payload) + (1 if seg.flags & (Tcp.SYN | Tcp.FIN) else 0)
            reply = Tcp(seg.dst_port, seg.src_port, seg.ack, ack, Tcp.RST | Tcp.ACK)
            self.ip.send_ip(IPv4(packet.dst, packet.src, PROTO_TCP, reply.encode()))
            return
        conn = Connection(self, key, next(self._isn), rcv_nxt=seg.seq + 1, state="syn-rcvd")
        conn.acceptor = acceptor
        self.connections[key] = conn
        conn._queue(Tcp.SYN | Tcp.ACK)
