"""The IPv4 stack of a router: frames in and out of interfaces, ARP, ICMP echo, UDP.

Routing is to connected networks only (all the guide needs). As on IOS, a packet that
needs an ARP resolution first is dropped while the request goes out, which is why the
first ping to a fresh neighbour reads ``.!!!!``. Other features plug in by UDP port
(HSRP), by answering for extra addresses (``Feature.virtual_addresses``: the HSRP virtual
IP and MAC while Active), and by IP protocol (TCP streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from iosemu.device.router import Feature, Router
from iosemu.features.interfaces import Interface, Interfaces
from iosemu.lab.fabric import LATENCY, Port
from iosemu.lab.packets import (
    BROADCAST_MAC,
    ETH_ARP,
    ETH_IPV4,
    PROTO_ICMP,
    PROTO_UDP,
    Arp,
    Ethernet,
    Icmp,
    IPv4,
    PacketError,
    Udp,
    mac_text,
)
from iosemu.lab.packets import mac_bytes as _mac_bytes
from iosemu.parser.grammar import EXEC, command
from iosemu.session import Ctx

log = logging.getLogger("iosemu.ip")

ARP_TIMEOUT = 4 * 3600.0  # seconds, IOS's default "ARP Timeout 04:00:00"
LIMITED_BROADCAST = IPv4Address("255.255.255.255")

# Every frame received or sent checks the router's MACs: the text-to-bytes parse is cached.
mac_bytes = functools.lru_cache(maxsize=1024)(_mac_bytes)

UdpHandler = Callable[[str, Ethernet, IPv4, Udp], None]
ProtocolHandler = Callable[[str, Ethernet, IPv4], None]


@dataclass
class ArpEntry:
    mac: bytes
    interface: str
    learned: float  # lab time


@dataclass
class EchoResult:
    kind: str  # "!" reply, "." timeout, "U" unreachable
    rtt: float = 0.0


class Ip(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.arp: dict[IPv4Address, ArpEntry] = {}
        self.udp_handlers: dict[int, UdpHandler] = {}
        self.protocol_handlers: dict[int, ProtocolHandler] = {}
        self._echo_waiters: dict[tuple[int, int], asyncio.Future[EchoResult]] = {}
        self._ident = itertools.count(1)
        self._ping_ident = itertools.count(1)
        self.protocol_handlers[PROTO_ICMP] = self._icmp
        self.protocol_handlers[PROTO_UDP] = self._udp
        # Packets to our own addresses go round this, in order, like a loopback cable.
        self._loopback = Port(router.name, "loopback")
        self._loopback.receiver = lambda data: self._deliver_local(IPv4.decode(data))
        # (features dict, its size, the features of it that answer for extra addresses)
        self._address_features_of: tuple[object, int, list[Feature]] = (None, 0, [])

    # --- wiring to the fabric --------------------------------------------------------

    @property
    def interfaces(self) -> Interfaces:
        return self.router.feature(Interfaces)

    def started(self) -> None:
        for name, port in self.router.ports.items():
            port.receiver = lambda frame, name=name: self.receive(name, frame)

    def stopped(self) -> None:
        for port in self.router.ports.values():
            port.receiver = None

    # --- addresses -----------------------------------------------------------------

    def _address_features(self) -> list[Feature]:
        """The features that override ``virtual_addresses`` (asking the rest is per-packet
        work that always answers nothing), in the router's order."""
        features = self.router.features
        if self._address_features_of[0] is not features or self._address_features_of[1] != len(
            features
        ):
            base = Feature.virtual_addresses
            found = [f for f in features.values() if type(f).virtual_addresses is not base]
            self._address_features_of = (features, len(features), found)
        return self._address_features_of[2]

    def own_addresses(self, iface: Interface) -> list[tuple[IPv4Address, bytes]]:
        """Addresses this interface answers for now, with the MAC it answers with."""
        out: list[tuple[IPv4Address, bytes]] = []
        if iface.address is not None:
            out.append((iface.address.ip, mac_bytes(iface.mac)))
        for feature in self._address_features():
            for address, mac in feature.virtual_addresses(iface.name):
                out.append((address, mac_bytes(mac)))
        return out

    def is_local(self, address: IPv4Address) -> bool:
        # own_addresses without the MACs, which this does not need.
        interfaces = self.interfaces.interfaces.values()
        for iface in interfaces:
            if iface.address is not None and iface.address.ip == address:
                return True
        for feature in self._address_features():
            for iface in interfaces:
                for a, _ in feature.virtual_addresses(iface.name):
                    if a == address:
                        return True
        return False

    def route(self, dst: IPv4Address) -> Interface | None:
        """The up interface whose connected network holds ``dst``."""
        for iface in self.interfaces.ordered():
            if iface.protocol_up and iface.address is not None and dst in iface.address.network:
                return iface
        return None

    # --- receiving -------------------------------------------------------------------

    def receive(self, name: str, frame: bytes) -> None:
        iface = self.interfaces.interfaces.get(name)
        if iface is None or not iface.protocol_up:
            return
        try:
            eth = Ethernet.decode(frame)
        except PacketError:
            return
        if not self._accepts(iface, eth.dst):
            return
        counters = iface.counters
        counters.packets_in += 1
        counters.bytes_in += len(frame)
        counters.last_input = self.router.loop.time()
        if eth.dst == BROADCAST_MAC:
            counters.broadcasts_in += 1
        elif eth.dst[0] & 1:
            counters.multicasts_in += 1
        try:
            if eth.ethertype == ETH_ARP:
                self._arp(iface, Arp.decode(eth.payload))
            elif eth.ethertype == ETH_IPV4:
                packet = IPv4.decode(eth.payload)
                if (
                    self.is_local(packet.dst)
                    or packet.dst.is_multicast
                    or packet.dst == LIMITED_BROADCAST
                ):
                    handler = self.protocol_handlers.get(packet.proto)
                    if handler is not None:
                        handler(name, eth, packet)
        except PacketError as e:
            log.info("%s: dropped a malformed packet on %s: %s", self.router.name, name, e)

    def _accepts(self, iface: Interface, dst: bytes) -> bool:
        if dst == BROADCAST_MAC or dst[0] & 1:
            return True
        # The burnt-in MAC first: most unicast frames are for it, and the answer is the same.
        return dst == mac_bytes(iface.mac) or any(
            dst == mac for _, mac in self.own_addresses(iface)
        )

    def _arp(self, iface: Interface, arp: Arp) -> None:
        now = self.router.loop.time()
        owned = {a: mac for a, mac in self.own_addresses(iface)}
        # Learn the sender if we know it already or the packet is for us (RFC 826), or from
        # a gratuitous ARP (HSRP's new Active sends one): IOS learns those by default.
        gratuitous = arp.sender_ip == arp.target_ip
        known_or_for_us = arp.sender_ip in self.arp or arp.target_ip in owned or gratuitous
        if known_or_for_us and arp.sender_ip not in owned:
            self.arp[arp.sender_ip] = ArpEntry(arp.sender_mac, iface.name, now)
        if arp.op == Arp.REQUEST and arp.target_ip in owned:
            reply = Arp(
                Arp.REPLY, owned[arp.target_ip], arp.target_ip, arp.sender_mac, arp.sender_ip
            )
            self.send_frame(
                iface, arp.sender_mac, ETH_ARP, reply.encode(), src=owned[arp.target_ip]
            )

    def _icmp(self, name: str, eth: Ethernet, packet: IPv4) -> None:
        msg = Icmp.decode(packet.payload)
        if msg.type == Icmp.ECHO_REQUEST and self.is_local(packet.dst):
            reply = Icmp(Icmp.ECHO_REPLY, 0, msg.ident, msg.seq, msg.data)
            self.send_ip(IPv4(packet.dst, packet.src, PROTO_ICMP, reply.encode()))
        elif msg.type == Icmp.ECHO_REPLY:
            waiter = self._echo_waiters.get((msg.ident, msg.seq))
            if waiter is not None and not waiter.done():
                waiter.set_result(EchoResult("!"))

    def _udp(self, name: str, eth: Ethernet, packet: IPv4) -> None:
        datagram = Udp.decode(packet.payload)
        handler = self.udp_handlers.get(datagram.dst_port)
        if handler is not None:
            handler(name, eth, packet, datagram)

    # --- sending ---------------------------------------------------------------------

    def send_frame(
        self, iface: Interface, dst: bytes, ethertype: int, payload: bytes, src: bytes | None = None
    ) -> bool:
        port = self.router.ports.get(iface.name)
        if port is None or not iface.protocol_up:
            return False
        frame = Ethernet(dst, src or mac_bytes(iface.mac), ethertype, payload).encode()
        counters = iface.counters
        counters.packets_out += 1
        counters.bytes_out += len(frame)
        counters.last_output = self.router.loop.time()
        port.send(frame)
        return True

    def send_ip(
        self, packet: IPv4, iface: Interface | None = None, dst_mac: bytes | None = None
    ) -> bool:
        """Send a packet; False if it was dropped (no route, or waiting for ARP)."""
        if packet.ident == 0:
            packet = IPv4(
                packet.src, packet.dst, packet.proto, packet.payload, packet.ttl, next(self._ident)
            )
        if self.is_local(packet.dst):
            # Through the interface and back, as long as a LAN round trip takes.
            self._loopback.arrive(self.router.loop, packet.encode(), LATENCY)
            return True
        iface = iface or self.route(packet.dst)
        if iface is None:
            return False
        if dst_mac is None:
            entry = self.arp.get(packet.dst)
            if entry is None or entry.interface != iface.name:
                self._arp_request(iface, packet.dst)
                return False
            dst_mac = entry.mac
        return self.send_frame(iface, dst_mac, ETH_IPV4, packet.encode())

    def _deliver_local(self, packet: IPv4) -> None:
        handler = self.protocol_handlers.get(packet.proto)
        if handler is not None:
            with contextlib.suppress(PacketError):
                handler("local", Ethernet(b"\0" * 6, b"\0" * 6, ETH_IPV4, b""), packet)

    def _arp_request(self, iface: Interface, target: IPv4Address) -> None:
        assert iface.address is not None
        request = Arp(Arp.REQUEST, mac_bytes(iface.mac), iface.address.ip, b"\0" * 6, target)
        self.send_frame(iface, BROADCAST_MAC, ETH_ARP, request.encode())

    def gratuitous_arp(self, iface: Interface, address: IPv4Address, mac: str) -> None:
        """Announce that ``address`` now lives at ``mac`` (HSRP does on becoming Active)."""
        raw = mac_bytes(mac)
        announce = Arp(Arp.REPLY, raw, address, BROADCAST_MAC, address)
        self.send_frame(iface, BROADCAST_MAC, ETH_ARP, announce.encode(), src=raw)

    def source_for(self, dst: IPv4Address) -> IPv4Address | None:
        iface = self.route(dst)
        if iface is not None and iface.address is not None:
            return iface.address.ip
        for iface in self.interfaces.ordered():
            if iface.address is not None and iface.address.ip == dst:
                return dst
        return None

    async def echo(
        self, dst: IPv4Address, size: int, timeout: float, ident: int, seq: int
    ) -> EchoResult:
        """One ICMP echo; waits for the reply up to ``timeout`` seconds of lab time."""
        src = self.source_for(dst)
        if src is None and not self.is_local(dst):
            await asyncio.sleep(timeout)
            return EchoResult(".")
        assert src is not None or self.is_local(dst)
        data = bytes(range(256)) * (size // 256 + 1)
        msg = Icmp(Icmp.ECHO_REQUEST, 0, ident, seq, data[: max(size - 28, 0)])
        loop = self.router.loop
        waiter: asyncio.Future[EchoResult] = loop.create_future()
        self._echo_waiters[(ident, seq)] = waiter
        sent_at = loop.time()
        try:
            self.send_ip(IPv4(src or dst, dst, PROTO_ICMP, msg.encode()))
            result = await asyncio.wait_for(waiter, timeout)
            result.rtt = loop.time() - sent_at
            return result
        except TimeoutError:
            return EchoResult(".")
        finally:
            self._echo_waiters.pop((ident, seq), None)

    def next_ping_ident(self) -> int:
        return next(self._ping_ident) & 0xFFFF

    # --- ARP table ---------------------------------------------------------------------

    def expire_arp(self) -> None:
        now = self.router.loop.time()
        for address in [a for a, e in self.arp.items() if now - e.learned > ARP_TIMEOUT]:
            del self.arp[address]


@command(EXEC, "show arp", help="|ARP table", priv=1)
def show_arp(ctx: Ctx) -> None:
    ip = ctx.feature(Ip)
    ip.expire_arp()
    rows: list[tuple[IPv4Address, str, str, str]] = []
    for iface in ip.interfaces.ordered():
        if not iface.protocol_up:
            continue
        for address, mac in ip.own_addresses(iface):
            rows.append((address, "-", mac_text(mac), iface.name))
    now = ctx.router.loop.time()
    for address, entry in ip.arp.items():
        age = str(int((now - entry.learned) // 60))
        rows.append((address, age, mac_text(entry.mac), entry.interface))
    ctx.print("Protocol  Address          Age (min)  Hardware Addr   Type   Interface")
    for address, age, mac, name in sorted(rows, key=lambda r: int(r[0])):
        ctx.print(f"Internet  {address!s:<15}{age:>10}   {mac:<14}  ARPA   {name}")
