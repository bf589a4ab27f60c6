"""Interfaces: GigabitEthernet0/0-0/1 of a 3825-class router, and loopbacks.

Owns interface configuration (address, shutdown, duplex, speed, media type, description),
the link and line-protocol state with their syslog messages, and ``show interfaces`` /
``show ip interface brief``. Other features add lines inside an interface block
(``Feature.interface_config``) and listen to state changes (``Interfaces.listeners``).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface

from iosemu.device.router import Feature, Router
from iosemu.parser.grammar import CONFIG, EXEC, Composite, command
from iosemu.parser.tokens import TYPED, Accepted, Keyword, TokenKind, register_kind
from iosemu.session import CommandError, Ctx, config_mode

# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class InterfaceType:
    name: str  # GigabitEthernet
    short: str  # Gi
    help: str  # help of the type keyword
    number: str  # regular expression of the number part
    number_display: str  # how ? shows the number
    physical: bool


INTERFACE_TYPES = [
    InterfaceType("GigabitEthernet", "Gi", "GigabitEthernet IEEE 802.3z", r"0/[01]", "<0-0>", True),
    InterfaceType("Loopback", "Lo", "Loopback interface", r"\d{1,10}", "<0-2147483647>", False),
]


class InterfaceNumber(TokenKind):
    """The number after an interface type: ``0/1`` or ``7``; binds the canonical name."""

    default_name = "interface"

    def __init__(self, itype: InterfaceType) -> None:
        self.itype = itype
        self.display = itype.number_display
        self.regex = re.compile(itype.number)

    def accept(self, text: str) -> Accepted | None:
        if not self.regex.fullmatch(text):
            return None
        if not self.itype.physical:
            # Loopback07 is Loopback7: the canonical name has no leading zeros.
            number = int(text)
            if number > 2147483647:
                return None
            text = str(number)
        return Accepted(TYPED, self.itype.name + text)

    def partial(self, text: str) -> int:
        for n in range(len(text), 0, -1):
            head = text[:n]
            if self.regex.fullmatch(head) or any(
                self.regex.fullmatch(head + tail) for tail in ("0", "/0", "0/0")
            ):
                return n
        return 0

    def key(self) -> tuple[str, str]:
        return ("InterfaceNumber", self.itype.name)


class InterfaceName(Composite):
    """``INTERFACE`` in syntax strings: a type keyword, then its number (``gi0/0`` too)."""

    display = "INTERFACE"
    default_name = "interface"

    def alternatives(self) -> list[list[tuple[TokenKind, str]]]:
        return [
            [
                (Keyword(t.name, glue=True), t.help),
                (InterfaceNumber(t), f"{t.name} interface number"),
            ]
            for t in INTERFACE_TYPES
        ]


register_kind("INTERFACE", InterfaceName())


def short_name(name: str) -> str:
    """``GigabitEthernet0/0`` -> ``Gi0/0``."""
    for t in INTERFACE_TYPES:
        if name.startswith(t.name):
            return t.short + name[len(t.name) :]
    return name


def interface_type(name: str) -> InterfaceType:
    for t in INTERFACE_TYPES:
        if name.startswith(t.name):
            return t
    raise KeyError(name)


@functools.lru_cache(maxsize=1024)
def _sort_key(name: str) -> tuple[int, tuple[int, ...]]:
    # Cached: routing sorts the interfaces for every packet sent (Ip.route).
    t = interface_type(name)
    return (
        INTERFACE_TYPES.index(t),
        tuple(int(n) for n in re.findall(r"\d+", name[len(t.name) :])),
    )


# --------------------------------------------------------------------------- state


@dataclass
class Counters:
    packets_in: int = 0
    bytes_in: int = 0
    broadcasts_in: int = 0
    multicasts_in: int = 0
    packets_out: int = 0
    bytes_out: int = 0
    last_input: float | None = None  # lab time
    last_output: float | None = None
    resets: int = 0


@dataclass
class Interface:
    name: str
    mac: str
    description: str = ""
    address: IPv4Interface | None = None
    address_method: str = "unset"  # unset, NVRAM, manual
    shutdown: bool = True
    duplex: str = "auto"
    speed: str = "auto"
    media_type: str = "rj45"
    # A cable to a segment: set by the lab topology.
    cabled: bool = False
    link_up: bool = False  # carrier seen (follows shutdown and cabling, with a delay)
    protocol_up: bool = False
    counters: Counters = field(default_factory=Counters)

    @property
    def physical(self) -> bool:
        return interface_type(self.name).physical

    @property
    def status(self) -> str:
        if self.shutdown:
            return "administratively down"
        return "up" if self.link_up else "down"

    @property
    def up(self) -> bool:
        return self.protocol_up


StateListener = Callable[[Interface], None]

LINK_DELAY = 2.0  # no shutdown -> %LINK-3-UPDOWN up
PROTOCOL_DELAY = 1.0  # link up -> %LINEPROTO-5-UPDOWN up


class Interfaces(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        base = router.mac_base
        self.interfaces: dict[str, Interface] = {}
        for port in (0, 1):
            name = f"GigabitEthernet0/{port}"
            self.interfaces[name] = Interface(name, _mac(base + port))
        self.listeners: list[StateListener] = []
        # Told of a "shutdown" while the line protocol is still up (HSRP sends its Resign).
        self.shutdown_listeners: list[StateListener] = []
        self._booted = False
        # The sorted names, for the names they were sorted from (ordered() runs per packet).
        self._order: tuple[tuple[str, ...], list[str]] = ((), [])

    def get(self, name: str) -> Interface:
        return self.interfaces[name]

    def ordered(self) -> list[Interface]:
        names = tuple(self.interfaces)
        if names != self._order[0]:
            self._order = (names, sorted(names, key=_sort_key))
        return [self.interfaces[n] for n in self._order[1]]

    def create(self, name: str) -> Interface:
        if name not in self.interfaces:
            t = interface_type(name)
            if t.physical:
                raise CommandError("% Invalid input detected at '^' marker.")
            iface = Interface(name, self.interfaces["GigabitEthernet0/0"].mac, shutdown=False)
            self.interfaces[name] = iface
            if self._booted:
                self._set_link(iface)
        return self.interfaces[name]

    def remove(self, name: str) -> None:
        iface = self.interfaces.get(name)
        if iface is None:
            return
        if iface.physical:
            raise CommandError("% Removal of physical interfaces is not permitted")  # invented
        iface.shutdown = True
        self._set_link(iface, now=True, quiet=True)
        del self.interfaces[name]

    # --- state -----------------------------------------------------------------------

    def started(self) -> None:
        """After boot: bring up what is configured up, as the boot log shows."""
        self._booted = True
        for iface in self.ordered():
            if iface.shutdown:
                if iface.physical:
                    self.router.log.log(
                        "LINK",
                        5,
                        "CHANGED",
                        f"Interface {iface.name}, changed state to administratively down",
                    )
            else:
                self._set_link(iface)

    def set_shutdown(self, iface: Interface, shutdown: bool) -> None:
        if iface.shutdown == shutdown:
            return
        iface.shutdown = shutdown
        if self._booted:
            self._set_link(iface)
            if shutdown:
                for listener in list(self.shutdown_listeners):
                    listener(iface)

    def set_cabled(self, iface: Interface, cabled: bool) -> None:
        """The lab plugs or pulls the cable."""
        iface.cabled = cabled
        if self._booted:
            self._set_link(iface)

    def _set_link(self, iface: Interface, now: bool = False, quiet: bool = False) -> None:
        log = self.router.log
        if iface.shutdown:
            if not quiet:
                log.log(
                    "LINK",
                    5,
                    "CHANGED",
                    f"Interface {iface.name}, changed state to administratively down",
                )
            was_up = iface.protocol_up
            iface.link_up = False
            if was_up:
                self.router.call_later(0 if now else PROTOCOL_DELAY, self._protocol, iface, False)
            return
        if not iface.physical:  # a loopback is up as soon as it is enabled
            iface.link_up = True
            log.log("LINK", 3, "UPDOWN", f"Interface {iface.name}, changed state to up")
            self._protocol(iface, True)
            return
        self.router.call_later(0 if now else LINK_DELAY, self._link, iface, iface.cabled)

    def _link(self, iface: Interface, carrier: bool) -> None:
        if iface.shutdown or (carrier and iface.link_up):
            return
        was_up = iface.link_up
        iface.link_up = carrier
        state = "up" if carrier else "down"
        self.router.log.log(
            "LINK", 3, "UPDOWN", f"Interface {iface.name}, changed state to {state}"
        )
        if carrier:
            iface.counters.resets += 1
        if carrier or was_up:
            self.router.call_later(PROTOCOL_DELAY, self._protocol, iface, carrier)

    def _protocol(self, iface: Interface, up: bool) -> None:
        if iface.link_up != up or iface.protocol_up == up:
            return
        iface.protocol_up = up
        state = "up" if up else "down"
        self.router.log.log(
            "LINEPROTO",
            5,
            "UPDOWN",
            f"Line protocol on Interface {iface.name}, changed state to {state}",
        )
        for listener in list(self.listeners):
            listener(iface)

    # --- configuration ---------------------------------------------------------------

    def config(self, slot: str) -> list[str]:
        if slot != "interfaces":
            return []
        out: list[str] = []
        for iface in self.ordered():
            out.append(f"interface {iface.name}")
            out += self.block(iface)
            out.append("!")
        return out

    def block(self, iface: Interface) -> list[str]:
        out = []
        if iface.description:
            out.append(f" description {iface.description}")
        if iface.address is None:
            out.append(" no ip address")
        else:
            out.append(f" ip address {iface.address.ip} {iface.address.netmask}")
        for feature in self.router.features.values():
            out += feature.interface_config(iface.name)
        if iface.shutdown:
            out.append(" shutdown")
        if iface.physical:
            out += [
                f" duplex {iface.duplex}",
                f" speed {iface.speed}",
                f" media-type {iface.media_type}",
            ]
        return out

    def owner_of(self, address: IPv4Address) -> Interface | None:
        for iface in self.interfaces.values():
            if iface.address is not None and iface.address.ip == address:
                return iface
        return None


def _mac(value: int) -> str:
    h = f"{value:012x}"
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


# --------------------------------------------------------------------------- commands

INTERFACE = config_mode("interface", "(config-if)")


@command(CONFIG, "interface INTERFACE$name", help="Select an interface to configure")
def interface_cmd(ctx: Ctx, name: str) -> None:
    interfaces = ctx.feature(Interfaces)
    iface = interfaces.create(name)
    if ctx.session.booting:
        # Saved configurations show "shutdown" but never "no shutdown": an interface block
        # being loaded starts from "no shutdown", as IOS's startup-config does.
        interfaces.set_shutdown(iface, False)
    ctx.enter(INTERFACE, iface)


@command(CONFIG, "no interface INTERFACE$name", help="|Select an interface to configure")
def no_interface(ctx: Ctx, name: str) -> None:
    ctx.feature(Interfaces).remove(name)


@command(
    INTERFACE,
    "[no] ip address A.B.C.D$address A.B.C.D$mask",
    help="Interface Internet Protocol config commands|Set the IP address of an interface|"
    "IP address|IP subnet mask",
    no_syntax="ip address [A.B.C.D$address A.B.C.D$mask]",
)
def ip_address(
    ctx: Ctx, address: IPv4Address | None = None, mask: IPv4Address | None = None
) -> None:
    iface: Interface = ctx.context
    feature = ctx.feature(Interfaces)
    if ctx.negate:
        iface.address = None
        iface.address_method = "unset" if ctx.session.booting else "manual"
        return
    assert address is not None and mask is not None
    bits = int(mask)
    inverted = ~bits & 0xFFFFFFFF
    if inverted & (inverted + 1):
        raise CommandError(f"Bad mask 0x{bits:X} for address {address}")
    new = IPv4Interface(f"{address}/{mask}")
    if new.network.prefixlen < 31 and address in (
        new.network.network_address,
        new.network.broadcast_address,
    ):
        raise CommandError(f"Bad mask /{new.network.prefixlen} for address {address}")
    for other in feature.interfaces.values():
        if other is iface or other.address is None:
            continue
        if other.address.network.overlaps(new.network):
            raise CommandError(f"% {new.network.network_address} overlaps with {other.name}")
    iface.address = new
    iface.address_method = "NVRAM" if ctx.session.booting else "manual"


@command(INTERFACE, "[no] shutdown", help="Shutdown the selected interface")
def shutdown(ctx: Ctx) -> None:
    ctx.feature(Interfaces).set_shutdown(ctx.context, not ctx.negate)


@command(
    INTERFACE,
    "[no] description LINE$text",
    help="Interface specific description|Up to 240 characters describing this interface",
)
def description(ctx: Ctx, text: str = "") -> None:
    if len(text) > 240:
        raise CommandError("% Description too long")  # invented
    ctx.context.description = "" if ctx.negate else text


@command(
    INTERFACE,
    "[no] duplex {auto|full|half}$value",
    help="Configure duplex operation.|Enable AUTO duplex configuration|"
    "Force full duplex operation|Force half-duplex operation",
)
def duplex(ctx: Ctx, value: str = "auto") -> None:
    ctx.context.duplex = "auto" if ctx.negate else value


@command(
    INTERFACE,
    "[no] speed {10|100|1000|auto}$value",
    help="Configure speed operation.|Force 10 Mbps operation|Force 100 Mbps operation|"
    "Force 1000 Mbps operation|Enable AUTO speed configuration",
)
def speed(ctx: Ctx, value: str = "auto") -> None:
    ctx.context.speed = "auto" if ctx.negate else value


@command(
    INTERFACE,
    "[no] media-type {rj45|sfp}$value",
    help="Media type|Use RJ45 connector|Use SFP connector",
)
def media_type(ctx: Ctx, value: str = "rj45") -> None:
    ctx.context.media_type = "rj45" if ctx.negate else value


# --------------------------------------------------------------------------- show


def _since(router: Router, t: float | None) -> str:
    if t is None:
        return "never"
    s = int(router.loop.time() - t)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def show_interface_lines(router: Router, iface: Interface) -> list[str]:
    c = iface.counters
    proto = "up" if iface.protocol_up else "down"
    out = [f"{iface.name} is {iface.status}, line protocol is {proto} "]
    if iface.physical:
        out.append(f"  Hardware is BCM1125 Internal MAC, address is {iface.mac} (bia {iface.mac})")
    else:
        out.append("  Hardware is Loopback")
    if iface.description:
        out.append(f"  Description: {iface.description}")
    if iface.address is not None:
        out.append(f"  Internet address is {iface.address.with_prefixlen}")
    if iface.physical:
        out += [
            "  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec, ",
            "     reliability 255/255, txload 1/255, rxload 1/255",
            "  Encapsulation ARPA, loopback not set",
            "  Keepalive set (10 sec)",
        ]
        if iface.link_up:
            out.append("  Full Duplex, 1Gbps, media type is RJ45")
        else:
            out.append("  Auto-duplex, Auto Speed, media type is RJ45")
        out += [
            "  output flow-control is XON, input flow-control is XON",
            "  ARP type: ARPA, ARP Timeout 04:00:00",
        ]
    else:
        out += [
            "  MTU 1514 bytes, BW 8000000 Kbit/sec, DLY 5000 usec, ",
            "     reliability 255/255, txload 1/255, rxload 1/255",
            "  Encapsulation LOOPBACK, loopback not set",
            "  Keepalive set (10 sec)",
        ]
    out += [
        f"  Last input {_since(router, c.last_input)}, output {_since(router, c.last_output)}, "
        "output hang never",
        '  Last clearing of "show interface" counters never',
        "  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0",
        "  Queueing strategy: fifo",
        "  Output queue: 0/40 (size/max)" if iface.physical else "  Output queue: 0/0 (size/max)",
        "  5 minute input rate 0 bits/sec, 0 packets/sec",
        "  5 minute output rate 0 bits/sec, 0 packets/sec",
        f"     {c.packets_in} packets input, {c.bytes_in} bytes, 0 no buffer",
        f"     Received {c.broadcasts_in} broadcasts ({c.multicasts_in} IP multicasts)",
        "     0 runts, 0 giants, 0 throttles",
    ]
    if iface.physical:
        out += [
            "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored",
            f"     0 watchdog, {c.multicasts_in} multicast, 0 pause input",
            f"     {c.packets_out} packets output, {c.bytes_out} bytes, 0 underruns",
            f"     0 output errors, 0 collisions, {c.resets} interface resets",
            "     0 unknown protocol drops",
            "     0 babbles, 0 late collision, 0 deferred",
            "     0 lost carrier, 0 no carrier, 0 pause output",
            "     0 output buffer failures, 0 output buffers swapped out",
        ]
    else:
        out += [
            "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored, 0 abort",
            f"     {c.packets_out} packets output, {c.bytes_out} bytes, 0 underruns",
            "     0 output errors, 0 collisions, 0 interface resets",
            "     0 unknown protocol drops",
            "     0 output buffer failures, 0 output buffers swapped out",
        ]
    return out


@command(
    EXEC,
    "show interfaces [INTERFACE$name]",
    help="|Interface status and configuration",
    priv=1,
)
def show_interfaces(ctx: Ctx, name: str | None = None) -> None:
    feature = ctx.feature(Interfaces)
    if name is None:
        targets = feature.ordered()
    elif name in feature.interfaces:
        targets = [feature.interfaces[name]]
    else:
        return
    for iface in targets:
        ctx.print(*show_interface_lines(ctx.router, iface))


@command(
    EXEC,
    "show ip interface brief",
    help="|IP information|IP interface status and configuration|"
    "Brief summary of IP status and configuration",
    priv=1,
)
def show_ip_interface_brief(ctx: Ctx) -> None:
    ctx.print(
        "Interface                  IP-Address      OK? Method Status                Protocol"
    )
    for iface in ctx.feature(Interfaces).ordered():
        address = str(iface.address.ip) if iface.address else "unassigned"
        proto = "up" if iface.protocol_up else "down"
        method = iface.address_method
        ctx.print(f"{iface.name:<26} {address:<15} YES {method:<6} {iface.status:<21} {proto}")


def parse_address(text: str) -> IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None
