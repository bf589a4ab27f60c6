"""The TCP fabric: segments that span processes, for labs run as one process per router.

``iosemu node`` runs one router of a lab file. Every process builds the whole fabric from
the same file (so segment *i* and port ``router:interface`` mean the same everywhere), but
only its own router's ports have a receiver. This module joins the processes: each node
listens on its fabric port on 127.0.0.1 and keeps one TCP connection to every node it
shares a segment with. A frame one of its ports sends goes, besides the local ports, once
to each peer with a port that hears it; the peer floods it to its own ports on that segment
as if it had been sent there.

Who connects: the node that comes first in the lab file dials, the other accepts, so two
peers never hold two connections. A dialer whose peer is absent redials with backoff
(50 ms doubling to 1 s); a node that accepts just waits. When a connection drops (the peer
was killed), the peer's ports fall silent, exactly as a powered-off router's would.

The wire protocol (all integers big-endian)::

    message = length:u32  type:u8  body          length counts type + body, 1..MAX_MESSAGE
    HELLO   = magic "IOSF"  version:u16  lab-digest:8 bytes
              lab-len:u8 lab-name  node-len:u8 node-name
    FRAME   = segment:u16  port-len:u8 port-name  ethernet-frame (14..MAX_FRAME bytes)
    CLOSE   = reason (UTF-8, at most MAX_REASON bytes)

Both ends send HELLO first and check the other's: same protocol version, same lab name,
same lab digest (a hash of the node order and the links, which give segment indices and
MACs their meaning), a node that shares a segment with us, and the one we expected. A
mismatch is logged and answered with CLOSE and its reason, which the other end logs too.

Malformed input never reaches a router and never stops a node (decision 8): a length out
of bounds or a stream that does not start with a valid HELLO is logged and the connection
closed (there is no resynchronising a byte stream); a well-framed message of an unknown
type, a FRAME for a segment the peer has no port on, from a port that is not the peer's,
or with a runt or oversize frame, is dropped and logged and the connection kept. Drops are
logged five times per connection and counted after that, so a flood cannot fill the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import struct
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from iosemu.lab.fabric import Fabric, Port, Segment
from iosemu.lab.topology import LabSpec

log = logging.getLogger("iosemu.fabric.tcp")

PROTOCOL_VERSION = 1
MAGIC = b"IOSF"
HELLO, FRAME, CLOSE = 1, 2, 3

# Hard limits. An IPv4 packet is at most 65535 bytes, so no Ethernet frame is bigger than this.
MAX_FRAME = 14 + 65535
MIN_FRAME = 14
MAX_NAME = 255
MAX_REASON = 1024
MAX_MESSAGE = 1 + 2 + 1 + MAX_NAME + MAX_FRAME
# Bytes queued to a peer that does not read (a stopped process) before frames are dropped.
MAX_BACKLOG = 4 * 1024 * 1024

HELLO_TIMEOUT = 10.0  # real seconds for the peer's HELLO
BACKOFF_MIN = 0.05  # real seconds between dials while a peer is absent, doubling...
BACKOFF_MAX = 1.0  # ...up to this
BACKOFF_REJECTED = 5.0  # after a peer refused our HELLO: it will not change its mind soon
LOGGED_DROPS = 5  # per connection; later drops are only counted

_LENGTH = struct.Struct("!I")
_HELLO_HEAD = struct.Struct("!4sH8s")
_FRAME_HEAD = struct.Struct("!HB")


class ProtocolError(Exception):
    """Bytes from a peer that break the fabric protocol; the message says how."""


# --------------------------------------------------------------------------- encoding


def message(kind: int, body: bytes) -> bytes:
    if 1 + len(body) > MAX_MESSAGE:
        raise ProtocolError(f"message of {1 + len(body)} bytes exceeds {MAX_MESSAGE}")
    return _LENGTH.pack(1 + len(body)) + bytes([kind]) + body


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One message; ``ProtocolError`` for an impossible length (the stream is then lost)."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if not 1 <= length <= MAX_MESSAGE:
        raise ProtocolError(f"message length {length} out of bounds (1..{MAX_MESSAGE})")
    data = await reader.readexactly(length)
    return data[0], data[1:]


def _name(text: str, what: str) -> bytes:
    raw = text.encode()
    if len(raw) > MAX_NAME:
        raise ProtocolError(f"{what} longer than {MAX_NAME} bytes")
    return bytes([len(raw)]) + raw


def _take_name(body: bytes, at: int, what: str) -> tuple[str, int]:
    if at >= len(body):
        raise ProtocolError(f"{what} missing")
    end = at + 1 + body[at]
    if end > len(body):
        raise ProtocolError(f"{what} runs past the end of the message")
    try:
        return body[at + 1 : end].decode(), end
    except UnicodeDecodeError:
        raise ProtocolError(f"{what} is not UTF-8") from None


@dataclass(frozen=True)
class Hello:
    lab: str
    node: str
    digest: bytes
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        head = _HELLO_HEAD.pack(MAGIC, self.version, self.digest)
        return message(HELLO, head + _name(self.lab, "lab name") + _name(self.node, "node name"))

    @classmethod
    def decode(cls, body: bytes) -> Hello:
        if len(body) < _HELLO_HEAD.size:
            raise ProtocolError("short HELLO")
        magic, version, digest = _HELLO_HEAD.unpack_from(body)
        if magic != MAGIC:
            raise ProtocolError("HELLO without the IOSF magic: not an iosemu fabric peer")
        if version != PROTOCOL_VERSION:
            # A later version may lay the rest out differently: stop reading here.
            return cls("", "", digest, version)
        lab, at = _take_name(body, _HELLO_HEAD.size, "lab name")
        node, at = _take_name(body, at, "node name")
        if at != len(body):
            raise ProtocolError("trailing bytes after HELLO")
        return cls(lab, node, digest, version)


def encode_frame(segment: int, port: str, frame: bytes) -> bytes:
    if not MIN_FRAME <= len(frame) <= MAX_FRAME:
        raise ProtocolError(f"frame of {len(frame)} bytes (allowed {MIN_FRAME}..{MAX_FRAME})")
    raw = port.encode()
    if len(raw) > MAX_NAME:
        raise ProtocolError("port name too long")
    return message(FRAME, _FRAME_HEAD.pack(segment, len(raw)) + raw + frame)


def decode_frame(body: bytes) -> tuple[int, str, bytes]:
    if len(body) < _FRAME_HEAD.size:
        raise ProtocolError("short FRAME")
    (segment,) = struct.unpack_from("!H", body)
    port, at = _take_name(body, 2, "port name")
    frame = body[at:]
    if not MIN_FRAME <= len(frame) <= MAX_FRAME:
        raise ProtocolError(f"frame of {len(frame)} bytes (allowed {MIN_FRAME}..{MAX_FRAME})")
    return segment, port, frame


def close_message(reason: str) -> bytes:
    return message(CLOSE, reason.encode()[:MAX_REASON])


def lab_digest(spec: LabSpec) -> bytes:
    """What two processes must agree on for segment indices and MACs to mean the same."""
    shape = {
        "lab": spec.name,
        "nodes": [n.name for n in spec.nodes],
        "links": [[list(ep) for ep in link.endpoints] for link in spec.links],
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).digest()[:8]


# --------------------------------------------------------------------------- connections


@dataclass(eq=False)
class _Link:
    """An established connection to one peer node."""

    peer: str
    where: str
    writer: asyncio.StreamWriter
    dropped_in: int = 0
    dropped_out: int = 0
    frames_in: int = 0
    frames_out: int = 0
    reason: str = "connection closed"

    def send(self, data: bytes) -> None:
        if self.writer.is_closing():
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            # A peer that stopped reading is a congested wire: frames are lost, not queued.
            self.dropped_out += 1
            if self.dropped_out == 1:
                log.warning("fabric: %s is not reading; dropping frames to it", self.peer)
            return
        self.frames_out += 1
        self.writer.write(data)

    def drop(self, why: str) -> None:
        self.dropped_in += 1
        if self.dropped_in <= LOGGED_DROPS:
            log.warning("fabric: dropped a message from %s (%s): %s", self.peer, self.where, why)
        if self.dropped_in == LOGGED_DROPS:
            log.warning("fabric: further drops from %s are counted, not logged", self.peer)


class TcpFabric:
    """Joins this process's part of a lab's fabric to the nodes running the other parts."""

    def __init__(self, spec: LabSpec, fabric: Fabric, node: str, host: str = "127.0.0.1") -> None:
        if getattr(fabric.loop, "mode", "real") == "virtual":
            # Virtual time jumps when this process is idle; another process cannot follow.
            raise ValueError("the TCP fabric needs the real or a scaled clock")
        self.spec = spec
        self.fabric = fabric
        self.node = node
        self.host = host
        self.loop = fabric.loop
        # Peers we hold an established connection to.
        self.links: dict[str, _Link] = {}
        self.index = {n.name: i for i, n in enumerate(self.spec.nodes)}
        if self.node not in self.index:
            raise KeyError(self.node)
        self.digest = lab_digest(self.spec)
        self.hello = Hello(self.spec.name, self.node, self.digest).encode()
        self.segment_index = {id(s): i for i, s in enumerate(self.fabric.segments)}
        self.peers: set[str] = set()
        for segment in self.fabric.segments:
            routers = {p.router for p in segment.ports}
            if self.node in routers and len(routers) > 1:
                self.peers |= routers - {self.node}
                segment.remote = self._forward
        self.server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def port(self) -> int:
        return self.spec.fabric_port(self.node)

    def dials(self, peer: str) -> bool:
        """The node earlier in the lab file dials; the later one accepts."""
        return self.index[self.node] < self.index[peer]

    def _real(self, seconds: float) -> float:
        """Lab seconds that last ``seconds`` of real time (a scaled clock runs faster)."""
        return seconds * float(getattr(self.loop, "speed", 1.0))

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = self.loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on our fabric port and start dialing the peers we dial (OSError if taken)."""
        self.server = await asyncio.start_server(self._accepted, self.host, self.port)
        log.info(
            "fabric: %s listening on %s:%d; peers %s",
            self.node,
            self.host,
            self.port,
            ", ".join(sorted(self.peers, key=self.index.__getitem__)) or "none",
        )
        for peer in sorted(self.peers, key=self.index.__getitem__):
            if self.dials(peer):
                self._spawn(self._dial(peer), f"fabric:dial:{peer}")

    async def close(self) -> None:
        self._closing = True
        if self.server is not None:
            self.server.close()
        for link in list(self.links.values()):
            link.send(close_message(f"{self.node} is shutting down"))
            link.reason = "we shut down"
            with contextlib.suppress(Exception):
                link.writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), self._real(2.0))

    # --- frames --------------------------------------------------------------------------

    def _forward(self, src: Port, frame: bytes) -> None:
        """A local port sent ``frame``: pass it once to each peer with a port that hears it."""
        segment = src.segment
        if segment is None or src.router != self.node:
            return
        peers = {
            p.router for p in segment.ports if p.router != self.node and segment._hears(src, p)
        }
        if not peers:
            return
        try:
            data = encode_frame(self.segment_index[id(segment)], src.name, frame)
        except ProtocolError as e:
            log.warning("fabric: %s: not sent: %s", src.name, e)
            return
        for peer in peers:
            link = self.links.get(peer)
            if link is not None:
                link.send(data)

    def _receive(self, link: _Link, body: bytes) -> None:
        try:
            index, port_name, frame = decode_frame(body)
        except ProtocolError as e:
            link.drop(str(e))
            return
        if index >= len(self.fabric.segments):
            link.drop(f"FRAME for segment {index}, the lab has {len(self.fabric.segments)}")
            return
        segment: Segment = self.fabric.segments[index]
        src = next(
            (p for p in segment.ports if p.name == port_name and p.router == link.peer), None
        )
        if src is None:
            link.drop(f"FRAME from {port_name!r}, not a port of {link.peer} on {segment.name}")
            return
        link.frames_in += 1
        segment.flood(src, frame)

    # --- connections ---------------------------------------------------------------------

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._session(reader, writer, expect=None)
        except Exception:
            # Whatever a peer sends, the node goes on serving.
            log.exception("fabric: connection handling failed")
            writer.close()

    async def _dial(self, peer: str) -> None:
        port = self.spec.fabric_port(peer)
        delay = BACKOFF_MIN
        waiting = False
        last_refusal = ""
        while not self._closing:
            try:
                reader, writer = await asyncio.open_connection(self.host, port)
            except OSError as e:
                if not waiting:
                    log.info(
                        "fabric: %s waiting for %s at %s:%d (%s)",
                        self.node,
                        peer,
                        self.host,
                        port,
                        os.strerror(e.errno) if e.errno else e,
                    )
                    waiting = True
            else:
                waiting = False
                try:
                    outcome = await self._session(reader, writer, expect=peer, quiet=last_refusal)
                except Exception:
                    log.exception("fabric: connection to %s failed", peer)
                    writer.close()
                    outcome = "internal error"
                if outcome is None:
                    delay, last_refusal = BACKOFF_MIN, ""
                    continue  # it was up: try again at once, it may only have restarted
                last_refusal = outcome
                await asyncio.sleep(self._real(BACKOFF_REJECTED))
                delay = BACKOFF_MAX
                continue
            await asyncio.sleep(self._real(delay))
            delay = min(delay * 2, BACKOFF_MAX)

    def _check(self, hello: Hello, expect: str | None) -> str | None:
        """Why we refuse this peer, or None."""
        if hello.version != PROTOCOL_VERSION:
            return f"fabric protocol version {hello.version}, {self.node} speaks {PROTOCOL_VERSION}"
        if hello.lab != self.spec.name:
            return f"node of lab {hello.lab!r}, this is lab {self.spec.name!r}"
        if hello.digest != self.digest:
            return f"lab file of {hello.node} differs (nodes or links) from {self.node}'s"
        if expect is not None and hello.node != expect:
            return f"expected {expect} on port {self.spec.fabric_port(expect)}, found {hello.node}"
        if hello.node not in self.index:
            return f"no node {hello.node} in lab {self.spec.name}"
        if hello.node == self.node:
            return f"{hello.node} is this node (is it running twice?)"
        if hello.node not in self.peers:
            return f"{hello.node} shares no segment with {self.node}"
        if expect is None and self.dials(hello.node):
            return f"{self.node} dials {hello.node}, not the other way round"
        return None

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expect: str | None
    ) -> Hello | str:
        """The peer's HELLO, or why there is none."""
        writer.write(self.hello)
        try:
            kind, body = await asyncio.wait_for(read_message(reader), self._real(HELLO_TIMEOUT))
            if kind == CLOSE:
                return "refused: " + body[:MAX_REASON].decode(errors="replace")
            if kind != HELLO:
                raise ProtocolError(f"expected HELLO, got message type {kind}")
            hello = Hello.decode(body)
        except ProtocolError as e:
            return f"protocol error: {e}"
        except TimeoutError:
            return f"no HELLO within {HELLO_TIMEOUT:g} s"
        except (asyncio.IncompleteReadError, OSError):
            return "closed during the handshake"
        reason = self._check(hello, expect)
        if reason is not None:
            writer.write(close_message(reason))
            return reason
        return hello

    async def _session(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        expect: str | None,
        quiet: str = "",
    ) -> str | None:
        """One connection from HELLO to its end: None if it was established, else why not."""
        peername = writer.get_extra_info("peername")
        where = f"{peername[0]}:{peername[1]}" if peername else "?"
        try:
            result = await self._handshake(reader, writer, expect)
        except Exception:
            writer.close()
            raise
        if isinstance(result, str):
            if result != quiet:  # a dialer retrying a refused peer logs the reason once
                direction = "to" if expect else "from"
                log.warning("fabric: %s: connection %s %s: %s", self.node, direction, where, result)
            with contextlib.suppress(Exception):
                writer.close()
            return result
        peer = result.node
        old = self.links.get(peer)
        if old is not None:
            # The old connection is dead even if we have not noticed yet: the peer restarted.
            old.reason = "replaced by a new connection"
            old.writer.close()
        link = _Link(peer, where, writer)
        self.links[peer] = link
        log.info("fabric: %s connected to %s (%s)", self.node, peer, where)
        try:
            while True:
                kind, body = await read_message(reader)
                if kind == FRAME:
                    self._receive(link, body)
                elif kind == CLOSE:
                    text = body[:MAX_REASON].decode(errors="replace")
                    link.reason = f"{peer} closed it: {text}"
                    break
                elif kind == HELLO:
                    link.drop("HELLO after the handshake")
                else:
                    link.drop(f"unknown message type {kind}")
        except ProtocolError as e:
            link.reason = f"protocol error: {e}"
            log.warning("fabric: %s sent garbage (%s); closing", peer, e)
        except asyncio.IncompleteReadError:
            pass  # the peer's process is gone
        except OSError as e:
            link.reason = str(e) or type(e).__name__
        finally:
            if self.links.get(peer) is link:
                del self.links[peer]
            with contextlib.suppress(Exception):
                writer.close()
            extra = f"; {link.dropped_in} bad messages dropped" if link.dropped_in else ""
            log.info("fabric: %s lost %s (%s)%s", self.node, peer, link.reason, extra)
        return None
