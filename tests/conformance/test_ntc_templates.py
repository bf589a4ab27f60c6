"""ntc-templates reads every show command we have a ``cisco_ios`` template for, on the
guide's lab configured as it ends: the HSRP pair, RF paired (STANDBY HOT), the CA server
running on the active, a vty session, ARP entries. Each parse must be non-empty and its
key fields must be the routers' own state.

The templates end in ``^. -> Error``: a line they do not know fails the parse, so a clean
parse also says every line we print is one they expect from a real IOS. Which commands
have a template is the index's business (``ntc_templates/templates/index``): a guard test
asks the index about every ``show`` command the parser knows, so a new one with a template
cannot go untested.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from functools import cache
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from helpers import Cli, open_lab
from ntc_templates.parse import _get_template_dir, parse_output
from textfsm import TextFSMError, clitable

import iosemu.features  # noqa: F401 - registers every command
from iosemu.api import Lab
from iosemu.console.ios import IosConsole
from iosemu.device.router import IMAGE_NAME
from iosemu.features.hsrp import Hsrp
from iosemu.features.interfaces import Interfaces
from iosemu.features.ip import Ip
from iosemu.features.lines import Lines
from iosemu.features.pki.server import CertificateServer
from iosemu.features.redundancy import STATE_NAMES, Redundancy
from iosemu.features.system import System
from iosemu.parser.grammar import EXEC, REGISTRY, Tok, parse_syntax
from iosemu.parser.tokens import Keyword
from iosemu.vty_line import Login, VtyLine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "features"))

from test_redundancy import ONE, TWO, form_pair  # the guide's pair, formed on the virtual clock

GI = "GigabitEthernet0/0"
HOST = "10.1.32.90"  # where the vty session comes from

# Every show command with a cisco_ios template, as typed here (a sub-form with a template of
# its own is listed too). The guard below keeps this list complete.
TESTED = {
    "show version",
    "show clock",
    "show users",
    "show arp",
    "show logging",
    "show interfaces",
    "show interface",
    "show ip interface brief",
    "show crypto pki certificates",
    "show standby",
    "show standby brief",
    "show redundancy",
    "show running-config interface",
}


@cache
def _index() -> clitable.IndexTable:
    return clitable.CliTable("index", _get_template_dir()).index


def has_template(command: str) -> bool:
    """Whether ntc-templates' index has a cisco_ios template for ``command`` itself.

    The index matches a prefix of the command (``show redundancy states`` would be read
    with the ``show redundancy`` template, ``show startup-config`` with ``show standby``'s):
    only an entry that matches the whole command counts.
    """
    for row in _index().compiled:
        if row["Platform"].match("cisco_ios") and row["Command"].fullmatch(command):
            return True
    return False


def _probe(syntax: str) -> str:
    """The command's leading keywords: what a template's index entry would match."""
    words = []
    for elem in parse_syntax(syntax):
        if not (isinstance(elem, Tok) and isinstance(elem.kind, Keyword)):
            break
        words.append(elem.kind.text)
    return " ".join(words)


def test_every_show_command_with_a_template_is_tested() -> None:
    probes = {_probe(c.syntax) for c in REGISTRY if c.mode is EXEC and c.syntax.startswith("show")}
    with_template = {p for p in probes if has_template(p)}
    assert with_template - TESTED == set(), "add these to the parses below"
    assert all(has_template(t) for t in TESTED)


# --------------------------------------------------------------------------- the lab


def build_guide_lab() -> Lab:
    """The guide's pair formed (steps 2-4, saved, reloaded: STANDBY HOT), the CA server
    running on the active (CA-server-2), and an ARP entry or two from a ping."""
    lab = open_lab()
    try:
        form_pair(lab)
        active = Cli(lab, TWO).configure()
        assert active.run_all(["ip http server", "crypto pki server PKI-HA"]) == ""
        assert "% Certificate Server enabled." in active("no shutdown", "cisco123", "cisco123")
        lab.run(asyncio.sleep(30))
        assert "!!!!!" in Cli(lab, TWO)("ping 10.1.32.83")
    except BaseException:
        lab.close()
        raise
    return lab


@pytest.fixture(scope="module")
def guide_lab() -> Iterator[Lab]:
    lab = build_guide_lab()
    yield lab
    lab.close()


def parse(lab: Lab, command: str, name: str = TWO) -> list[dict[str, object]]:
    rows = parse_output(platform="cisco_ios", command=command, data=Cli(lab, name)(command))
    assert rows, f"{command}: nothing parsed"
    return rows


def test_show_version(guide_lab: Lab) -> None:
    router = guide_lab.router(TWO)
    [row] = parse(guide_lab, "show version")
    assert row["hostname"] == router.hostname
    assert (row["version"], row["software_image"]) == ("15.1(3)T", "C3825-ADVENTERPRISEK9-M")
    assert row["hardware"] == ["3825"] and row["serial"] == [router.feature(System).board_id]
    assert row["running_image"] == IMAGE_NAME and row["config_register"] == "0x2102"
    assert row["uptime_minutes"] == str(int(router.uptime() // 60))
    assert row["reload_reason"] == "Reload Command"  # the guide's reload of step 4


def test_show_clock(guide_lab: Lab) -> None:
    [row] = parse(guide_lab, "show clock")
    now = guide_lab.router(TWO).clock.utc()
    assert row["time"] == f"{now:%H:%M:%S}.{now.microsecond // 1000:03d}"
    assert (row["timezone"], row["dayweek"], row["month"]) == ("UTC", f"{now:%a}", f"{now:%b}")
    assert (row["day"], row["year"]) == (str(now.day), str(now.year))


def test_show_users_with_a_vty_session(guide_lab: Lab) -> None:
    router = guide_lab.router(TWO)
    number = router.feature(Lines).take_vty("ssh")
    assert number == 0
    hung_up: list[bool] = []
    vty = VtyLine(router, number, HOST, IosConsole(), lambda: hung_up.append(True))
    task = router.spawn(vty.run_shell(Login("admin", 15)))
    guide_lab.run(asyncio.sleep(0))
    try:
        [row] = parse(guide_lab, "show users")
        assert row == {
            "line": "2 vty 0",
            "user": "admin",
            "hosts": "idle",
            "idle": "00:00:00",
            "location": HOST,
        }
    finally:
        vty.close()
        task.cancel()
        guide_lab.run(asyncio.sleep(0))
    assert hung_up == [True]


def test_show_arp(guide_lab: Lab) -> None:
    router = guide_lab.router(TWO)
    rows = {row["address"]: row for row in parse(guide_lab, "show arp")}
    learned = router.feature(Ip).arp
    assert learned, "the ping made ARP entries"
    for address, entry in learned.items():
        row = rows.pop(str(address))
        mac = entry.mac.hex()
        assert row["hardware_address"] == f"{mac[:4]}.{mac[4:8]}.{mac[8:]}"
        assert row["interface"] == entry.interface
        assert row["type"] == "ARPA" and row["age_min"] != "-"
    # What is left is the router's own: its address and the virtual IP it is active for.
    own = router.feature(Interfaces).interfaces[GI]
    assert set(rows) == {str(own.address.ip) if own.address else "", "10.1.32.86"}
    assert all(row["age_min"] == "-" for row in rows.values())


def test_show_logging(guide_lab: Lab) -> None:
    router = guide_lab.router(TWO)
    rows = parse(guide_lab, "show logging")
    mnemonics = [f"{r['facility']}-{r['severity']}-{r['mnemonic']}" for r in rows]
    buffered = [line.split("%", 1)[1].split(":", 1)[0] for line in router.log.buffer]
    assert mnemonics == buffered
    assert "PKI-6-CS_ENABLED" in mnemonics and "HSRP-5-STATECHANGE" in mnemonics


@pytest.mark.parametrize("command", ["show interfaces", "show interface GigabitEthernet0/0"])
def test_show_interfaces(guide_lab: Lab, command: str) -> None:
    interfaces = guide_lab.router(TWO).feature(Interfaces).interfaces
    rows = parse(guide_lab, command)
    assert [r["interface"] for r in rows] == (
        list(interfaces) if command == "show interfaces" else [GI]
    )
    for row in rows:
        iface = interfaces[str(row["interface"])]
        assert row["mac_address"] == row["bia"] == iface.mac
        assert row["link_status"] == ("up" if iface.link_up else iface.status)
        assert row["protocol_status"] == ("up" if iface.protocol_up else "down")
        if iface.address is not None:
            assert row["ip_address"] == str(iface.address.ip)
            assert row["prefix_length"] == str(iface.address.network.prefixlen)
        assert (row["mtu"], row["encapsulation"], row["media_type"]) == ("1500", "ARPA", "RJ45")


def test_show_ip_interface_brief(guide_lab: Lab) -> None:
    interfaces = guide_lab.router(TWO).feature(Interfaces).interfaces
    rows = parse(guide_lab, "show ip interface brief")
    assert [r["interface"] for r in rows] == list(interfaces)
    for row in rows:
        iface = interfaces[str(row["interface"])]
        address = str(iface.address.ip) if iface.address else "unassigned"
        assert (row["ip_address"], row["status"]) == (address, iface.status)
        assert row["proto"] == ("up" if iface.protocol_up else "down")


def test_show_crypto_pki_certificates(guide_lab: Lab) -> None:
    ca = guide_lab.router(TWO).feature(CertificateServer).ca_cert()
    assert ca is not None
    [row] = parse(guide_lab, "show crypto pki certificates")
    assert (row["certificate_type"], row["status"]) == ("CA Certificate", "Available")
    assert row["serial_number"] == f"{ca.serial_number:02X}"
    assert row["issuer_cn"] == row["subject_cn"] == "PKI-HA"
    assert row["associated_trustpoints"] == "PKI-HA"
    start = ca.not_valid_before_utc
    assert row["start_date"] == f"{start:%H:%M:%S} UTC {start:%b} {start.day} {start.year}"


def test_show_standby_and_brief(guide_lab: Lab) -> None:
    for name, peer in ((TWO, ONE), (ONE, TWO)):
        group = guide_lab.router(name).feature(Hsrp).group(GI, 0, create=False)
        assert group is not None
        [row] = parse(guide_lab, "show standby", name)
        assert row["state"] == group.state.value
        assert row["virtual_ip"] == str(group.virtual_ip) == "10.1.32.86"
        other = guide_lab.router(peer).feature(Interfaces).interfaces[GI].address
        assert other is not None
        key = "standby_router" if row["state"] == "Active" else "active_router"
        assert IPv4Address(str(row[key])) == other.ip
        [brief] = parse(guide_lab, "show standby brief", name)
        assert (brief["interface"], brief["state"]) == ("Gi0/0", group.state.value)
        assert brief["virtual_ip_address"] == "10.1.32.86"


def test_show_redundancy(guide_lab: Lab) -> None:
    rf = guide_lab.router(TWO).feature(Redundancy)
    [row] = parse(guide_lab, "show redundancy")
    assert row["active_software_state"] == STATE_NAMES[rf.my_state] == "ACTIVE"
    assert row["standby_software_state"] == STATE_NAMES[rf.peer_state] == "STANDBY HOT"
    assert (row["hardware_mode"], row["communication_status"]) == ("Duplex", "Up")


def test_show_running_config_interface_trips_on_a_3825s_ethernet_lines(guide_lab: Lab) -> None:
    """The template knows no ``duplex``, ``media-type`` or ``end`` line, which every 15.1
    ISR GigabitEthernet block has (reference section 2.3): it fails on a real 3825 as
    here."""
    text = Cli(guide_lab, TWO)(f"show running-config interface {GI}")
    with pytest.raises(TextFSMError, match="duplex auto"):
        parse_output(platform="cisco_ios", command=f"show running-config interface {GI}", data=text)
