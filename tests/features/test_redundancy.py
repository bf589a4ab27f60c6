"""Inter-device redundancy (RF): the guide's steps 3-4, failover, force-switchover, the
misconfigurations of issue 4 and the RF client interface.

Everything runs on the virtual clock: the guide's 60 s HSRP reload delay and the election
after it cost milliseconds, so each test types the guide's configuration, saves, reloads
and lets the pair form for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from helpers import Cli, LogTap

from iosemu.api import Lab
from iosemu.features.hsrp import Hsrp, State
from iosemu.features.ipc import DEAD_AFTER, Association, Ipc
from iosemu.features.redundancy import (
    ACTIVE,
    DISABLED,
    STANDBY_COLD_BULK,
    STANDBY_HOT,
    TERMINAL_DELAY,
    Redundancy,
    RfClient,
)
from iosemu.features.running_config import config_body

ONE, TWO = "CA-server-1", "CA-server-2"
ADDRESSES = {ONE: ("10.1.32.83", "10.1.32.84"), TWO: ("10.1.32.84", "10.1.32.83")}
GI = "GigabitEthernet0/0"

# --------------------------------------------------------------------------- expected text

# Reference §4.1, DERIVED targets: real IOS-XE whitespace (a space after each state, three
# after the mask, a blank line at the end), the guide's fields and values.
ACTIVE_HOT = (
    "       my state = 13 -ACTIVE \n"
    "     peer state = 8  -STANDBY HOT \n"
    "           Mode = Duplex\n"
    "        Unit ID = 0\n"
    "\n"
    "     Maintenance Mode = Disabled\n"
    "    Manual Swact = disabled (peer unit not yet in terminal standby state)\n"
    " Communications = Up\n"
    "\n"
    "   client count = 14\n"
    " client_notification_TMR = 30000 milliseconds\n"
    "           RF debug mask = 0x100   \n"
    "\n"
)
STANDBY_HOT_TEXT = (
    "       my state = 8  -STANDBY HOT \n"
    "     peer state = 13 -ACTIVE \n"
    "           Mode = Duplex\n"
    "        Unit ID = 0\n"
    "\n"
    "     Maintenance Mode = Disabled\n"
    "    Manual Swact = cannot be initiated from this the standby unit\n"
    " Communications = Up\n"
    "\n"
    "   client count = 14\n"
    " client_notification_TMR = 30000 milliseconds\n"
    "           RF debug mask = 0x100   \n"
    "\n"
)
SIMPLEX = (
    "       my state = 13 -ACTIVE \n"
    "     peer state = 1  -DISABLED \n"
    "           Mode = Simplex\n"
    "        Unit ID = 0\n"
    "\n"
    "     Maintenance Mode = Disabled\n"
    "    Manual Swact = disabled (system is simplex (no peer unit))\n"
    " Communications = Down      Reason: Simplex mode\n"
    "\n"
    "   client count = 14\n"
    " client_notification_TMR = 30000 milliseconds\n"
    "           RF debug mask = 0x0   \n"
    "\n"
)


def no_debug(text: str) -> str:
    """The same output with no redundancy debug on (RF debug mask 0x0)."""
    return text.replace("RF debug mask = 0x100", "RF debug mask = 0x0")


SWACT_SIMPLEX = "    Manual Swact = disabled (system is simplex (no peer unit))\n"
SWACT_STANDBY = "    Manual Swact = cannot be initiated from this the standby unit\n"
SWACT_NOT_TERMINAL = "    Manual Swact = disabled (peer unit not yet in terminal standby state)\n"
CONFIRM = "Proceed with switchover to standby RP? [confirm]"
TOGGLE = ["ipc zone default", "association 1", "shutdown", "no shutdown", "end"]
FIX_REMOTE = ["ipc zone default", "association 1", "protocol sctp", "remote-port 5000"]

# --------------------------------------------------------------------------- harness


def guide_lines(
    name: str,
    *,
    standby_name: str | None = "SB",
    scheme: str = "SB",
    remote_ip: str | None = None,
    remote_port: int = 5000,
    association_shut: bool = False,
) -> list[str]:
    """Steps 2-4 of the guide as typed in configuration mode, with one thing changed."""
    local, remote = ADDRESSES[name]
    return [
        f"interface {GI}",
        f"ip address {local} 255.255.255.0",
        "duplex auto",
        "speed auto",
        "media-type rj45",
        "standby delay minimum 30 reload 60",
        "standby 0 ip 10.1.32.86",
        "standby 0 priority 50",
        *([f"standby 0 name {standby_name}"] if standby_name else []),
        "no shutdown",
        "exit",
        "ipc zone default",
        "association 1",
        "shutdown" if association_shut else "no shutdown",
        "protocol sctp",
        "local-port 5000",
        f"local-ip {local}",
        "exit",
        f"remote-port {remote_port}",
        f"remote-ip {remote_ip or remote}",
        *["exit"] * 4,  # up to global configuration
        "redundancy inter-device",
        f"scheme standby {scheme}",
        "end",
    ]


def configure(lab: Lab, name: str, lines: list[str]) -> None:
    out = Cli(lab, name).configure().run_all(lines)
    assert out == "", out


def save_and_reload(lab: Lab, *names: str) -> None:
    """``write memory`` and ``reload`` from the console, as the guide's reader does."""
    for name in names:
        assert Cli(lab, name)("write memory") == "Building configuration...\n[OK]\n"
    for name in names:
        assert Cli(lab, name)("reload", "").endswith("Proceed with reload? [confirm]\n")


def wait(lab: Lab, seconds: float) -> None:
    lab.run(asyncio.sleep(seconds))


def wait_for(lab: Lab, condition: Callable[[], object], what: str, limit: float = 600) -> float:
    """Run the lab in small steps until ``condition`` holds; returns the lab time then."""
    deadline = lab.loop.time() + limit
    while not condition():
        if lab.loop.time() > deadline:
            raise AssertionError(f"no {what} within {limit:g} lab seconds")
        wait(lab, 0.05)
    return lab.loop.time()


def rf(lab: Lab, name: str) -> Redundancy:
    return lab.router(name).feature(Redundancy)


def association(lab: Lab, name: str) -> Association:
    return lab.router(name).feature(Ipc).association(1)


def hsrp_state(lab: Lab, name: str) -> State:
    group = lab.router(name).feature(Hsrp).group(GI, 0, create=False)
    assert group is not None
    return group.state


def show(lab: Lab, name: str, command: str, *answers: str) -> str:
    return Cli(lab, name)(command, *answers)


def hot(lab: Lab, name: str = ONE) -> bool:
    return lab.router(name).state == "running" and rf(lab, name).my_state == STANDBY_HOT


def interdev(event: str, old: str, new: str) -> str:
    return (
        f"REDUNDANCY INTERDEV: event: RF_INTERDEV_EVENT_{event} "
        f"state: RF_INTERDEV_STATE_{old} -> RF_INTERDEV_STATE_{new}"
    )


def statechange(change: str) -> str:
    return f"%HSRP-5-STATECHANGE: {GI} Grp 0 state {change}"


def form_pair(lab: Lab) -> float:
    """Steps 2-4 on both, saved, both reloaded; returns when CA-server-1 is STANDBY HOT."""
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    save_and_reload(lab, ONE, TWO)
    return wait_for(lab, lambda: hot(lab), "STANDBY HOT")


@pytest.fixture
def pair(lab: Lab) -> Lab:
    """The guide's pair, formed: CA-server-2 ACTIVE, CA-server-1 just STANDBY HOT."""
    form_pair(lab)
    return lab


# --------------------------------------------------------------------------- the guide


def test_steps_3_and_4_take_effect_only_after_a_reload(lab: Lab) -> None:
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    wait(lab, 130)  # HSRP elected, the association up: still no pair
    assert hsrp_state(lab, TWO) is State.ACTIVE and hsrp_state(lab, ONE) is State.STANDBY
    assert association(lab, ONE).up and association(lab, TWO).up
    for name in (ONE, TWO):
        assert show(lab, name, "show redundancy states") == SIMPLEX
    # The running configuration, reference §2.4.
    body = config_body(lab.router(TWO))
    start = body.index("redundancy inter-device")
    assert body[start : start + 16] == [
        "redundancy inter-device",
        " scheme standby SB",
        "!",
        "!",
        "redundancy",
        "!",
        "!",
        "ipc zone default",
        " association 1",
        "  no shutdown",
        "  protocol sctp",
        "   local-port 5000",
        "    local-ip 10.1.32.84",
        "   remote-port 5000",
        "    remote-ip 10.1.32.83",
        "!",
    ]


def test_after_the_reload_the_pair_reaches_active_and_standby_hot(lab: Lab) -> None:
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    save_and_reload(lab, ONE, TWO)
    wait(lab, 10)
    taps = {name: LogTap(lab, name) for name in (ONE, TWO)}
    for name in (ONE, TWO):
        show(lab, name, "debug redundancy inter-device")
    # Paired over the association while HSRP still waits out its reload delay.
    assert association(lab, ONE).up and rf(lab, ONE).duplex
    assert show(lab, TWO, "show redundancy states | include state").startswith(
        "       my state = 2  -INITIALIZATION \n     peer state = 2  -INITIALIZATION \n"
    )
    walk: list[int] = []

    def standby_walk() -> bool:
        state = rf(lab, ONE).my_state
        if not walk or walk[-1] != state:
            walk.append(state)
        return state == STANDBY_HOT

    wait_for(lab, standby_walk, "STANDBY HOT")
    assert walk == [2, 3, 4, 5, 6, 7, 8]
    assert show(lab, TWO, "show redundancy states") == ACTIVE_HOT
    assert show(lab, ONE, "show redundancy state") == STANDBY_HOT_TEXT
    # The guide's debug lines, each with the same timestamp as its HSRP message.
    assert taps[TWO].texts("%HSRP", "REDUNDANCY") == [
        statechange("Speak -> Standby"),
        interdev("HSRP_STDBY", "PC_NO_HSRP", "STDBY"),
        statechange("Standby -> Active"),
        interdev("HSRP_ACT", "STDBY", "ACT"),
    ]
    assert taps[ONE].texts("%HSRP", "REDUNDANCY") == [
        statechange("Speak -> Standby"),
        interdev("HSRP_STDBY", "PC_NO_HSRP", "STDBY"),
    ]
    for tap in taps.values():
        times = [t for t, text in tap.lines if text.startswith(("%HSRP", "REDUNDANCY"))]
        assert times[0] == times[1]
    assert show(lab, TWO, "show redundancy inter-device") == (
        "Redundancy inter-device state: RF_INTERDEV_STATE_ACT\n"
        "  Scheme: Standby\n"
        "      Groupname: SB Group State: Active\n"
        "  Peer present: RF_INTERDEV_PEER_COMM\n"
        "  Security: Not configured\n"
        "\n"
    )
    assert show(lab, ONE, "show redundancy inter-device").startswith(
        "Redundancy inter-device state: RF_INTERDEV_STATE_STDBY\n  Scheme: Standby\n"
        "      Groupname: SB Group State: Standby\n  Peer present: RF_INTERDEV_PEER_COMM\n"
    )
    # The mask follows the debug flags in force.
    assert show(lab, ONE, "undebug all") == "All possible debugging has been turned off\n"
    assert show(lab, ONE, "show redundancy states") == no_debug(STANDBY_HOT_TEXT)


def test_show_redundancy_of_the_pair(pair: Lab) -> None:
    active = show(pair, TWO, "show redundancy")
    for line in (
        "Switchovers system experienced = 0\n",
        "              Standby failures = 0\n",
        "        Last switchover reason = none\n",
        "                 Hardware Mode = Duplex\n",
        "                Communications = Up\n",
        "               Active Location = slot 0\n        Current Software state = ACTIVE\n",
        "Peer Processor Information :\n"
        "----------------------------\n"
        "              Standby Location = slot 0\n"
        "        Current Software state = STANDBY HOT \n"
        "       Uptime in current state = 0 minutes\n",
    ):
        assert line in active
    standby = show(pair, ONE, "show redundancy")
    assert "              Standby Location = slot 0\n" in standby
    assert "        Current Software state = STANDBY HOT \n" in standby
    peer = standby.split("Peer Processor Information")[1]
    assert "               Active Location = slot 0\n" in peer
    assert "        Current Software state = ACTIVE\n" in peer


def test_the_guides_simplex_output_and_its_fix_by_toggling_the_association(lab: Lab) -> None:
    # CA-server-1's association was never opened (``no shutdown`` left out) when both
    # routers reloaded with the scheme.
    configure(lab, ONE, guide_lines(ONE, association_shut=True))
    configure(lab, TWO, guide_lines(TWO))
    save_and_reload(lab, ONE, TWO)
    wait_for(lab, lambda: hsrp_state(lab, ONE) is State.STANDBY, "HSRP Standby")
    wait(lab, 30)
    # The guide's output, on the HSRP Standby: a lone ACTIVE unit.
    assert show(lab, ONE, "sh redundancy state") == SIMPLEX
    assert show(lab, TWO, "show redundancy states") == SIMPLEX
    # Reloading does not help: the saved configuration keeps it shut.
    save_and_reload(lab, ONE)
    wait_for(lab, lambda: hsrp_state(lab, ONE) is State.STANDBY, "HSRP Standby again")
    wait(lab, 30)
    assert show(lab, ONE, "show redundancy states") == SIMPLEX
    # The guide's fix: toggle the association. No reload needed.
    configure(lab, ONE, TOGGLE)
    wait_for(lab, lambda: hot(lab), "STANDBY HOT", limit=30)
    assert show(lab, ONE, "show redundancy states") == no_debug(STANDBY_HOT_TEXT)
    assert show(lab, TWO, "show redundancy states") == no_debug(ACTIVE_HOT)


@dataclass
class Misconfig:
    one: dict[str, object] = field(default_factory=dict)  # guide_lines() changes
    two: dict[str, object] = field(default_factory=dict)
    association_up: bool = False  # the association itself comes up
    # The fix: lines typed in configuration mode, then how it takes effect.
    fix_one: list[str] = field(default_factory=list)
    fix_two: list[str] = field(default_factory=list)
    then: str = "toggle"  # toggle CA-server-1's association, "reload" both, or "" (nothing)


MISCONFIGS = {
    # No HSRP group is named SB on either router: the scheme names nothing.
    "scheme names no group": Misconfig(
        one={"standby_name": None},
        two={"standby_name": None},
        association_up=True,
        fix_one=[f"interface {GI}", "standby 0 name SB", "end"],
        fix_two=[f"interface {GI}", "standby 0 name SB", "end"],
    ),
    # Each consistent on its own (group and scheme SB-1), but not with the other.
    "names differ": Misconfig(
        one={"standby_name": "SB-1", "scheme": "SB-1"},
        association_up=True,
        fix_one=[
            f"interface {GI}",
            "standby 0 name SB",
            "exit",
            "redundancy inter-device",
            "scheme standby SB",
            "end",
        ],
        then="reload",  # the scheme is read at boot
    ),
    "wrong remote ip": Misconfig(
        one={"remote_ip": "10.1.32.85"},
        fix_one=[*FIX_REMOTE, "remote-ip 10.1.32.84", "end"],
        then="",  # a new remote address restarts the association
    ),
    "wrong remote port": Misconfig(
        two={"remote_port": 5001},
        fix_two=[*FIX_REMOTE, "remote-ip 10.1.32.83", "end"],
        then="",
    ),
    "association left shut": Misconfig(
        two={"association_shut": True},
        fix_two=["ipc zone default", "association 1", "no shutdown", "end"],
        then="",
    ),
}


@pytest.mark.parametrize("case", MISCONFIGS.values(), ids=MISCONFIGS.keys())
def test_each_misconfiguration_leaves_the_pair_simplex_until_fixed(
    lab: Lab, case: Misconfig
) -> None:
    configure(lab, ONE, guide_lines(ONE, **case.one))  # type: ignore[arg-type]
    configure(lab, TWO, guide_lines(TWO, **case.two))  # type: ignore[arg-type]
    save_and_reload(lab, ONE, TWO)
    wait(lab, 200)  # long after the election and any pairing would have happened
    # HSRP works; the RF pair does not form, and each unit is a lone ACTIVE.
    assert hsrp_state(lab, TWO) is State.ACTIVE and hsrp_state(lab, ONE) is State.STANDBY
    assert association(lab, ONE).up is case.association_up
    for name in (ONE, TWO):
        assert show(lab, name, "show redundancy states") == SIMPLEX
        assert show(lab, name, "redundancy force-switchover") == SWACT_SIMPLEX
    # Until fixed.
    if case.fix_one:
        configure(lab, ONE, case.fix_one)
    if case.fix_two:
        configure(lab, TWO, case.fix_two)
    if case.then == "toggle":
        configure(lab, ONE, TOGGLE)
    elif case.then == "reload":
        save_and_reload(lab, ONE, TWO)
    wait_for(lab, lambda: hot(lab), "STANDBY HOT after the fix", limit=300)
    assert show(lab, TWO, "show redundancy states") == no_debug(ACTIVE_HOT)


def test_a_reload_with_the_association_up_leaves_one_steady_association(lab: Lab) -> None:
    """Regression: a reload used to leave the old dial loop running (Python 3.11's
    ``wait_for`` swallowed its cancellation), resetting the new association every second."""
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    wait(lab, 20)
    assert association(lab, ONE).up
    save_and_reload(lab, ONE, TWO)
    wait_for(lab, lambda: association(lab, ONE).up, "the association after the reload")
    changes: list[bool] = []
    association(lab, ONE).state_handlers.append(changes.append)
    association(lab, TWO).state_handlers.append(changes.append)
    wait(lab, 60)
    assert changes == []


# --------------------------------------------------------------------------- failover


def test_power_off_of_the_active_makes_the_standby_active_and_it_returns_hot(pair: Lab) -> None:
    show(pair, ONE, "debug redundancy inter-device")
    tap = LogTap(pair, ONE)
    off_at = pair.loop.time()
    pair.power_off(TWO)
    took_over = wait_for(pair, lambda: rf(pair, ONE).my_state == ACTIVE, "RF ACTIVE")
    assert took_over - off_at <= 10.5  # the HSRP hold time, and the ACTIVE-FAST walk
    assert hsrp_state(pair, ONE) is State.ACTIVE
    assert tap.texts("%HSRP", "REDUNDANCY") == [
        statechange("Standby -> Active"),
        interdev("HSRP_ACT", "STDBY", "ACT"),
    ]
    assert show(pair, ONE, "show redundancy states") == SIMPLEX.replace("0x0", "0x100")
    system = show(pair, ONE, "show redundancy")
    assert "Switchovers system experienced = 1\n" in system
    assert "        Last switchover reason = active unit failed\n" in system
    assert "                 Hardware Mode = Simplex\n" in system
    # Powered on again, the old active comes back as the standby.
    pair.run(pair.power_on(TWO))
    wait_for(pair, lambda: hot(pair, TWO), "CA-server-2 STANDBY HOT")
    assert show(pair, TWO, "show redundancy states") == no_debug(STANDBY_HOT_TEXT)
    assert show(pair, ONE, "show redundancy states") == ACTIVE_HOT
    assert "Switchovers system experienced = 1\n" in show(pair, ONE, "show redundancy")


def test_loss_of_the_standby_is_a_standby_failure(pair: Lab) -> None:
    pair.power_off(ONE)
    wait(pair, DEAD_AFTER + 0.1)
    assert show(pair, TWO, "show redundancy states") == SIMPLEX
    system = show(pair, TWO, "show redundancy")
    assert "Switchovers system experienced = 0\n              Standby failures = 1\n" in system
    assert "Peer (slot: unavailable) information is not available because it is in " in system


def test_force_switchover_is_refused_in_simplex_on_the_standby_and_too_early(lab: Lab) -> None:
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    wait(lab, 130)
    cli = Cli(lab, TWO)
    assert cli("redundancy force-switchover") == SWACT_SIMPLEX
    save_and_reload(lab, ONE, TWO)
    wait_for(lab, lambda: hot(lab), "STANDBY HOT")
    booted = lab.router(TWO).boot_time
    assert show(lab, ONE, "redundancy force-switchover") == SWACT_STANDBY
    cli = Cli(lab, TWO)
    assert cli("redundancy force-switchover") == SWACT_NOT_TERMINAL
    assert cli.terminal.questions == []  # refused before asking
    wait(lab, TERMINAL_DELAY - 1)
    assert cli("redundancy force-switchover") == SWACT_NOT_TERMINAL
    assert lab.router(TWO).boot_time == booted and rf(lab, TWO).my_state == ACTIVE


def test_force_switchover_hands_over_at_once_and_the_old_active_returns_hot(pair: Lab) -> None:
    wait(pair, TERMINAL_DELAY)
    assert "\n    Manual Swact = enabled\n" in show(pair, TWO, "show redundancy states")
    tap = LogTap(pair, ONE)
    # An unsaved change: the switchover offers to save it, as a reload does.
    configure(pair, TWO, ["ip domain name example.com"])
    asked_at = pair.loop.time()
    assert show(pair, TWO, "redundancy force-switchover", "yes", "") == (
        "System configuration has been modified. Save? [yes/no]: "
        "Building configuration...\n[OK]\n"
        f"{CONFIRM}    Manual Swact = enabled\n"
    )
    # The active resigned on its way down: the standby took over at once.
    assert rf(pair, ONE).my_state == ACTIVE and hsrp_state(pair, ONE) is State.ACTIVE
    took_over = [t for t, text in tap.lines if text == statechange("Standby -> Active")]
    assert took_over and took_over[0] - asked_at < 1.0
    system = show(pair, ONE, "show redundancy")
    assert "Switchovers system experienced = 1\n" in system
    assert "        Last switchover reason = user forced\n" in system
    assert show(pair, ONE, "show redundancy states") == no_debug(SIMPLEX)
    # The old active reloaded (saved first) and comes back as the standby.
    wait_for(pair, lambda: hot(pair, TWO), "CA-server-2 STANDBY HOT")
    assert "Last reload reason: redundancy force-switchover" in show(pair, TWO, "show version")
    assert "ip domain name example.com" in show(pair, TWO, "show running-config")
    assert show(pair, TWO, "show redundancy states") == no_debug(STANDBY_HOT_TEXT)
    assert show(pair, ONE, "show redundancy states") == no_debug(ACTIVE_HOT)


def test_force_switchover_declined_changes_nothing(pair: Lab) -> None:
    wait(pair, TERMINAL_DELAY)
    booted = pair.router(TWO).boot_time
    assert show(pair, TWO, "redundancy force-switchover", "n") == CONFIRM
    wait(pair, 20)
    assert pair.router(TWO).boot_time == booted
    assert show(pair, TWO, "show redundancy states").startswith(ACTIVE_HOT.split("\n")[0])


# --------------------------------------------------------------------------- RF clients


@dataclass
class Recorder:
    """An RF client that writes down everything the facility tells it."""

    lab: Lab
    name: str
    client_name: str = "TEST"
    channel: int = 40
    roles: list[str] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    states_at_message: list[int] = field(default_factory=list)
    bulk: list[tuple[float, float, int]] = field(default_factory=list)  # start, end, peer
    peer_hot: list[float] = field(default_factory=list)
    peer_lost: list[float] = field(default_factory=list)

    def client(self) -> RfClient:
        return RfClient(
            self.client_name,
            self.channel,
            self._message,
            on_role=self.roles.append,
            bulk_sync=self._bulk_sync,
            on_peer_hot=lambda: self.peer_hot.append(self.lab.loop.time()),
            on_peer_lost=lambda: self.peer_lost.append(self.lab.loop.time()),
        )

    def register(self) -> RfClient:
        client = self.client()
        rf(self.lab, self.name).register(client)
        return client

    def _message(self, payload: bytes) -> None:
        self.messages.append(payload)
        self.states_at_message.append(rf(self.lab, self.name).my_state)

    async def _bulk_sync(self) -> None:
        unit = rf(self.lab, self.name)
        start, peer = self.lab.loop.time(), unit.peer_state
        for i in range(3):  # takes lab time: the standby must wait for all of it
            assert unit.send(self.client(), f"bulk {i}".encode())
            await asyncio.sleep(1)
        self.bulk.append((start, self.lab.loop.time(), peer))


def test_rf_client_roles_bulk_sync_messages_and_peer_loss(lab: Lab) -> None:
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    save_and_reload(lab, ONE, TWO)
    wait(lab, 5)  # running, HSRP still in its reload delay: the roles are not decided
    active, standby = Recorder(lab, TWO), Recorder(lab, ONE)
    clients = {TWO: active.register(), ONE: standby.register()}
    assert active.roles == [] and standby.roles == []
    assert not rf(lab, TWO).send(clients[TWO], b"too early")  # not paired yet
    hot_at = wait_for(lab, lambda: hot(lab), "STANDBY HOT")
    assert active.roles == ["active"] and standby.roles == ["standby"]
    # Bulk sync: once, on the active, while the standby sat in COLD-BULK; the standby got
    # every bulk message in order before it went HOT, and HOT came after the sync ended.
    assert len(active.bulk) == 1 and standby.bulk == []
    start, end, peer = active.bulk[0]
    assert peer == STANDBY_COLD_BULK and end - start >= 3 and hot_at >= end
    assert standby.messages == [b"bulk 0", b"bulk 1", b"bulk 2"]
    assert standby.states_at_message == [STANDBY_COLD_BULK] * 3
    assert active.peer_hot and active.peer_hot[0] >= end and standby.peer_hot == []
    # Messages both ways, in order.
    for i in range(5):
        assert rf(lab, ONE).send(clients[ONE], f"up {i}".encode())
        assert rf(lab, TWO).send(clients[TWO], f"down {i}".encode())
    wait(lab, 0.5)
    assert active.messages == [f"up {i}".encode() for i in range(5)]
    assert standby.messages[3:] == [f"down {i}".encode() for i in range(5)]
    # A client that registers once the role is decided hears it at once.
    late = Recorder(lab, ONE, "LATE", 41)
    late.register()
    assert late.roles == ["standby"]
    # The active goes away: the standby hears the loss, then becomes the active.
    lab.power_off(TWO)
    wait_for(lab, lambda: rf(lab, ONE).my_state == ACTIVE, "the takeover")
    assert len(standby.peer_lost) == 1 and standby.roles == ["standby", "active"]
    assert not rf(lab, ONE).send(clients[ONE], b"nobody there")
    # It returns as the standby (features are rebuilt at boot: register again); the new
    # active syncs it in bulk.
    lab.run(lab.power_on(TWO))
    back = Recorder(lab, TWO)
    back.register()
    wait_for(lab, lambda: hot(lab, TWO), "CA-server-2 STANDBY HOT")
    assert back.roles == ["standby"]
    assert len(standby.bulk) == 1 and standby.bulk[0][2] == STANDBY_COLD_BULK
    assert back.messages == [b"bulk 0", b"bulk 1", b"bulk 2"]


def test_a_standby_that_lost_its_peer_is_synced_again_when_paired(pair: Lab) -> None:
    active, standby = Recorder(pair, TWO), Recorder(pair, ONE)
    active.register()
    standby.register()
    assert active.roles == ["active"] and standby.roles == ["standby"]
    configure(pair, ONE, ["ipc zone default", "association 1", "shutdown", "end"])
    wait(pair, DEAD_AFTER + 0.5)
    assert active.peer_lost and standby.peer_lost
    # Still the standby (HSRP says so), but nobody keeps it in sync.
    assert rf(pair, ONE).role == "standby" and not rf(pair, ONE).duplex
    assert rf(pair, ONE).peer_state == DISABLED
    configure(pair, ONE, ["ipc zone default", "association 1", "no shutdown", "end"])
    wait_for(pair, lambda: rf(pair, ONE).my_state == STANDBY_COLD_BULK, "the walk again")
    wait_for(pair, lambda: hot(pair), "STANDBY HOT again")
    assert len(active.bulk) == 1 and standby.messages == [b"bulk 0", b"bulk 1", b"bulk 2"]
    assert standby.roles == ["standby"]  # no role change: just a fresh sync
