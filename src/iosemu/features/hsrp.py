"""HSRP (RFC 2281) as IOS 15.1 runs it: the ``standby`` commands, the protocol, show output.

Configuration lives in ``StandbyInterface`` (per-interface settings: version, ``use-bia``,
``standby delay``) and ``StandbyGroup`` (per-group settings and the protocol state of the
group). The protocol runs on the lab clock: every timer is a ``Deadline`` on the router's
loop, so a reload cancels it with everything else the router scheduled.

The state machine follows RFC 2281 section 5, with the event letters IOS prints in
``debug standby events`` (``c/Active timer expired``):

* Init: the group cannot run (interface down, no address, during ``standby delay``).
  Learn: no virtual IP configured (``standby ip`` alone); waits for the Active's hello.
  Listen: knows the virtual IP, sends nothing, watches the Active and Standby routers.
  Speak: sends hellos and takes part in the election. Standby: next in line. Active: owns
  the virtual IP and MAC.
* Enabled, a group goes Init -> Listen and waits one hold time; with no Active heard it goes
  Speak, one more hold time with no better Standby makes it Standby, and with no Active it
  becomes Active at once (the lone-router bring-up takes two hold times, as on IOS).
* The election compares (priority, interface IP): equal priorities go to the higher address.
  The Standby role always goes to the best router; the Active role changes only when the
  Active fails or resigns, or when a better router with ``preempt`` sends a Coup.
* ``standby delay minimum M reload R``: after an interface comes up the groups stay in Init
  for M seconds (R for the first interface-up after the router booted); nothing at all is
  sent or processed meanwhile.

Which state changes are logged: ``%HSRP-5-STATECHANGE`` is written for every change into or
out of Active or Standby (``Speak -> Standby``, ``Standby -> Active``, ``Active -> Speak``,
``Listen -> Active``, ``Active -> Init``); the changes among Init, Learn, Listen and Speak
are seen only with ``debug standby events``. The "N state changes" counter of ``show
standby`` counts the logged changes (a real IOSv shows ``1 state change`` on a Standby that
went Init, Listen, Speak, Standby).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address

from iosemu.device.clock import uptime_stamp
from iosemu.device.logging import DebugFlag
from iosemu.device.router import Feature, Router
from iosemu.features.interfaces import INTERFACE, Interface, Interfaces, short_name
from iosemu.features.ip import Ip
from iosemu.features.logging import declare_debug
from iosemu.lab.packets import (
    ETH_IPV4,
    PROTO_UDP,
    Ethernet,
    IPv4,
    PacketError,
    Udp,
    mac_bytes,
    mac_text,
    multicast_mac,
)
from iosemu.parser.grammar import EXEC, command
from iosemu.session import CommandError, Ctx

log = logging.getLogger("iosemu.hsrp")

HSRP_PORT = 1985
V1_ADDRESS = IPv4Address("224.0.0.2")  # all routers
V2_ADDRESS = IPv4Address("224.0.0.102")  # HSRP v2's own group
DEFAULT_PRIORITY = 100
DEFAULT_HELLO_MS = 3000
DEFAULT_HOLD_MS = 10000
DEFAULT_AUTH = "cisco"
DEFAULT_DECREMENT = 10
# `standby delay` values left out of the command (Cisco's documented defaults).
DEFAULT_DELAY_MINIMUM = 1
DEFAULT_DELAY_RELOAD = 5
# Timers closer than this to their deadline count as expired (float lab time).
EPSILON = 1e-6


class State(Enum):
    DISABLED = "Disabled"  # no virtual IP configured
    INIT = "Init"
    LEARN = "Learn"
    LISTEN = "Listen"
    SPEAK = "Speak"
    STANDBY = "Standby"
    ACTIVE = "Active"


# The state codes of the two packet formats.
V1_CODES = {
    State.INIT: 0,
    State.LEARN: 1,
    State.LISTEN: 2,
    State.SPEAK: 4,
    State.STANDBY: 8,
    State.ACTIVE: 16,
}
V2_CODES = {
    State.DISABLED: 0,
    State.INIT: 1,
    State.LEARN: 2,
    State.LISTEN: 3,
    State.SPEAK: 4,
    State.STANDBY: 5,
    State.ACTIVE: 6,
}
LOGGED_STATES = (State.ACTIVE, State.STANDBY)
# States that send hellos.
SPEAKING = (State.SPEAK, State.STANDBY, State.ACTIVE)


class Op(Enum):
    HELLO = 0
    COUP = 1
    RESIGN = 2


OP_NAMES = {Op.HELLO: "Hello", Op.COUP: "Coup", Op.RESIGN: "Resign"}


# --------------------------------------------------------------------------- wire format


@dataclass(frozen=True)
class HsrpPacket:
    """One HSRP message, version 1 (RFC 2281, 20 bytes) or version 2 (TLVs)."""

    version: int
    op: Op
    state: State
    group: int
    priority: int
    hello_ms: int
    hold_ms: int
    vip: IPv4Address
    auth: str = DEFAULT_AUTH
    identifier: bytes = b"\0" * 6  # v2: the sender's interface MAC

    def encode(self) -> bytes:
        auth = self.auth.encode()[:8].ljust(8, b"\0")
        if self.version == 1:
            # v1 carries whole seconds: msec timers are rounded up (receivers that have
            # their own timers configured use those).
            hello = min(255, max(1, math.ceil(self.hello_ms / 1000)))
            hold = min(255, max(1, math.ceil(self.hold_ms / 1000)))
            return struct.pack(
                "!BBBBBBBB8s4s",
                0,
                self.op.value,
                V1_CODES[self.state],
                hello,
                hold,
                self.priority,
                self.group,
                0,
                auth,
                self.vip.packed,
            )
        group_state = struct.pack(
            "!BBBBH6sIII16s",
            2,
            self.op.value,
            V2_CODES[self.state],
            4,  # IP version of the virtual address
            self.group,
            self.identifier,
            self.priority,
            self.hello_ms,
            self.hold_ms,
            self.vip.packed.ljust(16, b"\0"),
        )
        auth_tlv = struct.pack("!BB", 3, len(auth)) + auth
        return struct.pack("!BB", 1, len(group_state)) + group_state + auth_tlv

    @classmethod
    def decode(cls, data: bytes, version: int) -> HsrpPacket:
        if version == 1:
            return cls._decode_v1(data)
        return cls._decode_v2(data)

    @classmethod
    def _decode_v1(cls, data: bytes) -> HsrpPacket:
        if len(data) < 20:
            raise PacketError("short HSRP packet")
        ver, op, code, hello, hold, pri, group, _, auth, vip = struct.unpack(
            "!BBBBBBBB8s4s", data[:20]
        )
        states = {v: k for k, v in V1_CODES.items()}
        if ver != 0 or code not in states or op > 2:
            raise PacketError("not an HSRP v1 packet")
        return cls(
            1,
            Op(op),
            states[code],
            group,
            pri,
            hello * 1000,
            hold * 1000,
            IPv4Address(vip),
            auth.rstrip(b"\0").decode(errors="replace"),
        )

    @classmethod
    def _decode_v2(cls, data: bytes) -> HsrpPacket:
        fields: tuple[int, ...] | None = None
        identifier = b""
        vip = b""
        auth = ""
        pos = 0
        while pos + 2 <= len(data):
            kind, length = data[pos], data[pos + 1]
            body = data[pos + 2 : pos + 2 + length]
            if len(body) < length:
                raise PacketError("truncated HSRP v2 TLV")
            if kind == 1 and length >= 40:
                ver, op, code, ipver, group, identifier, pri, hello, hold, vip = struct.unpack(
                    "!BBBBH6sIII16s", body[:40]
                )
                if ver != 2 or ipver != 4 or op > 2:
                    raise PacketError("not an HSRP v2 IPv4 group state")
                fields = (op, code, group, pri, hello, hold)
            elif kind == 3:
                auth = body.rstrip(b"\0").decode(errors="replace")
            pos += 2 + length
        if fields is None:
            raise PacketError("no HSRP v2 group state TLV")
        op, code, group, pri, hello, hold = fields
        states = {v: k for k, v in V2_CODES.items()}
        if code not in states:
            raise PacketError("bad HSRP v2 state")
        return cls(
            2,
            Op(op),
            states[code],
            group,
            min(pri, 255),
            hello,
            hold,
            IPv4Address(vip[:4]),
            auth,
            identifier,
        )


def virtual_mac(version: int, group: int) -> str:
    """``0000.0c07.acXX`` (v1) or ``0000.0c9f.fXXX`` (v2)."""
    if version == 2:
        return f"0000.0c9f.f{group:03x}"
    return f"0000.0c07.ac{group:02x}"


# --------------------------------------------------------------------------- timers


class Deadline:
    """A restartable timer on the router's loop.

    Restarting it (as every hello restarts the active timer) only moves the deadline; at
    most one wake-up is pending, and when it comes early it sleeps again for the rest.
    """

    def __init__(self, router: Router, on_expiry: Callable[[], None]) -> None:
        self._router = router
        self._on_expiry = on_expiry
        self._deadline: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._deadline is not None

    def remaining(self) -> float:
        if self._deadline is None:
            return 0.0
        return max(0.0, self._deadline - self._router.loop.time())

    def start(self, seconds: float) -> None:
        self._deadline = self._router.loop.time() + seconds
        if self._handle is not None:
            if self._handle.when() <= self._deadline + EPSILON:
                return  # the pending wake-up comes first and sleeps again for the rest
            self._handle.cancel()
        self._handle = self._router.call_later(seconds, self._wake)

    def stop(self) -> None:
        self._deadline = None

    def _wake(self) -> None:
        self._handle = None
        if self._deadline is None:
            return
        left = self._deadline - self._router.loop.time()
        if left > EPSILON:
            self._handle = self._router.call_later(left, self._wake)
            return
        self._deadline = None
        self._on_expiry()


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Peer:
    """Another router of the group, as its last message described it."""

    address: IPv4Address
    priority: int
    mac: str  # source MAC of its messages (the virtual MAC, while it is Active)
    identifier: str = ""  # v2: its interface MAC


@dataclass
class Timers:
    """``standby timers [msec] H [msec] D`` as configured."""

    hello_ms: int
    hold_ms: int
    hello_in_msec: bool = False
    hold_in_msec: bool = False

    def words(self) -> str:
        hello = f"msec {self.hello_ms}" if self.hello_in_msec else str(self.hello_ms // 1000)
        hold = f"msec {self.hold_ms}" if self.hold_in_msec else str(self.hold_ms // 1000)
        return f"{hello} {hold}"


StateCallback = Callable[["StandbyGroup", State, State], None]


@dataclass(eq=False)
class StandbyGroup:
    """One HSRP group of one interface: its configuration and its protocol state."""

    owner: Hsrp = field(repr=False)
    interface: str
    number: int
    # The number was typed ("standby 0 ip ..."); else the lines render without it.
    explicit: bool = True
    # --- configuration ----------------------------------------------------------------
    vip: IPv4Address | None = None
    learn: bool = False  # "standby ip" without an address: learn it from the Active
    secondaries: list[IPv4Address] = field(default_factory=list)
    priority: int = DEFAULT_PRIORITY
    preempt: bool = False
    preempt_minimum: int | None = None
    preempt_reload: int | None = None
    preempt_sync: int | None = None
    name: str | None = None
    timers: Timers | None = None
    auth: str = DEFAULT_AUTH
    auth_text_keyword: bool = False  # typed as "authentication text WORD"
    tracks: dict[str, int | None] = field(default_factory=dict)  # interface -> decrement
    # --- protocol state (not configuration) -------------------------------------------
    state: State = State.DISABLED
    learned_vip: IPv4Address | None = None
    learned_hello_ms: int = DEFAULT_HELLO_MS
    learned_hold_ms: int = DEFAULT_HOLD_MS
    active_peer: Peer | None = None
    standby_peer: Peer | None = None
    state_changes: int = 0
    last_change: float | None = None  # lab time of the last logged change
    preempted_since_boot: bool = False
    last_priority: int = DEFAULT_PRIORITY  # as last announced in debug output
    bad_auth_logged: dict[IPv4Address, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        router = self.owner.router
        self.hello_timer = Deadline(router, self._hello_expired)
        self.active_timer = Deadline(router, self._active_expired)
        self.standby_timer = Deadline(router, self._standby_expired)
        self.preempt_timer = Deadline(router, self._preempt_expired)

    # --- what the group is now ---------------------------------------------------------

    @property
    def router(self) -> Router:
        return self.owner.router

    @property
    def iface(self) -> Interface | None:
        return self.router.feature(Interfaces).interfaces.get(self.interface)

    @property
    def settings(self) -> StandbyInterface:
        return self.owner.interface_settings(self.interface)

    @property
    def group_name(self) -> str:
        """The redundancy name: configured, or IOS's default ``hsrp-Gi0/0-0``."""
        return self.name or f"hsrp-{short_name(self.interface)}-{self.number}"

    @property
    def virtual_ip(self) -> IPv4Address | None:
        return self.vip or self.learned_vip

    @property
    def is_active(self) -> bool:
        return self.state is State.ACTIVE

    @property
    def hello_ms(self) -> int:
        return self.timers.hello_ms if self.timers else self.learned_hello_ms

    @property
    def hold_ms(self) -> int:
        return self.timers.hold_ms if self.timers else self.learned_hold_ms

    @property
    def hold(self) -> float:
        return self.hold_ms / 1000

    @property
    def current_priority(self) -> int:
        """The configured priority less the decrements of tracked interfaces that are down."""
        priority = self.priority
        for name, decrement in self.tracks.items():
            if not self.owner.interface_up(name):
                priority -= DEFAULT_DECREMENT if decrement is None else decrement
        return max(priority, 0)

    @property
    def my_address(self) -> IPv4Address | None:
        iface = self.iface
        return iface.address.ip if iface is not None and iface.address is not None else None

    @property
    def local_mac(self) -> str:
        """The virtual MAC this router uses when Active."""
        if self.settings.use_bia and self.iface is not None:
            return self.iface.mac
        return virtual_mac(self.settings.version, self.number)

    def is_empty(self) -> bool:
        """Nothing configured any more: IOS deletes the group."""
        return (
            self.vip is None
            and not self.learn
            and not self.secondaries
            and self.priority == DEFAULT_PRIORITY
            and not self.preempt
            and self.name is None
            and self.timers is None
            and self.auth == DEFAULT_AUTH
            and not self.tracks
        )

    def init_reason(self) -> str:
        """Why the group cannot run now ("" when it can)."""
        iface = self.iface
        if iface is None or iface.shutdown or not iface.protocol_up:
            return "interface down"
        if iface.address is None:
            return "protocol not cfgd"
        vip = self.vip
        if vip is not None and vip not in iface.address.network:
            return "virtual IP in wrong subnet"
        if self.settings.delay_timer.running:
            return "delay"
        return ""

    def _beats(self, peer: Peer) -> bool:
        """True if this router wins against ``peer``: higher priority, then higher IP."""
        mine = self.my_address or IPv4Address(0)
        return (self.current_priority, int(mine)) > (peer.priority, int(peer.address))

    # --- entering and leaving states ---------------------------------------------------

    def _event(self, text: str) -> None:
        self.owner.debug("events", f"{self._prefix()} {self.state.value}: {text}")

    def _prefix(self) -> str:
        return f"{short_name(self.interface)} Grp {self.number}"

    def _set_state(self, new: State) -> None:
        old = self.state
        if new is old:
            return
        self.state = new
        self.owner.debug("events", f"{self._prefix()} {old.value} -> {new.value}")
        if old in LOGGED_STATES or new in LOGGED_STATES:
            self.state_changes += 1
            self.last_change = self.router.loop.time()
            self.router.log.log(
                "HSRP",
                5,
                "STATECHANGE",
                f"{self.interface} Grp {self.number} state {old.value} -> {new.value}",
            )
        self.owner.debug(
            "events",
            f'{self._prefix()} Redundancy "{self.group_name}" state {old.value} -> {new.value}',
        )
        if new in SPEAKING:
            self._send(Op.HELLO)
            self.hello_timer.start(self.hello_ms / 1000)
        else:
            self.hello_timer.stop()
        if new is State.ACTIVE:
            self._announce()
        self.owner.notify(self, old, new)

    def enable(self) -> None:
        """Event a: the group can run (interface up, address, delay over)."""
        if self.state not in (State.INIT, State.DISABLED) or self.init_reason():
            return
        if self.virtual_ip is None and not self.learn:
            return
        self.state = State.INIT
        self.last_priority = self.current_priority
        self._event("a/HSRP enabled")
        self.active_timer.start(self.hold)
        self.standby_timer.start(self.hold)
        self._set_state(State.LEARN if self.virtual_ip is None else State.LISTEN)

    def disable(self, resign: bool = True) -> None:
        """Event b: back to Init (Disabled when no virtual IP is left)."""
        running = self.state not in (State.INIT, State.DISABLED)
        if running:
            if self.state is State.ACTIVE:
                if resign:
                    self._send(Op.RESIGN)
                self.owner.debug("events", f"{self._prefix()} Active router is unknown, was local")
            self._event("b/HSRP disabled")
        self.halt()
        if running:
            self._set_state(State.INIT)
        if self.vip is None and not self.learn:
            self.state = State.DISABLED  # not a protocol state: no log, no debug

    def halt(self) -> None:
        """Stop every timer and forget the peers (the router stops: no message, no log)."""
        for timer in (self.hello_timer, self.active_timer, self.standby_timer, self.preempt_timer):
            timer.stop()
        self.active_peer = None
        self.standby_peer = None
        if self.vip is None:
            self.learned_vip = None

    def reevaluate(self) -> None:
        """After a configuration change: start or stop as the configuration now allows."""
        if self.state in (State.INIT, State.DISABLED):
            if self.vip is None and not self.learn:
                self.state = State.DISABLED
                return
            self.state = State.INIT
            self.enable()
            return
        if self.init_reason() or (self.vip is None and not self.learn):
            self.disable()
            return
        if self.state is not State.ACTIVE:
            self._consider_preempt()

    def _become_standby(self) -> None:
        self.owner.debug("events", f"{self._prefix()} Standby router is local")
        self.standby_peer = None
        self.standby_timer.stop()
        self._set_state(State.STANDBY)
        if self.active_peer is None and not self.active_timer.running:
            # No Active either (the lone router): take over at once.
            self._event("c/Active timer expired (unknown)")
            self._become_active()

    def _become_active(self) -> None:
        self.owner.debug("events", f"{self._prefix()} Active router is local")
        if self.state is State.STANDBY:
            self.owner.debug("events", f"{self._prefix()} Standby router is unknown, was local")
        self.active_peer = None
        self.active_timer.stop()
        self.preempt_timer.stop()
        self._set_state(State.ACTIVE)

    def _become_speak(self) -> None:
        self._set_state(State.SPEAK)
        self.standby_timer.start(self.hold)
        if not self.active_timer.running and self.active_peer is None:
            self.active_timer.start(self.hold)

    def _announce(self) -> None:
        """Gratuitous ARP for every virtual address: hosts and switches learn the new owner."""
        iface = self.iface
        if iface is None:
            return
        ip = self.router.feature(Ip)
        for address in self.addresses():
            ip.gratuitous_arp(iface, address, self.local_mac)

    def addresses(self) -> list[IPv4Address]:
        vip = self.virtual_ip
        return ([vip] if vip is not None else []) + list(self.secondaries)

    # --- timers ----------------------------------------------------------------------

    def _hello_expired(self) -> None:
        if self.state in SPEAKING:
            self._send(Op.HELLO)
            self.hello_timer.start(self.hello_ms / 1000)

    @staticmethod
    def _due(timer: Deadline) -> bool:
        return timer.running and timer.remaining() <= EPSILON

    def _active_expired(self) -> None:
        """Event c: no hello from the Active for a hold time."""
        who = str(self.active_peer.address) if self.active_peer else "unknown"
        self.active_peer = None
        if self.state is State.SPEAK and self._due(self.standby_timer):
            # Both timers at once: IOS takes the standby timer first (Speak -> Standby),
            # and the Standby then finds no Active.
            self.standby_timer.stop()
            self._standby_expired()
            return
        if self.state not in (State.LISTEN, State.SPEAK, State.STANDBY):
            return
        self._event(f"c/Active timer expired ({who})")
        if self.state is State.LISTEN:
            self._become_speak()
        elif self.state is State.STANDBY:
            self._become_active()
        # In Speak: wait for the standby timer (the Standby, if any, takes over first).

    def _standby_expired(self) -> None:
        """Event d: no hello from the Standby for a hold time."""
        if self.state is State.LISTEN and self._due(self.active_timer):
            # Both timers at once: in Listen IOS takes the active timer first (-> Speak,
            # which restarts this one).
            self.active_timer.stop()
            self._active_expired()
            return
        who = str(self.standby_peer.address) if self.standby_peer else "unknown"
        self.standby_peer = None
        if self.state not in (State.LISTEN, State.SPEAK):
            return
        self._event(f"d/Standby timer expired ({who})")
        if self.state is State.LISTEN:
            self._become_speak()
        else:
            self._become_standby()

    def _preempt_expired(self) -> None:
        self._consider_preempt(delay_done=True)

    # --- preemption --------------------------------------------------------------------

    def _consider_preempt(self, delay_done: bool = False) -> None:
        """With ``preempt``, take the Active role from a worse Active (after the delay)."""
        if not self.preempt or self.state not in (State.LISTEN, State.SPEAK, State.STANDBY):
            return
        active = self.active_peer
        if active is None or not self._beats(active):
            return
        if not delay_done:
            if self.preempt_timer.running:
                return
            delay = self.preempt_minimum or 0
            if not self.preempted_since_boot and self.preempt_reload:
                delay = max(delay, self.preempt_reload)
            if delay > 0:
                self.owner.debug(
                    "events", f"{self._prefix()} Starting min preempt delay ({delay} secs)"
                )
                self.preempt_timer.start(delay)
                return
        self.preempted_since_boot = True
        self._event(f"h/Hello rcvd from lower pri Active router ({self._who(active)})")
        self._send(Op.COUP)
        self._become_active()

    def priority_changed(self) -> None:
        """A tracked interface changed: the priority in our hellos may have moved."""
        new = self.current_priority
        if new != self.last_priority:
            self.owner.debug("events", f"{self._prefix()} Priority {self.last_priority} -> {new}")
            self.last_priority = new
        if self.state is not State.ACTIVE:
            self._consider_preempt()

    # --- messages ----------------------------------------------------------------------

    def _send(self, op: Op) -> None:
        iface = self.iface
        vip = self.virtual_ip
        src = self.my_address
        if iface is None or vip is None or src is None:
            return
        version = self.settings.version
        packet = HsrpPacket(
            version,
            op,
            self.state,
            self.number,
            self.current_priority,
            self.hello_ms,
            self.hold_ms,
            vip,
            self.auth,
            mac_bytes(iface.mac),
        )
        self.owner.debug_packet(self, packet, "out", src)
        group = V2_ADDRESS if version == 2 else V1_ADDRESS
        datagram = Udp(HSRP_PORT, HSRP_PORT, packet.encode()).encode()
        ip_packet = IPv4(src, group, PROTO_UDP, datagram, ttl=1, ident=self.owner.next_ident())
        # The Active speaks from the virtual MAC, so switches learn where it lives.
        mac = self.local_mac if self.state is State.ACTIVE else iface.mac
        self.router.feature(Ip).send_frame(
            iface, multicast_mac(group), ETH_IPV4, ip_packet.encode(), src=mac_bytes(mac)
        )

    def receive(self, packet: HsrpPacket, source: IPv4Address, src_mac: str) -> None:
        """A message of this group from another router."""
        if self.state in (State.INIT, State.DISABLED):
            return
        if packet.auth != self.auth:
            self._bad_auth(packet, source)
            return
        ident = mac_text(packet.identifier) if packet.version == 2 else ""
        peer = Peer(source, packet.priority, src_mac, ident)
        if self.state is State.LEARN:
            if packet.state is not State.ACTIVE or packet.op is not Op.HELLO:
                return
            self.learned_vip = packet.vip
            self._set_state(State.LISTEN)
            self.standby_timer.start(self.hold)  # it ran out while there was nothing to learn
        if packet.op is Op.HELLO:
            self._hello(packet, peer)
        elif packet.op is Op.COUP:
            self._coup(packet, peer)
        else:
            self._resign(peer)

    def _bad_auth(self, packet: HsrpPacket, source: IPv4Address) -> None:
        now = self.router.loop.time()
        last = self.bad_auth_logged.get(source)
        if last is not None and now - last < 30:
            return  # IOS rate-limits this message
        self.bad_auth_logged[source] = now
        self.router.log.log(
            "HSRP",
            4,
            "BADAUTH",
            f"Bad authentication from {source}, group {self.number}, "
            f"remote state {packet.state.value}",
        )

    def _learn_timers(self, packet: HsrpPacket) -> None:
        """Unconfigured timers follow the Active's (RFC 2281: "learn parameters")."""
        if self.timers is None and packet.hello_ms > 0 and packet.hold_ms > packet.hello_ms:
            self.learned_hello_ms = packet.hello_ms
            self.learned_hold_ms = packet.hold_ms

    def _peer_hold(self, packet: HsrpPacket) -> float:
        """How long a hello stays valid: its own hold time, unless ours is configured."""
        if self.timers is not None:
            return self.hold
        return packet.hold_ms / 1000

    def _hello(self, packet: HsrpPacket, peer: Peer) -> None:
        state = self.state
        if packet.state is State.ACTIVE:
            if state is State.ACTIVE:
                if not self._beats(peer):
                    self._event(f"g/Hello rcvd from higher pri Active router ({self._who(peer)})")
                    self.owner.debug(
                        "events", f"{self._prefix()} Active router is {peer.address}, was local"
                    )
                    self.active_peer = peer
                    self.active_timer.start(self._peer_hold(packet))
                    self._become_speak()
                else:
                    self._event(f"h/Hello rcvd from lower pri Active router ({self._who(peer)})")
                    self._send(Op.COUP)
                return
            if self.active_peer is None or self.active_peer.address != peer.address:
                was = self.active_peer.address if self.active_peer else "unknown"
                self.owner.debug(
                    "events", f"{self._prefix()} Active router is {peer.address}, was {was}"
                )
            self.active_peer = peer
            self.active_timer.start(self._peer_hold(packet))
            self._learn_timers(packet)
            if self.standby_peer is not None and self.standby_peer.address == peer.address:
                self.standby_peer = None
            self._consider_preempt()
            return
        if packet.state is State.STANDBY:
            if self.active_peer is not None and self.active_peer.address == peer.address:
                self.active_peer = None  # it stepped down; the active timer runs out
            if self.standby_peer is None or self.standby_peer.address != peer.address:
                was = self.standby_peer.address if self.standby_peer else "unknown"
                if state is State.STANDBY:
                    was = "local"
                self.owner.debug(
                    "events", f"{self._prefix()} Standby router is {peer.address}, was {was}"
                )
            higher = not self._beats(peer)
            if state in (State.STANDBY, State.SPEAK) and higher:
                self._event(f"l/Hello rcvd from higher pri Standby router ({self._who(peer)})")
                self.standby_peer = peer
                self.standby_timer.start(self._peer_hold(packet))
                self._set_state(State.LISTEN)
                return
            if state is State.STANDBY:
                self._event(f"k/Hello rcvd from lower pri Standby router ({self._who(peer)})")
                self._send(Op.HELLO)  # assert: the other one goes to Listen
                return
            self.standby_peer = peer
            self.standby_timer.start(self._peer_hold(packet))
            if not higher and state in (State.LISTEN, State.SPEAK):
                self._event(f"k/Hello rcvd from lower pri Standby router ({self._who(peer)})")
                if state is State.LISTEN:
                    self._become_speak()
                else:
                    self._become_standby()
            return
        if packet.state is State.SPEAK and state is State.SPEAK and not self._beats(peer):
            self._event(f"f/Hello rcvd from higher pri Speak router ({self._who(peer)})")
            self._set_state(State.LISTEN)

    def _coup(self, packet: HsrpPacket, peer: Peer) -> None:
        if self.state is State.ACTIVE:
            if self._beats(peer):
                self._send(Op.HELLO)  # a worse router cannot take over
                return
            self._event(f"j/Coup rcvd from higher pri router ({self._who(peer)})")
            self._send(Op.RESIGN)
            self.owner.debug(
                "events", f"{self._prefix()} Active router is {peer.address}, was local"
            )
            self.active_peer = peer
            self.active_timer.start(self._peer_hold(packet))
            self._become_speak()
            return
        self.active_peer = peer
        self.active_timer.start(self._peer_hold(packet))
        if self.standby_peer is not None and self.standby_peer.address == peer.address:
            self.standby_peer = None

    def _resign(self, peer: Peer) -> None:
        if self.active_peer is None or self.active_peer.address != peer.address:
            return
        self._event(f"i/Resign rcvd ({self._who(peer)})")
        self.active_peer = None
        self.active_timer.stop()
        if self.state is State.STANDBY:
            self._become_active()
        elif self.state is State.LISTEN:
            self._become_speak()

    @staticmethod
    def _who(peer: Peer) -> str:
        return f"{peer.priority}/{peer.address}"

    # --- configuration lines -----------------------------------------------------------

    def config_lines(self) -> list[str]:
        """This group's lines in the interface block, in IOS's order."""
        head = f" standby {self.number} " if self.explicit else " standby "
        out = []
        if self.vip is not None:
            out.append(f"{head}ip {self.vip}")
        elif self.learn:
            out.append(f"{head}ip")
        out += [f"{head}ip {address} secondary" for address in self.secondaries]
        if self.timers is not None:
            out.append(f"{head}timers {self.timers.words()}")
        if self.priority != DEFAULT_PRIORITY:
            out.append(f"{head}priority {self.priority}")
        if self.preempt:
            line = f"{head}preempt"
            delays = [
                (word, value)
                for word, value in (
                    ("minimum", self.preempt_minimum),
                    ("reload", self.preempt_reload),
                    ("sync", self.preempt_sync),
                )
                if value is not None
            ]
            if delays:
                line += " delay " + " ".join(f"{w} {v}" for w, v in delays)
            out.append(line)
        if self.auth != DEFAULT_AUTH:
            text = "text " if self.auth_text_keyword else ""
            out.append(f"{head}authentication {text}{self.auth}")
        if self.name is not None:
            out.append(f"{head}name {self.name}")
        for name, decrement in self.tracks.items():
            line = f"{head}track {name}"
            if decrement is not None:
                line += f" decrement {decrement}"
            out.append(line)
        return out


@dataclass(eq=False)
class StandbyInterface:
    """The HSRP settings of one interface, and its groups."""

    owner: Hsrp = field(repr=False)
    name: str
    version: int = 1
    use_bia: bool = False
    delay_minimum: int | None = None
    delay_reload: int | None = None
    groups: dict[int, StandbyGroup] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.delay_timer = Deadline(self.owner.router, self._delay_over)

    @property
    def delay_configured(self) -> bool:
        return self.delay_minimum is not None or self.delay_reload is not None

    @property
    def minimum(self) -> int:
        return DEFAULT_DELAY_MINIMUM if self.delay_minimum is None else self.delay_minimum

    @property
    def reload(self) -> int:
        return DEFAULT_DELAY_RELOAD if self.delay_reload is None else self.delay_reload

    def is_empty(self) -> bool:
        return (
            not self.groups and self.version == 1 and not self.use_bia and not self.delay_configured
        )

    def ordered(self) -> list[StandbyGroup]:
        return [self.groups[n] for n in sorted(self.groups)]

    def _delay_over(self) -> None:
        self.owner.debug("events", f"{short_name(self.name)} Interface delay expired")
        for group in self.ordered():
            group.enable()

    def config_lines(self) -> list[str]:
        out = []
        if self.delay_configured:
            out.append(f" standby delay minimum {self.minimum} reload {self.reload}")
        if self.version == 2:
            out.append(" standby version 2")
        if self.use_bia:
            out.append(" standby use-bia")
        for group in self.ordered():
            out += group.config_lines()
        return out


# --------------------------------------------------------------------------- the feature


class Hsrp(Feature):
    """HSRP on every interface of a router.

    The API for other features (inter-device redundancy): ``group_by_name(name)``, a group's
    ``state`` / ``is_active``, and ``subscribe(callback)`` for state changes; the callback
    gets ``(group, old_state, new_state)`` after each change.
    """

    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.settings: dict[str, StandbyInterface] = {}
        self._subscribers: list[StateCallback] = []
        # Interfaces that came up since this boot: the first up uses the reload delay.
        self._came_up: set[str] = set()
        self._ident = itertools.count(1)
        router.feature(Ip).udp_handlers[HSRP_PORT] = self._receive
        interfaces = router.feature(Interfaces)
        interfaces.listeners.append(self._interface_changed)
        interfaces.shutdown_listeners.append(self._interface_shutting_down)

    # --- public API ----------------------------------------------------------------------

    def groups(self) -> list[StandbyGroup]:
        out: list[StandbyGroup] = []
        order = self.router.feature(Interfaces).ordered()
        for iface in order:
            settings = self.settings.get(iface.name)
            if settings is not None:
                out += settings.ordered()
        return out

    def group_by_name(self, name: str) -> StandbyGroup | None:
        """The group whose redundancy name (``standby name``, or the default) is ``name``."""
        for group in self.groups():
            if group.group_name == name:
                return group
        return None

    def subscribe(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(group, old, new)`` after every state change; returns unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def notify(self, group: StandbyGroup, old: State, new: State) -> None:
        for callback in list(self._subscribers):
            try:
                callback(group, old, new)
            except Exception:
                log.exception("%s: HSRP state subscriber failed", self.router.name)

    # --- lookup and configuration --------------------------------------------------------

    def interface_settings(self, name: str) -> StandbyInterface:
        if name not in self.settings:
            self.settings[name] = StandbyInterface(self, name)
        return self.settings[name]

    def group(self, interface: str, number: int | None, create: bool = True) -> StandbyGroup | None:
        settings = self.interface_settings(interface)
        n = 0 if number is None else number
        group = settings.groups.get(n)
        if group is None and create:
            group = StandbyGroup(self, interface, n, explicit=number is not None)
            settings.groups[n] = group
        return group

    def changed(self, group: StandbyGroup) -> None:
        """A group's configuration changed: drop it if empty, else (re)start it."""
        settings = self.interface_settings(group.interface)
        if group.is_empty():
            group.disable()
            del settings.groups[group.number]
        else:
            group.reevaluate()
        self.prune(group.interface)

    def prune(self, interface: str) -> None:
        settings = self.settings.get(interface)
        if settings is not None and settings.is_empty():
            del self.settings[interface]

    def interface_up(self, name: str) -> bool:
        iface = self.router.feature(Interfaces).interfaces.get(name)
        return iface is not None and iface.protocol_up

    def next_ident(self) -> int:
        return next(self._ident) & 0xFFFF

    # --- interface events ------------------------------------------------------------------

    def _interface_changed(self, iface: Interface) -> None:
        first = iface.name not in self._came_up
        if iface.protocol_up:
            self._came_up.add(iface.name)
        settings = self.settings.get(iface.name)
        if settings is not None and settings.groups:
            if iface.protocol_up:
                self._interface_came_up(settings, first)
            else:
                self.debug("events", f"{short_name(iface.name)} Interface down")
                settings.delay_timer.stop()
                for group in settings.ordered():
                    group.disable(resign=False)
        # Tracking: every group that watches this interface re-computes its priority.
        for group in self.groups():
            if iface.name in group.tracks:
                group.priority_changed()

    def _interface_came_up(self, settings: StandbyInterface, first: bool) -> None:
        self.debug("events", f"{short_name(settings.name)} Interface up")
        if settings.delay_configured:
            delay, kind = (settings.reload, "reload") if first else (settings.minimum, "minimum")
            delay = max(delay, settings.minimum)
            if delay > 0:
                self.debug(
                    "events",
                    f"{short_name(settings.name)} Starting {kind} interface delay ({delay} secs)",
                )
                settings.delay_timer.start(delay)
                return
        for group in settings.ordered():
            group.enable()

    def _interface_shutting_down(self, iface: Interface) -> None:
        """``shutdown``: the Active resigns while the line is still up, then all go Init."""
        settings = self.settings.get(iface.name)
        if settings is None:
            return
        settings.delay_timer.stop()
        for group in settings.ordered():
            group.disable(resign=True)

    def started(self) -> None:
        for settings in self.settings.values():
            if self.interface_up(settings.name):
                for group in settings.ordered():
                    group.enable()

    def stopped(self) -> None:
        # A reload or power-off is abrupt: no Resign, the peers time the Active out. The
        # groups stop answering for their virtual IPs at once.
        self._subscribers.clear()
        for settings in self.settings.values():
            settings.delay_timer.stop()
            for group in settings.ordered():
                group.halt()
                group.state = State.INIT if group.virtual_ip or group.learn else State.DISABLED

    # --- packets -------------------------------------------------------------------------

    def _receive(self, name: str, eth: Ethernet, packet: IPv4, datagram: Udp) -> None:
        settings = self.settings.get(name)
        if settings is None:
            return
        expected = V2_ADDRESS if settings.version == 2 else V1_ADDRESS
        if packet.dst != expected:
            return  # the other version's hellos: a v1 router does not hear v2 and back
        iface = self.router.feature(Interfaces).interfaces.get(name)
        if iface is None or iface.address is None or packet.src == iface.address.ip:
            return
        try:
            message = HsrpPacket.decode(datagram.payload, settings.version)
        except PacketError as e:
            self.debug("errors", f"{short_name(name)} bad packet from {packet.src}: {e}")
            return
        group = settings.groups.get(message.group)
        if group is None:
            return
        self.debug_packet(group, message, "in", packet.src)
        group.receive(message, packet.src, mac_text(eth.src))

    # --- what the router answers for -----------------------------------------------------

    def virtual_addresses(self, interface: str) -> list[tuple[IPv4Address, str]]:
        settings = self.settings.get(interface)
        if settings is None:
            return []
        out: list[tuple[IPv4Address, str]] = []
        for group in settings.ordered():
            if group.is_active:
                out += [(address, group.local_mac) for address in group.addresses()]
        return out

    def interface_config(self, name: str) -> list[str]:
        settings = self.settings.get(name)
        return settings.config_lines() if settings is not None else []

    # --- debugging -----------------------------------------------------------------------

    def debug(self, kind: str, text: str) -> None:
        logger = self.router.log
        if logger.debugging("standby") or logger.debugging(f"standby.{kind}"):
            logger.debug(f"HSRP: {text}")

    def debug_packet(
        self, group: StandbyGroup, packet: HsrpPacket, direction: str, source: IPv4Address
    ) -> None:
        self.debug(
            "packets",
            f"{short_name(group.interface)} Grp {group.number} {OP_NAMES[packet.op]:<6} "
            f"{direction:<3} {source} {packet.state.value:<7} pri {packet.priority} "
            f"vIP {packet.vip}",
        )


# --------------------------------------------------------------------------- commands

_HELP_STANDBY = "HSRP interface configuration commands|group number"
_GROUP = "standby [<0-255>$group]"


def _group(ctx: Ctx, number: int | None) -> StandbyGroup:
    group = ctx.feature(Hsrp).group(ctx.context.name, number)
    assert group is not None
    return group


def _existing(ctx: Ctx, number: int | None) -> StandbyGroup | None:
    """For ``no`` forms: the group if it exists (a ``no`` never creates one)."""
    hsrp = ctx.feature(Hsrp)
    group = hsrp.group(ctx.context.name, number, create=False)
    if group is None:
        hsrp.prune(ctx.context.name)
    return group


@command(
    INTERFACE,
    f"[no] {_GROUP} ip [A.B.C.D$address [secondary]]",
    help=f"{_HELP_STANDBY}|Enable HSRP and set the virtual IP address|Virtual IP address|"
    "Make this IP address a secondary virtual IP address",
)
def standby_ip(ctx: Ctx, group: int | None = None, address: IPv4Address | None = None) -> None:
    secondary = ctx.has("secondary")
    if ctx.negate:
        g = _existing(ctx, group)
        if g is None:
            return
        if secondary and address is not None:
            if address in g.secondaries:
                g.secondaries.remove(address)
        elif address is None or address == g.vip:
            g.vip = None
            g.learn = False
        ctx.feature(Hsrp).changed(g)
        return
    g = _group(ctx, group)
    if secondary:
        assert address is not None
        if address not in g.secondaries and address != g.vip:
            g.secondaries.append(address)
    else:
        g.vip = address
        g.learn = address is None
        g.learned_vip = None
        if address in g.secondaries:
            g.secondaries.remove(address)
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    f"[no] {_GROUP} priority <0-255>$priority",
    help=f"{_HELP_STANDBY}|Priority level|Priority value",
)
def standby_priority(ctx: Ctx, group: int | None = None, priority: int | None = None) -> None:
    g = _existing(ctx, group) if ctx.negate else _group(ctx, group)
    if g is None:
        return
    g.priority = DEFAULT_PRIORITY if ctx.negate or priority is None else priority
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    f"[no] {_GROUP} preempt "
    "[delay [minimum <0-3600>$minimum|reload <0-3600>$reload|sync <0-3600>$sync]*]",
    help=f"{_HELP_STANDBY}|Overthrow lower priority Active routers|Wait before preempting|"
    "Delay at least this long|Number of seconds for minimum delay|Delay after reload|"
    "Number of seconds for reload delay|Wait for IP redundancy clients|"
    "Number of seconds for IP redundancy clients",
)
def standby_preempt(
    ctx: Ctx,
    group: int | None = None,
    minimum: int | None = None,
    reload: int | None = None,
    sync: int | None = None,
) -> None:
    g = _existing(ctx, group) if ctx.negate else _group(ctx, group)
    if g is None:
        return
    g.preempt_minimum, g.preempt_reload, g.preempt_sync = minimum, reload, sync
    if ctx.negate:
        g.preempt_minimum = g.preempt_reload = g.preempt_sync = None
        # "no standby preempt delay" keeps preemption, without delays.
        g.preempt = g.preempt and ctx.has("delay")
        g.preempt_timer.stop()
    else:
        g.preempt = True
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    f"[no] {_GROUP} name WORD$name",
    help=f"{_HELP_STANDBY}|Redundancy name string|name string",
)
def standby_name(ctx: Ctx, group: int | None = None, name: str | None = None) -> None:
    g = _existing(ctx, group) if ctx.negate else _group(ctx, group)
    if g is None:
        return
    g.name = None if ctx.negate else name
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    f"[no] {_GROUP} timers {{<1-254>$hello|msec <15-999>$hello_ms}} "
    "{<1-255>$hold|msec <50-3000>$hold_ms}",
    help=f"{_HELP_STANDBY}|Hello and hold timers|Hello interval in seconds|"
    "Specify hello interval in milliseconds|Hello interval in milliseconds|"
    "Hold time in seconds|Specify hold time in milliseconds|Hold time in milliseconds",
)
def standby_timers(
    ctx: Ctx,
    group: int | None = None,
    hello: int | None = None,
    hello_ms: int | None = None,
    hold: int | None = None,
    hold_ms: int | None = None,
) -> None:
    if ctx.negate:
        g = _existing(ctx, group)
        if g is None:
            return
        g.timers = None
        g.learned_hello_ms, g.learned_hold_ms = DEFAULT_HELLO_MS, DEFAULT_HOLD_MS
        ctx.feature(Hsrp).changed(g)
        return
    hello_value = hello_ms if hello_ms is not None else (hello or 0) * 1000
    hold_value = hold_ms if hold_ms is not None else (hold or 0) * 1000
    if hold_value <= hello_value:
        raise CommandError("% Hold time must be greater than hello time")  # invented text
    g = _group(ctx, group)
    g.timers = Timers(hello_value, hold_value, hello_ms is not None, hold_ms is not None)
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    f"[no] {_GROUP} authentication {{WORD$word|text WORD$text}}",
    help=f"{_HELP_STANDBY}|Authentication|Plain text authentication string (8 chars max)|"
    "Plain text authentication|Plain text authentication string (8 chars max)",
)
def standby_authentication(
    ctx: Ctx, group: int | None = None, word: str | None = None, text: str | None = None
) -> None:
    secret = text if text is not None else word
    if not ctx.negate and secret is not None and len(secret) > 8:
        raise CommandError("% Authentication string too long (8 chars max)")  # invented text
    g = _existing(ctx, group) if ctx.negate else _group(ctx, group)
    if g is None:
        return
    if ctx.negate or secret is None:
        g.auth, g.auth_text_keyword = DEFAULT_AUTH, False
    else:
        g.auth, g.auth_text_keyword = secret, text is not None
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    f"[no] {_GROUP} track INTERFACE$tracked [decrement <1-255>$decrement]",
    help=f"{_HELP_STANDBY}|Priority tracking||Priority decrement|Decrement value",
)
def standby_track(
    ctx: Ctx, group: int | None = None, tracked: str | None = None, decrement: int | None = None
) -> None:
    if ctx.negate:
        g = _existing(ctx, group)
        if g is None:
            return
        if tracked is None:
            g.tracks.clear()
        else:
            g.tracks.pop(tracked, None)
    else:
        assert tracked is not None
        g = _group(ctx, group)
        g.tracks[tracked] = decrement
    ctx.feature(Hsrp).changed(g)


@command(
    INTERFACE,
    "[no] standby use-bia",
    help="HSRP interface configuration commands|HSRP uses interface's burned in address",
)
def standby_use_bia(ctx: Ctx) -> None:
    hsrp = ctx.feature(Hsrp)
    settings = hsrp.interface_settings(ctx.context.name)
    if settings.use_bia != (not ctx.negate):
        _restart(settings, lambda: setattr(settings, "use_bia", not ctx.negate))
    hsrp.prune(settings.name)


@command(
    INTERFACE,
    "[no] standby version <1-2>$version",
    help="HSRP interface configuration commands|HSRP version|Version",
)
def standby_version(ctx: Ctx, version: int | None = None) -> None:
    hsrp = ctx.feature(Hsrp)
    settings = hsrp.interface_settings(ctx.context.name)
    new = 1 if ctx.negate or version is None else version
    if settings.version != new:
        _restart(settings, lambda: setattr(settings, "version", new))
    hsrp.prune(settings.name)


def _restart(settings: StandbyInterface, change: Callable[[], None]) -> None:
    """Version and MAC changes restart every group of the interface."""
    for group in settings.ordered():
        group.disable()
    change()
    for group in settings.ordered():
        group.reevaluate()


@command(
    INTERFACE,
    "[no] standby delay {minimum <0-10000>$minimum [reload <0-10000>$reload]|"
    "reload <0-10000>$reload}",
    help="HSRP interface configuration commands|HSRP initialisation delay|"
    "Delay at least this long|Seconds to delay|Delay after reload|Seconds to delay after reload|"
    "Delay after reload|Seconds to delay after reload",
)
def standby_delay(ctx: Ctx, minimum: int | None = None, reload: int | None = None) -> None:
    hsrp = ctx.feature(Hsrp)
    settings = hsrp.interface_settings(ctx.context.name)
    if ctx.negate:
        settings.delay_minimum = settings.delay_reload = None
    else:
        settings.delay_minimum = DEFAULT_DELAY_MINIMUM if minimum is None else minimum
        settings.delay_reload = DEFAULT_DELAY_RELOAD if reload is None else reload
    hsrp.prune(settings.name)


# --------------------------------------------------------------------------- debug

declare_debug("standby", "Hot standby protocol", DebugFlag("standby", "HSRP", "HSRP"))
declare_debug(
    "standby errors",
    "Hot standby protocol|HSRP errors",
    DebugFlag("standby.errors", "HSRP", "HSRP Errors"),
)
declare_debug(
    "standby events",
    "Hot standby protocol|HSRP events",
    DebugFlag("standby.events", "HSRP", "HSRP Events"),
)
declare_debug(
    "standby packets",
    "Hot standby protocol|HSRP packets",
    DebugFlag("standby.packets", "HSRP", "HSRP Packets"),
)


# --------------------------------------------------------------------------- show


def _elapsed(router: Router, since: float) -> str:
    return uptime_stamp(router.loop.time() - since)


def _time_text(ms: int, msec: bool) -> str:
    if msec or ms % 1000:
        return f"{ms} msec"
    return f"{ms // 1000} sec"


def show_group_lines(group: StandbyGroup) -> list[str]:
    """The block of ``show standby`` for one group (IOS 15.1 layout)."""
    router = group.router
    settings = group.settings
    header = f"{group.interface} - Group {group.number}"
    if settings.version == 2:
        header += " (version 2)"
    state = group.state.value
    reason = group.init_reason() if group.state is State.INIT else ""
    if reason and reason != "delay":
        state += f" ({reason})"
    out = [header, f"  State is {state}"]
    if group.state_changes and group.last_change is not None:
        plural = "" if group.state_changes == 1 else "s"
        out.append(
            f"    {group.state_changes} state change{plural}, "
            f"last state change {_elapsed(router, group.last_change)}"
        )
    vip = group.virtual_ip
    out.append(f"  Virtual IP address is {vip if vip is not None else 'unknown'}")
    out += [f"    Secondary virtual IP address {a}" for a in group.secondaries]
    if group.is_active:
        active_mac = group.local_mac
    elif group.active_peer is not None:
        active_mac = group.active_peer.mac
    else:
        active_mac = "unknown"
    out.append(f"  Active virtual MAC address is {active_mac}")
    kind = "bia" if settings.use_bia else f"v{settings.version} default"
    out.append(f"    Local virtual MAC address is {group.local_mac} ({kind})")
    hello = _time_text(group.hello_ms, bool(group.timers and group.timers.hello_in_msec))
    hold = _time_text(group.hold_ms, bool(group.timers and group.timers.hold_in_msec))
    out.append(f"  Hello time {hello}, hold time {hold}")
    if group.hello_timer.running:
        out.append(f"    Next hello sent in {group.hello_timer.remaining():.3f} secs")
    if group.auth != DEFAULT_AUTH:
        out.append(f'  Authentication text, string "{group.auth}"')
    if group.preempt:
        delays = [
            f"{word} {value} secs"
            for word, value in (
                ("min", group.preempt_minimum),
                ("reload", group.preempt_reload),
                ("sync", group.preempt_sync),
            )
            if value is not None
        ]
        out.append("  Preemption enabled" + (", delay " + ", ".join(delays) if delays else ""))
    else:
        out.append("  Preemption disabled")
    if group.is_active:
        out.append("  Active router is local")
    elif group.active_peer is not None:
        peer = group.active_peer
        out.append(
            f"  Active router is {peer.address}, priority {peer.priority} "
            f"(expires in {group.active_timer.remaining():.3f} sec)"
        )
        if settings.version == 2 and peer.identifier:
            out.append(f"    MAC address is {peer.identifier}")
    else:
        out.append("  Active router is unknown")
    if group.state is State.STANDBY:
        out.append("  Standby router is local")
    elif group.standby_peer is not None:
        peer = group.standby_peer
        out.append(
            f"  Standby router is {peer.address}, priority {peer.priority} "
            f"(expires in {group.standby_timer.remaining():.3f} sec)"
        )
    else:
        out.append("  Standby router is unknown")
    if group.priority != DEFAULT_PRIORITY:
        out.append(f"  Priority {group.current_priority} (configured {group.priority})")
    else:
        out.append(f"  Priority {group.current_priority} (default {DEFAULT_PRIORITY})")
    for name, decrement in group.tracks.items():
        up = "Up" if group.owner.interface_up(name) else "Down"
        amount = DEFAULT_DECREMENT if decrement is None else decrement
        out.append(f"    Track interface {name} state {up} decrement {amount}")
    cfgd = "cfgd" if group.name is not None else "default"
    out.append(f'  Group name is "{group.group_name}" ({cfgd})')
    return out


BRIEF_HEADER = [
    "                     P indicates configured to preempt.",
    "                     |",
    "Interface   Grp  Pri P State   Active          Standby         Virtual IP",
]


def brief_line(group: StandbyGroup) -> str:
    if group.is_active:
        active = "local"
    else:
        active = str(group.active_peer.address) if group.active_peer else "unknown"
    if group.state is State.STANDBY:
        standby = "local"
    else:
        standby = str(group.standby_peer.address) if group.standby_peer else "unknown"
    vip = group.virtual_ip
    return (
        f"{short_name(group.interface):<11} {group.number:<4} {group.current_priority:<3} "
        f"{'P' if group.preempt else ' '} {group.state.value:<7} {active:<15} {standby:<15} "
        f"{vip if vip is not None else 'unknown'}"
    )


@command(
    EXEC,
    "show standby [INTERFACE$name [<0-255>$group]] [brief]",
    help="|Hot standby protocol information||group number|Brief output",
    priv=1,
)
def show_standby(ctx: Ctx, name: str | None = None, group: int | None = None) -> None:
    groups = [
        g
        for g in ctx.feature(Hsrp).groups()
        if (name is None or g.interface == name) and (group is None or g.number == group)
    ]
    if ctx.has("brief"):
        ctx.print(*BRIEF_HEADER, *(brief_line(g) for g in groups))
        return
    for g in groups:
        ctx.print(*show_group_lines(g))


@command(
    EXEC,
    "show standby delay",
    help="|Hot standby protocol information|Group initialisation delay configuration",
    priv=1,
)
def show_standby_delay(ctx: Ctx) -> None:
    hsrp = ctx.feature(Hsrp)
    ctx.print(f"{'Interface':<18} {'Minimum':<7} Reload ")
    for iface in ctx.feature(Interfaces).ordered():
        settings = hsrp.settings.get(iface.name)
        if settings is not None and settings.delay_configured:
            ctx.print(f"{iface.name:<18} {settings.minimum:<7} {settings.reload:<6}")
