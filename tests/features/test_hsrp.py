"""HSRP: the guide's pair, reload and power-off, the state machine, commands and show output.

Everything runs on the virtual clock: a minute of HSRP timers costs milliseconds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Cli, LogTap, fresh_lab, stable_body
from hypothesis import given, settings
from hypothesis import strategies as st

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.device.router import Router
from iosemu.features.hsrp import (
    V1_ADDRESS,
    V2_ADDRESS,
    Hsrp,
    HsrpPacket,
    Op,
    StandbyGroup,
    State,
)
from iosemu.features.interfaces import Interfaces
from iosemu.features.ip import Ip
from iosemu.features.running_config import config_body
from iosemu.lab.fabric import Port
from iosemu.lab.packets import PROTO_UDP, Ethernet, IPv4, PacketError, Udp, mac_text

ONE, TWO = "CA-server-1", "CA-server-2"
ADDRESSES = {ONE: "10.1.32.83", TWO: "10.1.32.84"}
GI = "GigabitEthernet0/0"
THREE_LAB = Path(__file__).parents[2] / "examples" / "labs" / "hsrp-three.yml"

# Step 2 of the guide, typed as the guide lists it, then brought up.
GUIDE_STEP2 = [
    "duplex auto",
    "speed auto",
    "media-type rj45",
    "standby delay minimum 30 reload 60",
    "standby 0 ip 10.1.32.86",
    "standby 0 priority 50",
    "standby 0 name SB",
    "no shutdown",
]


# --------------------------------------------------------------------------- harness


class WireTap:
    """A port on the segment that records every HSRP message, with its lab time."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.seen: list[tuple[float, Ethernet, IPv4, HsrpPacket]] = []
        port = Port("tap", "tap")
        lab.fabric.segments[0].attach(port)
        port.receiver = self._frame

    def _frame(self, frame: bytes) -> None:
        eth = Ethernet.decode(frame)
        if eth.ethertype != 0x0800:
            return
        packet = IPv4.decode(eth.payload)
        if packet.proto != PROTO_UDP:
            return
        datagram = Udp.decode(packet.payload)
        if datagram.dst_port == 1985:
            version = 2 if packet.dst == V2_ADDRESS else 1
            message = HsrpPacket.decode(datagram.payload, version)
            self.seen.append((self.lab.loop.time(), eth, packet, message))


def wait(lab: Lab, seconds: float) -> None:
    lab.run(asyncio.sleep(seconds))


def configure(lab: Lab, name: str, *lines: str, interface: str = GI) -> str:
    """Type ``lines`` in the interface's configuration mode; returns what was printed."""
    cli = Cli(lab, name).configure()
    return cli.run_all([f"interface {interface}", *lines])


def bring_up(lab: Lab, name: str, *lines: str) -> None:
    out = configure(lab, name, f"ip address {ADDRESSES[name]} 255.255.255.0", *lines, "no shutdown")
    assert out == ""


def group(lab: Lab, name: str, number: int = 0) -> StandbyGroup:
    found = lab.router(name).feature(Hsrp).group(GI, number, create=False)
    assert found is not None
    return found


def state(lab: Lab, name: str, number: int = 0) -> State:
    return group(lab, name, number).state


def show(lab: Lab, name: str, command: str) -> str:
    return Cli(lab, name)(command)


def volatile(text: str) -> str:
    """Replace the live timer values, which depend on the instant of the show."""
    text = re.sub(r"\d+\.\d{3} sec", "N.NNN sec", text)
    return re.sub(r"last state change \d\d:\d\d:\d\d", "last state change HH:MM:SS", text)


@pytest.fixture
def three() -> Iterator[Lab]:
    lab = Lab.open(str(THREE_LAB), clock="virtual")
    lab.run(lab.start())
    yield lab
    lab.close()


# --------------------------------------------------------------------------- the guide


def test_guide_step2_elects_the_higher_address_and_answers_for_the_vip(lab: Lab) -> None:
    taps = {name: LogTap(lab, name) for name in (ONE, TWO)}
    wire = WireTap(lab)
    for name in (ONE, TWO):
        bring_up(lab, name, *GUIDE_STEP2)
    up_at = lab.loop.time() + 3  # link after 2 s, line protocol 1 s later
    wait(lab, 59)
    # The reload delay (this is the first interface-up since boot): nothing at all.
    assert wire.seen == []
    assert state(lab, ONE) is State.INIT and state(lab, TWO) is State.INIT
    wait(lab, 60)
    assert state(lab, TWO) is State.ACTIVE and state(lab, ONE) is State.STANDBY
    assert min(t for t, *_ in wire.seen) >= up_at + 60
    assert taps[TWO].texts("%HSRP") == [
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 0 state Speak -> Standby",
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 0 state Standby -> Active",
    ]
    assert taps[ONE].texts("%HSRP") == [
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 0 state Speak -> Standby",
    ]
    # Ping the peer (ARP first: one lost echo), then the VIP from both: all answered.
    peer = show(lab, ONE, "ping 10.1.32.84")
    assert ".!!!!\nSuccess rate is 80 percent (4/5)" in peer
    for name in (ONE, TWO):
        assert "!!!!!\nSuccess rate is 100 percent (5/5)" in show(lab, name, "ping 10.1.32.86")


def test_guide_show_standby_and_brief(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, *GUIDE_STEP2)
    wait(lab, 120)
    assert volatile(show(lab, TWO, "show standby")) == (
        "GigabitEthernet0/0 - Group 0\n"
        "  State is Active\n"
        "    2 state changes, last state change HH:MM:SS\n"
        "  Virtual IP address is 10.1.32.86\n"
        "  Active virtual MAC address is 0000.0c07.ac00\n"
        "    Local virtual MAC address is 0000.0c07.ac00 (v1 default)\n"
        "  Hello time 3 sec, hold time 10 sec\n"
        "    Next hello sent in N.NNN secs\n"
        "  Preemption disabled\n"
        "  Active router is local\n"
        "  Standby router is 10.1.32.83, priority 50 (expires in N.NNN sec)\n"
        "  Priority 50 (configured 50)\n"
        '  Group name is "SB" (cfgd)\n'
    )
    assert volatile(show(lab, ONE, "show standby")) == (
        "GigabitEthernet0/0 - Group 0\n"
        "  State is Standby\n"
        "    1 state change, last state change HH:MM:SS\n"
        "  Virtual IP address is 10.1.32.86\n"
        "  Active virtual MAC address is 0000.0c07.ac00\n"
        "    Local virtual MAC address is 0000.0c07.ac00 (v1 default)\n"
        "  Hello time 3 sec, hold time 10 sec\n"
        "    Next hello sent in N.NNN secs\n"
        "  Preemption disabled\n"
        "  Active router is 10.1.32.84, priority 50 (expires in N.NNN sec)\n"
        "  Standby router is local\n"
        "  Priority 50 (configured 50)\n"
        '  Group name is "SB" (cfgd)\n'
    )
    header = (
        "                     P indicates configured to preempt.\n"
        "                     |\n"
        "Interface   Grp  Pri P State   Active          Standby         Virtual IP\n"
    )
    assert show(lab, TWO, "show standby brief") == header + (
        "Gi0/0       0    50    Active  local           10.1.32.83      10.1.32.86\n"
    )
    assert show(lab, ONE, "sh stand br") == header + (
        "Gi0/0       0    50    Standby 10.1.32.84      local           10.1.32.86\n"
    )
    assert show(lab, ONE, "show standby delay") == (
        "Interface          Minimum Reload \nGigabitEthernet0/0 30      60    \n"
    )
    assert show(lab, ONE, "show standby GigabitEthernet0/0 0") == show(lab, ONE, "show standby")
    assert show(lab, ONE, "show standby GigabitEthernet0/0 1") == ""


def test_show_standby_timers_are_live(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 1 ip 10.1.32.86")
    wait(lab, 50)
    before = show(lab, ONE, "show standby")
    next_hello = float(re.search(r"Next hello sent in (\d+\.\d{3})", before).group(1))  # type: ignore[union-attr]
    wait(lab, next_hello / 2)
    after = show(lab, ONE, "show standby")
    now = float(re.search(r"Next hello sent in (\d+\.\d{3})", after).group(1))  # type: ignore[union-attr]
    assert now == pytest.approx(next_hello / 2, abs=0.0015)
    changed = re.search(r"last state change 00:00:(\d\d)", before)
    assert changed is not None
    wait(lab, 5)
    later = re.search(r"last state change 00:00:(\d\d)", show(lab, ONE, "show standby"))
    assert later is not None and int(later.group(1)) >= int(changed.group(1)) + 5


def test_the_running_config_keeps_the_guide_lines_in_ios_order(lab: Lab) -> None:
    bring_up(lab, TWO, *GUIDE_STEP2)
    text = show(lab, TWO, "show running-config interface GigabitEthernet0/0")
    assert (
        "interface GigabitEthernet0/0\n"
        " ip address 10.1.32.84 255.255.255.0\n"
        " standby delay minimum 30 reload 60\n"
        " standby 0 ip 10.1.32.86\n"
        " standby 0 priority 50\n"
        " standby 0 name SB\n"
        " duplex auto\n"
    ) in text


def test_after_reload_nothing_happens_for_the_reload_delay_then_the_election(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, *GUIDE_STEP2)
    wait(lab, 120)
    for name in (ONE, TWO):
        assert "[OK]" in show(lab, name, "write memory")
    taps = {name: LogTap(lab, name) for name in (ONE, TWO)}
    wire = WireTap(lab)
    reload_at = lab.loop.time()
    for name in (ONE, TWO):
        lab.router(name).reload("reload")
    wait(lab, 20)
    proto_up = [t for t, text in taps[TWO].lines if text.startswith("%LINEPROTO-5-UPDOWN")]
    assert proto_up, "the interface came back up after the reload"
    wait(lab, proto_up[0] + 59.9 - lab.loop.time())
    assert wire.seen == [] and taps[TWO].texts("%HSRP") == [] and taps[ONE].texts("%HSRP") == []
    assert state(lab, ONE) is State.INIT and state(lab, TWO) is State.INIT
    wait(lab, 60)
    assert state(lab, TWO) is State.ACTIVE and state(lab, ONE) is State.STANDBY
    first_hello = min(t for t, *_ in wire.seen)
    assert first_hello >= proto_up[0] + 60 > reload_at + 60
    assert taps[TWO].texts("%HSRP")[-1].endswith("Grp 0 state Standby -> Active")
    assert taps[ONE].texts("%HSRP") == [
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 0 state Speak -> Standby"
    ]


def test_power_off_of_the_active_the_standby_takes_over_and_host_reaches_the_vip(
    three: Lab,
) -> None:
    wait(three, 120)
    assert state(three, TWO) is State.ACTIVE and state(three, ONE) is State.STANDBY
    host = Cli(three, "Host")
    assert "Success rate is 80 percent (4/5)" in host("ping 10.1.32.86")
    tap = LogTap(three, ONE)
    off_at = three.loop.time()
    three.power_off(TWO)
    wait(three, 10.5)
    assert state(three, ONE) is State.ACTIVE
    assert state(three, TWO) is State.INIT  # off: answers for nothing
    took_over = [t for t, text in tap.lines if text.endswith("state Standby -> Active")]
    assert took_over and took_over[0] - off_at <= 10.0 + 1e-6
    # The virtual MAC moved with the role: Host's ARP entry is still right.
    reply = host("ping 10.1.32.86")
    assert re.search(r"Success rate is [1-9]\d* percent", reply), reply
    assert "Standby router is unknown" in show(three, ONE, "show standby")


# --------------------------------------------------------------------------- the election


def test_higher_priority_wins_over_higher_address(lab: Lab) -> None:
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86", "standby 1 priority 110")
    bring_up(lab, TWO, "standby 1 ip 10.1.32.86")
    wait(lab, 50)
    assert state(lab, ONE, 1) is State.ACTIVE and state(lab, TWO, 1) is State.STANDBY


def test_without_preempt_a_better_router_that_comes_later_stays_standby(lab: Lab) -> None:
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86")
    wait(lab, 30)
    assert state(lab, ONE, 1) is State.ACTIVE
    bring_up(lab, TWO, "standby 1 ip 10.1.32.86", "standby 1 priority 200")
    wait(lab, 40)
    assert state(lab, ONE, 1) is State.ACTIVE and state(lab, TWO, 1) is State.STANDBY


def test_preempt_takes_over_with_a_coup_and_the_old_active_speaks(lab: Lab) -> None:
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86")
    wait(lab, 30)
    taps = {name: LogTap(lab, name) for name in (ONE, TWO)}
    wire = WireTap(lab)
    bring_up(lab, TWO, "standby 1 ip 10.1.32.86", "standby 1 priority 200", "standby 1 preempt")
    wait(lab, 3 + 3.01)  # line protocol up, then at most one hello interval
    assert state(lab, TWO, 1) is State.ACTIVE
    assert taps[TWO].texts("%HSRP") == [
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 1 state Listen -> Active"
    ]
    assert taps[ONE].texts("%HSRP") == [
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 1 state Active -> Speak"
    ]
    ops = [(str(ip.src), m.op) for _, _, ip, m in wire.seen]
    assert ("10.1.32.84", Op.COUP) in ops and ("10.1.32.83", Op.RESIGN) in ops
    wait(lab, 15)
    assert state(lab, ONE, 1) is State.STANDBY


def test_preempt_delay_minimum_waits_before_the_coup(lab: Lab) -> None:
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86")
    wait(lab, 30)
    bring_up(
        lab,
        TWO,
        "standby 1 ip 10.1.32.86",
        "standby 1 priority 200",
        "standby 1 preempt delay minimum 20",
    )
    wait(lab, 3 + 20)  # the coup needs up to 3 s of hello plus 20 s of delay
    assert state(lab, ONE, 1) is State.ACTIVE
    wait(lab, 3.01)
    assert state(lab, TWO, 1) is State.ACTIVE and state(lab, ONE, 1) is not State.ACTIVE


def test_shutdown_of_the_active_resigns_and_the_standby_takes_over_at_once(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 1 ip 10.1.32.86")
    wait(lab, 50)
    tap = LogTap(lab, TWO)
    wire = WireTap(lab)
    assert configure(lab, TWO, "shutdown") == ""
    wait(lab, 0.01)
    assert state(lab, ONE, 1) is State.ACTIVE
    assert state(lab, TWO, 1) is State.INIT
    assert [m.op for _, _, _, m in wire.seen][:1] == [Op.RESIGN]
    assert tap.texts("%HSRP") == [
        "%HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 1 state Active -> Init"
    ]
    assert "State is Init (interface down)" in show(lab, TWO, "show standby")


def test_tracking_lowers_the_priority_and_the_peer_preempts(lab: Lab) -> None:
    bring_up(
        lab,
        TWO,
        "standby 1 ip 10.1.32.86",
        "standby 1 priority 110",
        "standby 1 track GigabitEthernet0/1 decrement 20",
    )
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86", "standby 1 preempt")
    # Gi0/1 of CA-server-2 is shut: 110 - 20 = 90 < 100, so CA-server-1 wins.
    wait(lab, 40)
    assert state(lab, ONE, 1) is State.ACTIVE
    text = show(lab, TWO, "show standby")
    assert "  Priority 90 (configured 110)\n" in text
    assert "    Track interface GigabitEthernet0/1 state Down decrement 20\n" in text
    # Gi0/1 has no cable in this lab, so it cannot come up: drop the track instead; with
    # preempt, CA-server-2 (110 again) takes the role back.
    assert configure(lab, TWO, "no standby 1 track GigabitEthernet0/1", "standby 1 preempt") == ""
    wait(lab, 5)
    assert state(lab, TWO, 1) is State.ACTIVE


def test_tracked_interface_going_down_lowers_the_active(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 1 ip 10.1.32.86", "standby 1 preempt")
    configure(lab, TWO, "standby 1 track Loopback0 decrement 50", interface=GI)
    configure(lab, TWO, "ip address 192.168.0.1 255.255.255.255", interface="Loopback0")
    wait(lab, 40)
    assert state(lab, TWO, 1) is State.ACTIVE
    assert configure(lab, TWO, "shutdown", interface="Loopback0") == ""
    wait(lab, 5)
    assert state(lab, ONE, 1) is State.ACTIVE
    assert group(lab, TWO, 1).current_priority == 50


def test_msec_timers_fail_over_within_the_hold_time(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 1 ip 10.1.32.86", "standby 1 timers msec 200 msec 700")
    wait(lab, 3 + 4 * 0.7 + 0.5)
    assert state(lab, TWO, 1) is State.ACTIVE and state(lab, ONE, 1) is State.STANDBY
    assert "Hello time 200 msec, hold time 700 msec" in show(lab, ONE, "show standby")
    off_at = lab.loop.time()
    lab.power_off(TWO)
    wait(lab, 0.71)
    assert state(lab, ONE, 1) is State.ACTIVE
    assert lab.loop.time() - off_at < 1


def test_version_2_speaks_tlvs_to_224_0_0_102_from_its_own_mac(lab: Lab) -> None:
    wire = WireTap(lab)
    for name in (ONE, TWO):
        bring_up(lab, name, "standby version 2", "standby 7 ip 10.1.32.86")
    wait(lab, 50)
    assert state(lab, TWO, 7) is State.ACTIVE and state(lab, ONE, 7) is State.STANDBY
    _, _, ip, message = wire.seen[-1]
    assert ip.dst == V2_ADDRESS and ip.ttl == 1 and message.version == 2
    active = [e for _, e, _, m in wire.seen if m.state is State.ACTIVE]
    assert mac_text(active[-1].src) == "0000.0c9f.f007"
    text = show(lab, ONE, "show standby")
    assert text.startswith("GigabitEthernet0/0 - Group 7 (version 2)\n")
    assert "    Local virtual MAC address is 0000.0c9f.f007 (v2 default)\n" in text
    assert "    MAC address is 0013.19ca.6450\n" in text  # the Active's own MAC
    assert " standby version 2\n standby 7 ip 10.1.32.86\n" in show(
        lab, ONE, "show running-config interface GigabitEthernet0/0"
    )


def test_version_1_and_version_2_routers_do_not_hear_each_other(lab: Lab) -> None:
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86")
    bring_up(lab, TWO, "standby version 2", "standby 1 ip 10.1.32.86")
    wait(lab, 40)
    assert state(lab, ONE, 1) is State.ACTIVE and state(lab, TWO, 1) is State.ACTIVE


def test_v1_hellos_are_rfc2281_packets_from_the_virtual_mac(lab: Lab) -> None:
    wire = WireTap(lab)
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 1 ip 10.1.32.86")
    wait(lab, 50)
    _, eth, ip, _ = [s for s in wire.seen if s[3].state is State.ACTIVE][-1]
    assert ip.dst == V1_ADDRESS and ip.ttl == 1 and str(ip.src) == "10.1.32.84"
    assert mac_text(eth.src) == "0000.0c07.ac01" and mac_text(eth.dst) == "0100.5e00.0002"
    raw = Udp.decode(ip.payload).payload
    assert raw == bytes([0, 0, 16, 3, 10, 100, 1, 0]) + b"cisco\0\0\0" + bytes([10, 1, 32, 86])
    standby = [s for s in wire.seen if s[3].state is State.STANDBY][-1]
    assert str(standby[2].src) == "10.1.32.83"
    assert mac_text(standby[1].src) == "0013.19ca.6350"  # the Standby speaks from its BIA


def test_use_bia_answers_for_the_vip_with_the_burnt_in_address(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby use-bia", "standby 1 ip 10.1.32.86")
    wait(lab, 50)
    assert lab.router(TWO).feature(Ip).own_addresses(
        lab.router(TWO).feature(Ip).interfaces.get(GI)
    )[-1] == (group(lab, TWO, 1).virtual_ip, bytes.fromhex("001319ca6450"))
    assert "Local virtual MAC address is 0013.19ca.6450 (bia)" in show(lab, TWO, "show standby")
    # The gratuitous ARP of the new Active taught CA-server-1 the VIP at CA-server-2's BIA.
    assert "10.1.32.86              0   0013.19ca.6450" in show(lab, ONE, "show arp")


def test_only_the_active_answers_for_the_vip(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 1 ip 10.1.32.86", "standby 1 preempt")
    wait(lab, 50)
    hsrp = {name: lab.router(name).feature(Hsrp) for name in (ONE, TWO)}
    assert hsrp[TWO].virtual_addresses(GI) and not hsrp[ONE].virtual_addresses(GI)
    assert configure(lab, ONE, "standby 1 priority 150") == ""
    wait(lab, 0.01)
    # The coup moved the role at once: the old Active stopped answering in the same step.
    assert hsrp[ONE].virtual_addresses(GI) and not hsrp[TWO].virtual_addresses(GI)


def test_learn_state_takes_the_virtual_ip_from_the_active(lab: Lab) -> None:
    bring_up(lab, TWO, "standby 1 ip 10.1.32.86", "standby 1 priority 120")
    bring_up(lab, ONE, "standby 1 ip")
    wait(lab, 3.5)
    assert state(lab, ONE, 1) is State.LEARN
    assert "Virtual IP address is unknown" in show(lab, ONE, "show standby")
    wait(lab, 50)
    assert state(lab, ONE, 1) is State.STANDBY
    assert group(lab, ONE, 1).virtual_ip is not None
    assert str(group(lab, ONE, 1).virtual_ip) == "10.1.32.86"
    assert " standby 1 ip\n" in show(lab, ONE, "show running-config interface GigabitEthernet0/0")


def test_authentication_mismatch_is_logged_and_ignored(lab: Lab) -> None:
    tap = LogTap(lab, ONE)
    bring_up(lab, ONE, "standby 1 ip 10.1.32.86", "standby 1 authentication text secret")
    bring_up(lab, TWO, "standby 1 ip 10.1.32.86")
    wait(lab, 50)
    assert state(lab, ONE, 1) is State.ACTIVE and state(lab, TWO, 1) is State.ACTIVE
    bad = [m for m in tap.texts("%HSRP") if m.startswith("%HSRP-4-BADAUTH")]
    # Once per sender every 30 s: the first came while CA-server-2 was in Speak.
    assert bad == [
        "%HSRP-4-BADAUTH: Bad authentication from 10.1.32.84, group 1, remote state Speak",
        "%HSRP-4-BADAUTH: Bad authentication from 10.1.32.84, group 1, remote state Active",
    ]
    assert '  Authentication text, string "secret"\n' in show(lab, ONE, "show standby")


def test_interface_delay_minimum_applies_after_later_interface_ups(lab: Lab) -> None:
    for name in (ONE, TWO):
        bring_up(lab, name, "standby delay minimum 7 reload 9", "standby 1 ip 10.1.32.86")
    wait(lab, 40)
    configure(lab, ONE, "shutdown")
    wait(lab, 2)
    configure(lab, ONE, "no shutdown")
    wait(lab, 3 + 6.9)  # line protocol up after 3 s, then 7 s of minimum delay
    assert state(lab, ONE, 1) is State.INIT
    wait(lab, 0.2)
    assert state(lab, ONE, 1) is State.LISTEN


def test_subscribers_see_state_changes_and_groups_are_found_by_name(lab: Lab) -> None:
    hsrp = lab.router(TWO).feature(Hsrp)
    seen: list[tuple[str, State, State]] = []
    unsubscribe = hsrp.subscribe(lambda g, old, new: seen.append((g.group_name, old, new)))
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 0 ip 10.1.32.86", "standby 0 name SB")
    wait(lab, 40)
    found = hsrp.group_by_name("SB")
    assert found is not None and found.is_active and found.state is State.ACTIVE
    assert ("SB", State.STANDBY, State.ACTIVE) in seen
    assert seen[0] == ("SB", State.INIT, State.LISTEN)
    unsubscribe()
    configure(lab, TWO, "shutdown")
    assert seen[-1][2] is State.ACTIVE
    assert hsrp.group_by_name("hsrp-Gi0/0-0") is None
    assert lab.router(ONE).feature(Hsrp).group_by_name("SB") is not None


# --------------------------------------------------------------------------- commands


def test_commands_render_in_ios_order_and_survive_a_reload_of_the_text(lab: Lab) -> None:
    lines = [
        "standby track GigabitEthernet0/1",
        "standby name Unnumbered",
        "standby ip 10.1.32.86",
        "standby 3 authentication text secret",
        "standby 3 preempt delay reload 60 minimum 30 sync 5",
        "standby 3 priority 120",
        "standby 3 timers msec 250 2",
        "standby 3 ip 10.1.32.97 secondary",
        "standby 3 ip 10.1.32.96",
        "standby 4 authentication plain",
        "standby 4 timers 1 4",
        "standby 4 track GigabitEthernet0/1 decrement 15",
        "standby use-bia",
        "standby version 2",
        "standby delay reload 90",
    ]
    assert configure(lab, ONE, "ip address 10.1.32.83 255.255.255.0", *lines) == ""
    block = show(lab, ONE, "show running-config interface GigabitEthernet0/0")
    assert (
        " ip address 10.1.32.83 255.255.255.0\n"
        " standby delay minimum 1 reload 90\n"
        " standby version 2\n"
        " standby use-bia\n"
        " standby ip 10.1.32.86\n"
        " standby name Unnumbered\n"
        " standby track GigabitEthernet0/1\n"
        " standby 3 ip 10.1.32.96\n"
        " standby 3 ip 10.1.32.97 secondary\n"
        " standby 3 timers msec 250 2\n"
        " standby 3 priority 120\n"
        " standby 3 preempt delay minimum 30 reload 60 sync 5\n"
        " standby 3 authentication text secret\n"
        " standby 4 timers 1 4\n"
        " standby 4 authentication plain\n"
        " standby 4 track GigabitEthernet0/1 decrement 15\n"
        " shutdown\n"
    ) in block
    # render -> parse -> render: the other router loads this router's configuration.
    first = stable_body(config_body(lab.router(ONE)))
    text = "\n".join(first[1:])
    out: list[str] = []
    lab.run(load_config(lab.router(TWO), text, out.append))
    assert "".join(out) == ""
    second = stable_body(config_body(lab.router(TWO)))
    assert [line for line in second if "standby" in line] == [
        line for line in first if "standby" in line
    ]


def _standby_lines() -> st.SearchStrategy[str]:
    head = st.sampled_from(["standby ", "standby 0 ", "standby 1 ", "standby 200 "])
    address = st.integers(80, 99).map(lambda n: f"10.1.32.{n}")
    seconds = st.integers(0, 3600).map(str)
    delays = st.lists(
        st.tuples(st.sampled_from(["minimum", "reload", "sync"]), seconds).map(" ".join),
        max_size=3,
    )
    secret = st.from_regex(r"[0-9k][a-z0-9]{0,7}", fullmatch=True)
    group_lines = st.one_of(
        st.just("ip"),
        address.map(lambda a: f"ip {a}"),
        address.map(lambda a: f"ip {a} secondary"),
        st.integers(0, 255).map(lambda n: f"priority {n}"),
        delays.map(lambda d: "preempt" + (" delay " + " ".join(d) if d else "")),
        st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True).map(lambda n: f"name {n}"),
        st.sampled_from(
            ["timers 1 3", "timers 5 16", "timers msec 250 1", "timers msec 100 msec 400"]
        ),
        secret.map(lambda w: f"authentication {w}"),
        secret.map(lambda w: f"authentication text {w}"),
        st.sampled_from(["track GigabitEthernet0/1", "track GigabitEthernet0/1 decrement 7"]),
    )
    grouped = st.tuples(st.sampled_from(["", "no "]), head, group_lines).map("".join)
    interface_lines = st.sampled_from(
        [
            "standby use-bia",
            "no standby use-bia",
            "standby version 2",
            "standby version 1",
            "standby delay minimum 30 reload 60",
            "standby delay reload 9",
            "no standby delay",
        ]
    )
    return st.one_of(grouped, interface_lines)


def test_any_standby_configuration_renders_the_same_after_loading_its_text() -> None:
    """render -> parse -> render, on random sequences of standby commands (and their no)."""
    with fresh_lab() as lab:
        one, two = lab.router(ONE), lab.router(TWO)

        def block(router: Router) -> list[str]:
            return router.feature(Interfaces).block(router.feature(Interfaces).get(GI))

        @settings(max_examples=40, deadline=None, database=None)
        @given(st.lists(_standby_lines(), max_size=10))
        def check(lines: list[str]) -> None:
            one.build_features()
            two.build_features()
            text = "interface GigabitEthernet0/0\n" + "\n".join(lines)
            lab.run(load_config(one, text, lambda _: None))
            first = block(one)
            printed: list[str] = []
            lab.run(load_config(two, "\n".join([f"interface {GI}", *first]), printed.append))
            assert "".join(printed) == ""
            assert block(two) == first

        check()


def test_no_forms_remove_settings_and_empty_groups(lab: Lab) -> None:
    configure(
        lab,
        ONE,
        "standby 2 ip 10.1.32.86",
        "standby 2 ip 10.1.32.87 secondary",
        "standby 2 priority 90",
        "standby 2 preempt delay minimum 10",
        "standby 2 timers 1 3",
        "standby 2 name X",
        "standby 2 authentication text abc",
        "standby delay minimum 3 reload 4",
        "standby version 2",
    )
    assert (
        configure(
            lab,
            ONE,
            "no standby 2 ip 10.1.32.87 secondary",
            "no standby 2 preempt delay",
            "no standby 2 timers",
            "default standby 2 priority",
            "no standby 2 authentication",
            "no standby delay",
            "no standby version",
        )
        == ""
    )
    block = show(lab, ONE, "show running-config interface GigabitEthernet0/0")
    assert " standby 2 ip 10.1.32.86\n standby 2 preempt\n standby 2 name X\n" in block
    configure(lab, ONE, "no standby 2 ip", "no standby 2 preempt", "no standby 2 name")
    assert "standby" not in show(lab, ONE, "show running-config interface GigabitEthernet0/0")
    assert lab.router(ONE).feature(Hsrp).settings == {}
    assert configure(lab, ONE, "no standby 9 priority") == ""


def test_priority_only_group_is_disabled(lab: Lab) -> None:
    bring_up(lab, ONE, "standby 5 priority 110")
    wait(lab, 5)
    text = show(lab, ONE, "show standby")
    assert text.startswith("GigabitEthernet0/0 - Group 5\n  State is Disabled\n")
    assert "  Virtual IP address is unknown\n  Active virtual MAC address is unknown\n" in text
    assert "Next hello" not in text


def test_errors_and_help(lab: Lab) -> None:
    cli = Cli(lab, ONE).configure()
    cli("interface GigabitEthernet0/0")
    assert cli("standby 1 timers 5 3") == "% Hold time must be greater than hello time\n"
    assert cli("standby 1 authentication toolongpassword").startswith("% Authentication")
    assert cli("standby 256 ip 10.1.1.1").endswith("% Invalid input detected at '^' marker.\n\n")
    assert cli("standby 1") == "% Incomplete command.\n\n"
    helps = cli.help("standby ")
    assert helps[0].startswith("  <0-255>") and helps[0].endswith("group number")
    words = [line.split()[0] for line in helps]
    assert words == [
        "<0-255>",
        "authentication",
        "delay",
        "ip",
        "name",
        "preempt",
        "priority",
        "timers",
        "track",
        "use-bia",
        "version",
    ]
    assert all(len(line.split(None, 1)) == 2 for line in helps), helps
    assert cli.help("standby 1 timers ") == [
        "  <1-254>  Hello interval in seconds",
        "  msec     Specify hello interval in milliseconds",
    ]
    assert cli.help("standby 1 preempt delay ") == [
        "  minimum  Delay at least this long",
        "  reload   Delay after reload",
        "  sync     Wait for IP redundancy clients",
        "  <cr>",
    ]
    assert cli.help("standby 1 ip ") == ["  A.B.C.D  Virtual IP address", "  <cr>"]


def test_debug_standby_shows_events_and_packets(lab: Lab) -> None:
    tap = LogTap(lab, TWO)
    cli = Cli(lab, TWO)
    assert cli("debug standby events") == "HSRP Events debugging is on\n"
    assert cli("debug standby packets") == "HSRP Packets debugging is on\n"
    for name in (ONE, TWO):
        bring_up(lab, name, "standby 0 ip 10.1.32.86", "standby 0 priority 50")
    wait(lab, 50)
    debugs = [text for _, text in tap.lines if text.startswith("HSRP: ")]
    assert "HSRP: Gi0/0 Grp 0 Init: a/HSRP enabled" in debugs
    assert "HSRP: Gi0/0 Grp 0 Listen: c/Active timer expired (unknown)" in debugs
    assert "HSRP: Gi0/0 Grp 0 Standby -> Active" in debugs
    assert "HSRP: Gi0/0 Grp 0 Hello  out 10.1.32.84 Active  pri 50 vIP 10.1.32.86" in debugs
    assert "HSRP: Gi0/0 Grp 0 Hello  in  10.1.32.83 Standby pri 50 vIP 10.1.32.86" in debugs
    assert "HSRP Events debugging is on" in cli("show debugging")
    assert cli("undebug all") == "All possible debugging has been turned off\n"
    count = len(tap.lines)
    wait(lab, 10)
    assert not [t for _, t in tap.lines[count:] if t.startswith("HSRP: ")]


# --------------------------------------------------------------------------- wire format


def test_packet_codecs_round_trip_and_reject_garbage() -> None:
    from ipaddress import IPv4Address

    v1 = HsrpPacket(1, Op.COUP, State.SPEAK, 3, 120, 3000, 10000, IPv4Address("10.0.0.1"))
    assert HsrpPacket.decode(v1.encode(), 1) == v1
    v2 = HsrpPacket(
        2,
        Op.HELLO,
        State.ACTIVE,
        4000 % 256,
        255,
        250,
        750,
        IPv4Address("10.0.0.1"),
        "k",
        bytes.fromhex("001319ca6350"),
    )
    encoded = v2.encode()
    assert encoded[:2] == bytes([1, 40]) and encoded[42:44] == bytes([3, 8])
    assert HsrpPacket.decode(encoded, 2) == v2
    for bad, version in ((b"\x00" * 5, 1), (b"\x07" + b"\x00" * 19, 1), (b"\x01\x28", 2)):
        with pytest.raises(PacketError):
            HsrpPacket.decode(bad, version)
