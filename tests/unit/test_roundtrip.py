"""``render → parse → render`` is the identity (architecture, decision 2).

Random configurations built from the implemented configuration commands are typed into a
fresh router; its running configuration is loaded, as a startup-config would be, into
another fresh router through the parser; both must render the same text, and loading must
print nothing (no rendered line is one the parser rejects).
"""

from __future__ import annotations

import ipaddress
import os

import pytest
from helpers import Cli, fresh_lab, stable_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iosemu.boot import load_config
from iosemu.device.logging import SEVERITIES
from iosemu.features.access import md5_crypt
from iosemu.features.platform import SWITCHES
from iosemu.features.running_config import config_body, config_text

EXAMPLES = int(os.environ.get("IOSEMU_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- pieces

name = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,14}", fullmatch=True)
hostname = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
# Passwords are free text: printable ASCII with inner spaces, no '?' (the console's help key).
password = st.from_regex(r"[A-Za-z][!-~]{0,10}( [!-~]{1,5}){0,2}", fullmatch=True).filter(
    lambda p: "?" not in p
)
address = st.integers(0x01000000, 0xDFFFFFFF).map(ipaddress.IPv4Address)
level = st.one_of(
    st.integers(0, 7).map(str), st.sampled_from(SEVERITIES), st.sampled_from(["deb", "inf"])
)


def optional(piece: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), piece.map(lambda s: " " + s))


def no(line: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["", "no ", "default "]), line).map("".join)


stamp_style = st.one_of(
    st.just(""),
    st.just(" uptime"),
    st.lists(st.sampled_from(["msec", "localtime", "show-timezone", "year"]), max_size=4).map(
        lambda words: " datetime" + "".join(" " + w for w in words)
    ),
)

GLOBAL_LINES = st.one_of(
    hostname.map("hostname {}".format),
    password.map("enable secret {}".format),
    password.map("enable secret 0 {}".format),
    st.tuples(password, st.from_regex(r"[./0-9A-Za-z]{4}", fullmatch=True)).map(
        lambda ps: f"enable secret 5 {md5_crypt(*ps)}"
    ),
    st.just("no enable secret"),
    password.map("enable password {}".format),
    st.just("no enable password"),
    st.tuples(name, st.integers(-23, 23), optional(st.integers(0, 59).map(str))).map(
        lambda t: f"clock timezone {t[0]} {t[1]}{t[2]}"
    ),
    st.just("no clock timezone"),
    st.tuples(st.sampled_from(["debug", "log"]), stamp_style).map(
        lambda t: f"service timestamps {t[0]}{t[1]}"
    ),
    st.sampled_from(["debug", "log", ""]).map(lambda w: f"no service timestamps {w}".strip()),
    st.just("default service timestamps"),
    no(st.sampled_from(["console", "monitor"]).map("logging {}".format)),
    st.tuples(st.sampled_from(["console", "monitor"]), level).map(
        lambda t: f"logging {t[0]} {t[1]}"
    ),
    st.tuples(optional(st.integers(4096, 2147483647).map(str)), optional(level)).map(
        lambda t: f"logging buffered{t[0]}{t[1]}"
    ),
    st.sampled_from(["no logging buffered", "default logging buffered"]),
    no(st.just("ip domain lookup")),
    no(st.just("ip domain-lookup")),
    name.map("ip domain name {}".format),
    name.map("ip domain-name {}".format),
    st.just("no ip domain name"),
    st.tuples(name, address).map(lambda t: f"ip host {t[0]} {t[1]}"),
    name.map("no ip host {}".format),
    st.lists(address, min_size=1, max_size=6).map(
        lambda a: "ip name-server " + " ".join(map(str, a))
    ),
    address.map("no ip name-server {}".format),
    st.just("no ip name-server"),
    no(st.sampled_from([s.words for s in SWITCHES])),
    st.tuples(st.integers(3000, 60000), st.integers(1000, 4000)).map(
        lambda t: f"scheduler allocate {t[0]} {t[1]}"
    ),
)


@st.composite
def interface_address(draw: st.DrawFn, index: int) -> str:
    """A valid address and mask; each interface has its own first octet, so none overlap."""
    prefix = draw(st.integers(8, 32))
    subnet = draw(st.integers(0, 2 ** (prefix - 8) - 1))
    net = ipaddress.IPv4Network((((11 + index) << 24) | (subnet << (32 - prefix)), prefix))
    hosts = net.num_addresses
    lo, hi = (0, hosts - 1) if prefix >= 31 else (1, hosts - 2)
    host = net.network_address + draw(st.integers(lo, hi))
    return f"ip address {host} {net.netmask}"


def interface_lines(index: int, physical: bool) -> st.SearchStrategy[list[str]]:
    common = [
        interface_address(index),
        st.sampled_from(["no ip address", "default ip address"]),
        st.from_regex(r"[!-~]([ -~]{0,60}[!-~])?", fullmatch=True)
        .filter(lambda d: "?" not in d)
        .map("description {}".format),
        st.just("no description"),
        st.sampled_from(["shutdown", "no shutdown"]),
    ]
    if physical:
        common += [
            st.sampled_from(["auto", "full", "half"]).map("duplex {}".format),
            st.sampled_from(["10", "100", "1000", "auto"]).map("speed {}".format),
            st.sampled_from(["rj45", "sfp"]).map("media-type {}".format),
            st.sampled_from(["no duplex", "no speed", "no media-type"]),
        ]
    return st.lists(st.one_of(*common), max_size=8)


LOOPBACKS = ["0", "1", "007", "100", "2147483647"]


@st.composite
def interface_block(draw: st.DrawFn) -> list[str]:
    which = draw(st.integers(0, 1 + len(LOOPBACKS)))
    if which < 2:
        head = draw(
            st.sampled_from(["interface GigabitEthernet0/{}", "int gi0/{}", "interface g 0/{}"])
        ).format(which)
        body = draw(interface_lines(which, physical=True))
    else:
        number = LOOPBACKS[which - 2]
        head = draw(st.sampled_from(["interface Loopback{}", "int lo {}"])).format(number)
        body = draw(interface_lines(which, physical=False))
    return [head, *(" " + line for line in body), "exit"]


LINE_SETTINGS = st.one_of(
    password.map("password {}".format),
    st.just("no password"),
    st.sampled_from(["login", "login local", "no login"]),
    st.tuples(st.integers(0, 35791), optional(st.integers(0, 2147483).map(str))).map(
        lambda t: f"exec-timeout {t[0]}{t[1]}"
    ),
    st.just("no exec-timeout"),
    no(st.just("logging synchronous")),
    st.integers(0, 15).map("privilege level {}".format),
    st.just("no privilege level"),
    st.sampled_from(["all", "none", "ssh", "telnet"]).map("transport input {}".format),
    st.just("no transport input"),
)


@st.composite
def line_block(draw: st.DrawFn) -> list[str]:
    first = draw(st.integers(0, 15))
    head = draw(
        st.sampled_from(
            [
                "line con 0",
                "line console 0",
                "line aux 0",
                f"line vty {first}",
                f"line vty {first} {draw(st.integers(max(first, 1), 15))}",
            ]
        )
    )
    body = draw(st.lists(LINE_SETTINGS, max_size=5))
    return [head, *(" " + line for line in body), "exit"]


# A list strategy per branch: one_of would flatten the many branches of GLOBAL_LINES into
# its own and draw interface and line blocks only rarely.
CONFIGURATIONS = st.lists(
    st.one_of(st.lists(GLOBAL_LINES, min_size=1, max_size=3), interface_block(), line_block()),
    max_size=10,
).map(lambda blocks: [line for block in blocks for line in block])

# Lines whose acceptance depends on state the generator does not track.
_MAY_REFUSE = ("This is not recommended", "Re-enter the enable secret")


# --------------------------------------------------------------------------- the property


def _load(cli: Cli, text: str) -> str:
    printed: list[str] = []
    cli.lab.run(load_config(cli.router, text, printed.append))
    return "".join(printed)


@pytest.mark.slow
@SETTINGS
@given(lines=CONFIGURATIONS)
def test_render_parse_render_is_the_identity(lines: list[str]) -> None:
    with fresh_lab() as lab:
        typed = Cli(lab, "CA-server-1").configure()
        for line in lines:
            out = typed(line)
            assert all(marker in out for marker in _MAY_REFUSE) or out == "", (line, out)
        first = config_body(typed.router)
        loaded = Cli(lab, "CA-server-2")
        text = config_text(first)
        assert _load(loaded, text) == "", text
        second = config_body(loaded.router)
        assert stable_body(second) == stable_body(first)


def test_a_fresh_router_round_trips(cli: Cli) -> None:
    body = config_body(cli.router)
    other = Cli(cli.lab, "CA-server-2")
    assert _load(other, config_text(body)) == ""
    assert stable_body(config_body(other.router)) == stable_body(body)


def test_a_hand_written_config_round_trips(cli: Cli) -> None:
    config = cli.configure()
    config.run_all(
        [
            "hostname CA-server-2",
            "service password-encryption",
            "enable secret cisco",
            "enable password other",
            "clock timezone PST -8 30",
            "service timestamps log datetime msec localtime show-timezone year",
            "service timestamps debug uptime",
            "logging buffered 16384 informational",
            "no logging console",
            "no ip domain lookup",
            "ip domain name example.com",
            "ip host SB 10.1.32.86",
            "ip name-server 10.0.0.1 10.0.0.2",
            "interface GigabitEthernet0/0",
            " description to the LAN  (two spaces)",
            " ip address 10.1.32.84 255.255.255.0",
            " no shutdown",
            " speed 100",
            "interface Loopback0",
            " ip address 192.0.2.1 255.255.255.255",
            "line con 0",
            " exec-timeout 0 0",
            " logging synchronous",
            " password cisco",
            " login",
            "line vty 0 15",
            " transport input ssh",
            " privilege level 15",
            "scheduler allocate 4000 1000",
        ]
    )
    body = config_body(cli.router)
    text = "\n".join(body)
    for expected in (
        "enable secret 5 $1$",
        "enable password 7 ",
        "clock timezone PST -8 30",
        "ip name-server 10.0.0.1 10.0.0.2",
        " description to the LAN  (two spaces)",
        "line vty 0 15",
    ):
        assert expected in text
    other = Cli(cli.lab, "CA-server-2")
    assert _load(other, config_text(body)) == ""
    assert stable_body(config_body(other.router)) == stable_body(body)
