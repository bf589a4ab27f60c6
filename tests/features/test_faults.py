"""Faults a lab injects: what routers see of each, the API's checks, and docs/faults.md's example.

Everything runs on the virtual clock; a fault's consequences (hold times, carrier delay)
cost lab seconds, not real ones.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Cli

from iosemu.api import Lab
from iosemu.features.interfaces import LINK_DELAY, PROTOCOL_DELAY
from iosemu.lab.fabric import Port
from iosemu.lab.faults import Fault, FaultError, parse_command, parse_prose
from iosemu.lab.packets import Ethernet, mac_text
from iosemu.replay.console import Driver, ReplayTimeout

ROOT = Path(__file__).parents[2]
THREE_LAB = ROOT / "examples" / "labs" / "hsrp-three.yml"
ONE, TWO, HOST = "CA-server-1", "CA-server-2", "Host"
GI = "GigabitEthernet0/0"
MACS = {ONE: "0013.19ca.6350", TWO: "0013.19ca.6450", HOST: "0013.19ca.6550"}


@pytest.fixture
def three() -> Iterator[Lab]:
    """hsrp-three, booted: the guide's pair (HSRP in NVRAM) and Host on one segment."""
    lab = Lab.open(str(THREE_LAB), clock="virtual")
    lab.run(lab.start())
    yield lab
    lab.close()


def wait(lab: Lab, seconds: float) -> None:
    lab.run(asyncio.sleep(seconds))


class Tap:
    """A port on the segment that records who sent each frame, and when."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.seen: list[tuple[float, str]] = []
        port = Port("tap", "x", receiver=self.receive)
        lab.fabric.segments[0].attach(port)

    def receive(self, frame: bytes) -> None:
        self.seen.append((self.lab.loop.time(), mac_text(Ethernet.decode(frame).src)))

    def senders(self, since: float = 0.0) -> set[str]:
        return {mac for t, mac in self.seen if t >= since}


def logs(lab: Lab, name: str) -> list[tuple[float, str]]:
    """From now on, every message ``name`` logs, without its time stamp."""
    lines: list[tuple[float, str]] = []

    class Sink:
        def wants_log(self, severity: int, is_debug: bool) -> bool:
            return True

        def show_log(self, text: str) -> None:
            lines.append((lab.loop.time(), text.split(": ", 1)[1]))

    lab.router(name).log.sinks.append(Sink())
    return lines


def ping(lab: Lab, source: str, address: str) -> str:
    return Cli(lab, source)(f"ping {address}")


# --------------------------------------------------------------------------- the doc's example


def python_example() -> str:
    text = (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    marker = text.index("<!-- tested: tests/features/test_faults.py")
    found = re.search(r"```python\n(.*?)```", text[marker:], re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_python_example_in_docs_faults_runs_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)  # the example names the lab file relative to the repository
    code = compile(python_example(), "docs/faults.md", "exec")
    exec(code, {"__name__": "docs_faults_example"})


# --------------------------------------------------------------------------- power


def test_a_powered_off_router_vanishes_from_the_wire_at_once(three: Lab) -> None:
    wait(three, 120)  # past the reload delay and the election
    tap = Tap(three)
    wait(three, 3.5)
    assert MACS[TWO] in tap.senders() or "0000.0c07.ac00" in tap.senders()
    two = logs(three, TWO)
    three.power_off(TWO)
    off_at = three.loop.time()
    wait(three, 30)
    # Nothing from it after the instant it went off: no Resign, no hello, no ARP.
    assert not [t for t, mac in tap.seen if t > off_at + 0.001 and mac in (MACS[TWO],)]
    assert two == []  # and nothing on its console
    assert three.router(TWO).state == "off"
    assert all(port.receiver is None for port in three.router(TWO).ports.values())
    assert three.faults == [Fault("power-off", TWO)]


def test_power_on_boots_from_nvram_and_unsaved_changes_are_gone(three: Lab) -> None:
    cli = Cli(three, TWO).configure()
    cli("banner motd ^unsaved^")
    three.power_off(TWO)
    task = three.power_on(TWO)
    three.run(task)
    assert three.router(TWO).state == "running" and three.faults == []
    text = Cli(three, TWO)("show version")
    assert "System returned to ROM by power-on" in text
    assert "Last reload reason: power-on" in text
    assert "banner motd" not in Cli(three, TWO)("show running-config")
    assert "standby 0 ip 10.1.32.86" in Cli(three, TWO)("show running-config")


def test_a_powered_off_console_shows_nothing_and_cannot_be_typed_into() -> None:
    with Driver.open(str(THREE_LAB)) as driver:

        async def scenario() -> None:
            await driver.start()
            await driver.run(TWO, "enable")
            await driver.inject(f"power-off {TWO}")
            assert driver.prompt(TWO) is None
            mark = len(driver.screen.lines)
            await driver.advance(60)
            driver.flush()
            assert not any(TWO in line for line in driver.screen.lines[mark:])
            with pytest.raises(ReplayTimeout, match=f"{TWO} is powered off"):
                await driver.run(TWO, "show clock")
            await driver.inject(f"power-on {TWO}")  # through the boot, to Press RETURN
            assert driver.prompt(TWO) == "Press RETURN to get started!"
            assert (
                "System Bootstrap, Version 12.3(11r)T2, RELEASE SOFTWARE (fc1)"
                in (driver.screen.lines[mark:])
            )
            await driver.run(TWO, "")
            assert driver.prompt(TWO) == f"{TWO}>"  # a new session: user EXEC again

        driver.lab.run(scenario())


# --------------------------------------------------------------------------- cables


def test_a_pulled_cable_stops_frames_at_once_and_the_link_follows(three: Lab) -> None:
    wait(three, 120)
    tap = Tap(three)
    one = logs(three, ONE)
    three.unplug(ONE, "Gi0/0")
    pulled_at = three.loop.time()
    wait(three, 10)
    assert MACS[ONE] not in tap.senders(since=pulled_at + 0.001)
    assert [(round(t - pulled_at, 6), text) for t, text in one if text.startswith("%L")] == [
        (LINK_DELAY, f"%LINK-3-UPDOWN: Interface {GI}, changed state to down"),
        (
            LINK_DELAY + PROTOCOL_DELAY,
            f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {GI}, changed state to down",
        ),
    ]
    assert "down                  down" in Cli(three, ONE)("show ip interface brief")
    assert three.faults == [Fault("unplug", ONE, GI)]
    three.plug(ONE, GI)
    plugged_at = three.loop.time()
    wait(three, 5)
    up = f"%LINK-3-UPDOWN: Interface {GI}, changed state to up"
    assert (LINK_DELAY, up) in [(round(t - plugged_at, 6), text) for t, text in one]
    assert re.search(r"Success rate is [1-9]\d* percent", ping(three, ONE, "10.1.32.90"))


def test_pulling_the_cable_of_a_shut_interface_logs_nothing() -> None:
    lab = Lab.open("pki-ha", clock="virtual")
    try:
        lab.run(lab.start())
        one = logs(lab, ONE)
        lab.unplug(ONE, GI)
        wait(lab, 5)
        assert one == []
        Cli(lab, ONE).configure().run_all([f"interface {GI}", "no shutdown"])
        wait(lab, 5)
        # No carrier: from administratively down to down, as IOS says it, and no more.
        assert [text for _, text in one] == [
            f"%LINK-3-UPDOWN: Interface {GI}, changed state to down"
        ]
        lab.plug(ONE, GI)
        wait(lab, 5)
        assert [text for _, text in one][1:] == [
            f"%LINK-3-UPDOWN: Interface {GI}, changed state to up",
            f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {GI}, changed state to up",
        ]
    finally:
        lab.close()


def test_a_cable_pulled_while_off_stays_pulled_at_boot(three: Lab) -> None:
    three.power_off(ONE)
    three.unplug(ONE, GI)
    three.run(three.power_on(ONE))
    wait(three, 10)
    assert "down                  down" in Cli(three, ONE)("show ip interface brief")
    assert three.faults == [Fault("unplug", ONE, GI)]


# --------------------------------------------------------------------------- partitions


def test_a_split_segment_elects_two_actives_and_healing_leaves_one(three: Lab) -> None:
    wait(three, 120)
    assert ping(three, HOST, "10.1.32.86").count("!") >= 4
    groups = three.partition([[TWO], [ONE, HOST]])
    assert groups == [[f"{TWO}:{GI}"], [f"{ONE}:{GI}", f"{HOST}:{GI}"]]
    assert three.faults == [Fault("partition", groups=((TWO,), (ONE, HOST)))]
    wait(three, 11)
    for name in (ONE, TWO):
        assert "Active  local" in Cli(three, name)("show standby brief")
    assert "!!!!" in ping(three, HOST, "10.1.32.86")  # through CA-server-1, on its side
    assert "Success rate is 0 percent" in ping(three, HOST, "10.1.32.84")
    one = logs(three, ONE)
    three.heal()
    wait(three, 25)
    assert [text for _, text in one] == [
        f"%HSRP-5-STATECHANGE: {GI} Grp 0 state Active -> Speak",
        f"%HSRP-5-STATECHANGE: {GI} Grp 0 state Speak -> Standby",
    ]
    assert three.faults == []


def test_ports_left_out_of_a_partition_hear_no_one(three: Lab) -> None:
    assert three.partition([[ONE, TWO]]) == [[f"{ONE}:{GI}", f"{TWO}:{GI}"], [f"{HOST}:{GI}"]]
    assert str(three.faults[0]) == "partition CA-server-1 CA-server-2 | Host"


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("power-off R9", "no router R9 in lab hsrp-three (CA-server-1, CA-server-2, Host)"),
        ("power-on CA-server-1", "CA-server-1 is already on"),
        (
            "plug CA-server-1 Gi0/0",
            "the cable of CA-server-1 GigabitEthernet0/0 is already plugged in",
        ),
        ("unplug CA-server-1 Gi0/1", "CA-server-1 GigabitEthernet0/1 has no cable in this lab"),
        ("unplug CA-server-1 Serial0/0", "'Serial0/0' is not an interface name"),
        ("partition CA-server-1 | CA-server-1", "CA-server-1 is named twice in the partition"),
        ("partition CA-server-1 | R9", "no router R9 in lab hsrp-three"),
        ("heal", "no segment is split"),
        ("reboot CA-server-1", "unknown fault 'reboot'; the faults are: power-off ROUTER, "),
        ("power-off", "power-off takes ROUTER (power-off ROUTER), not nothing"),
        ("unplug CA-server-1", "unplug takes ROUTER INTERFACE"),
        ("partition CA-server-1", "a partition needs at least two groups"),
        ("partition CA-server-1 | | Host", "a group of the partition is empty"),
    ],
)
def test_a_fault_that_cannot_be_says_why(three: Lab, command: str, message: str) -> None:
    with pytest.raises(FaultError) as e:
        three.inject(command)
    assert str(e.value).startswith(message)
    assert three.faults == []


def test_powering_off_twice_and_whole_partitions_are_errors(three: Lab) -> None:
    three.power_off(TWO)
    with pytest.raises(FaultError, match="CA-server-2 is already off"):
        three.inject("power-off CA-server-2")
    with pytest.raises(FaultError, match="leaves segment1 in one piece"):
        three.partition([[ONE, TWO, HOST]])


def test_routers_go_by_hostname_and_inject_returns_the_lab_names(three: Lab) -> None:
    Cli(three, ONE).configure()("hostname R1")
    assert three.inject("unplug R1 gi0/0") == Fault("unplug", ONE, GI)
    assert three.inject("power-off R1") == Fault("power-off", ONE)
    assert three.inject(Fault("power-off", HOST)) == Fault("power-off", HOST)
    assert [str(f) for f in three.faults] == [
        "power-off CA-server-1",
        "power-off Host",
        f"unplug CA-server-1 {GI}",
    ]


def test_the_two_spellings_of_a_fault_agree() -> None:
    commands = [
        "power-off CA-server-2",
        "power-on CA-server-2",
        "unplug CA-server-1 Gi0/0",
        "plug CA-server-1 Gi0/0",
        "partition CA-server-1 | CA-server-2 Host",
        "heal",
    ]
    for command in commands:
        fault = parse_command(command)
        assert fault.command() == command
        assert parse_prose(fault.prose()) == fault
    assert parse_prose("the cable of R1 Gi0/0 is plugged back") == Fault("plug", "R1", "Gi0/0")
    assert parse_prose("R1 reloads") is None
