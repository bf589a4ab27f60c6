"""Community parsers read our ``show redundancy`` and ``show redundancy states`` as a router's,
and what they read is the state the routers are really in.

* ntc-templates ``cisco_ios_show_redundancy`` (TextFSM). Its states end in ``^. -> Error``:
  a line it does not know fails the parse, so a clean parse also says every line we print
  is one a real IOS prints. The template knows the active unit's view only (``Active
  Location`` under *Current Processor*, ``Standby Location`` under *Peer Processor*); on
  the standby unit its system part is checked.
* Genie ``ShowRedundancyStates`` (see ``test_genie_reads_show_redundancy_states``).
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from unittest.mock import Mock

import pytest
from helpers import Cli
from ntc_templates.parse import parse_output

from iosemu.api import Lab
from iosemu.features.redundancy import STATE_NAMES, Redundancy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "features"))

from test_redundancy import (  # the guide's pair, formed on the virtual clock
    ONE,
    TWO,
    configure,
    form_pair,
    guide_lines,
    hot,
    wait_for,
)


def rf(lab: Lab, name: str) -> Redundancy:
    return lab.router(name).feature(Redundancy)


def ntc(lab: Lab, name: str, text: str | None = None) -> dict[str, str]:
    text = Cli(lab, name)("show redundancy") if text is None else text
    parsed = parse_output(platform="cisco_ios", command="show redundancy", data=text)
    assert len(parsed) == 1
    return parsed[0]


def uptime(seconds: float) -> dict[str, str]:
    """``uptime_text`` as the template splits it (an absent unit is ``""``)."""
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return {"hours": str(hours) if hours else "", "minutes": str(minutes)}


def uptimes(parsed: dict[str, str], prefix: str) -> dict[str, str]:
    return {unit: parsed[f"{prefix}_uptime_{unit}"] for unit in ("hours", "minutes")}


def system_part(rf: Redundancy) -> dict[str, str]:
    """What the template reads of the system part, from the unit's own state."""
    return {
        "switchovers": str(rf.switchovers),
        "standby_failures": str(rf.standby_failures),
        "last_switchover_reason": rf.last_reason,
        "hardware_mode": "Duplex" if rf.duplex else "Simplex",
        "maintenance_mode": "Disabled",
        "communication_status": "Up" if rf.duplex else "Down      Reason: Failure",
    }


def form_pair_after_configuring(lab: Lab) -> None:
    """The routers, configured with steps 2-4, saved and reloaded: paired."""
    for name in (ONE, TWO):
        assert "[OK]" in Cli(lab, name)("write memory")
        lab.router(name).reload("reload")
    wait_for(lab, lambda: hot(lab), "STANDBY HOT")


def test_ntc_reads_the_active_of_the_pair(lab: Lab) -> None:
    form_pair(lab)
    lab.run(asyncio.sleep(150))  # uptimes of a few minutes
    active, router = rf(lab, TWO), lab.router(TWO)
    parsed = ntc(lab, TWO)
    now = lab.loop.time()
    assert {k: parsed[k] for k in system_part(active)} == system_part(active)
    assert parsed["hardware_mode"] == "Duplex" and parsed["communication_status"] == "Up"
    assert uptimes(parsed, "system") == uptime(router.uptime())
    assert parsed["active_slot"] == "0" and parsed["standby_slot"] == "0"
    assert parsed["active_software_state"] == STATE_NAMES[active.my_state] == "ACTIVE"
    assert parsed["standby_software_state"] == STATE_NAMES[active.peer_state] == "STANDBY HOT"
    assert uptimes(parsed, "active") == uptime(now - active.state_since)
    assert uptimes(parsed, "standby") == uptime(now - active.peer_since)
    assert parsed["active_uptime_minutes"] == "2"
    assert parsed["active_config_register"] == parsed["standby_config_register"] == "0x2102"
    assert parsed["standby_status"] == ""


def test_ntc_reads_simplex_units_and_a_failover(lab: Lab) -> None:
    # Configured but not reloaded: both Simplex.
    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    lab.run(asyncio.sleep(130))
    for name in (ONE, TWO):
        unit = rf(lab, name)
        parsed = ntc(lab, name)
        assert {k: parsed[k] for k in system_part(unit)} == system_part(unit)
        assert parsed["hardware_mode"] == "Simplex"
        assert parsed["active_software_state"] == STATE_NAMES[unit.my_state] == "ACTIVE"
        assert parsed["standby_status"] == STATE_NAMES[unit.peer_state] == "DISABLED"
        assert parsed["standby_software_state"] == ""
    # A failover: the counters and the reason.
    form_pair_after_configuring(lab)
    lab.power_off(TWO)
    wait_for(lab, lambda: rf(lab, ONE).role == "active", "the takeover")
    parsed = ntc(lab, ONE)
    assert (parsed["switchovers"], parsed["last_switchover_reason"]) == ("1", "active unit failed")
    assert parsed["hardware_mode"] == "Simplex" and parsed["standby_status"] == "DISABLED"


def test_ntc_reads_the_system_part_on_the_standby(lab: Lab) -> None:
    form_pair(lab)
    text = Cli(lab, ONE)("show redundancy")
    assert "              Standby Location = slot 0\n" in text  # what the template lacks
    system = text.split("Current Processor Information :")[0]
    standby = rf(lab, ONE)
    parsed = ntc(lab, ONE, system)
    assert {k: parsed[k] for k in system_part(standby)} == system_part(standby)
    assert parsed["hardware_mode"] == "Duplex"


# --------------------------------------------------------------------------- Genie


def genie_states(text: str) -> dict[str, object]:
    from genie.libs.parser.iosxe.show_platform import ShowRedundancyStates

    return dict(ShowRedundancyStates(device=Mock()).cli(output=text))


def expected_states(unit: Redundancy, mask: str = "0x0") -> dict[str, object]:
    """What Genie should read, from the unit's own state."""

    def state(n: int) -> str:
        return f"{n:<2d} -{STATE_NAMES[n]}"

    out: dict[str, object] = {
        "my_state": state(unit.my_state),
        "peer_state": state(unit.peer_state if unit.duplex else 1),
        "mode": "Duplex" if unit.duplex else "Simplex",
        "unit_id": 0,
        "maintenance_mode": "Disabled",
        "communications": "Up" if unit.duplex else "Down",
        "client_count": 14,
        "client_notification_tmr_msec": 30000,
        "rf_debug_mask": mask,
    }
    m = re.fullmatch(r"(\w+)(?: \((.*)\))?", unit.manual_swact())
    if m:  # Genie's pattern misses the standby's "cannot be initiated ..." (see below)
        out["manual_swact"] = m.group(1)
        if m.group(2):
            out["manual_swact_reason"] = m.group(2)
    if not unit.duplex:
        out["communications_reason"] = "Simplex mode"
    return out


@pytest.mark.genie
def test_genie_reads_show_redundancy_states(lab: Lab) -> None:
    """Genie has only an IOS-XE ``ShowRedundancyStates``. Its schema requires the
    ``Redundancy Mode (Operational)``, ``Redundancy Mode (Configured)`` and ``Redundancy
    State`` lines of chassis SSO platforms, which 15.1 inter-device output does not print
    (the guide's captures and reference §4.1 have none), so ``parse()`` fails schema
    validation on a real 15.1 router as on ours. ``cli(output=...)`` parses without the
    schema: every field it reads must equal the unit's state.

    Genie's ``Manual Swact`` pattern wants a word and an optional parenthesis, so it
    misses the standby's ``cannot be initiated from this the standby unit`` (its special
    case for ``cannot`` is never reached): on the standby it reads no ``manual_swact``.
    """
    pytest.importorskip("genie.libs.parser")
    from genie.libs.parser.iosxe.show_platform import ShowRedundancyStates
    from genie.metaparser.util.exceptions import SchemaMissingKeyError

    for name in (ONE, TWO):
        configure(lab, name, guide_lines(name))
    lab.run(asyncio.sleep(130))
    for name in (ONE, TWO):  # Simplex before the reload
        parsed = genie_states(Cli(lab, name)("show redundancy states"))
        assert parsed == expected_states(rf(lab, name))
        assert parsed["my_state"] == "13 -ACTIVE" and parsed["peer_state"] == "1  -DISABLED"
    form_pair_after_configuring(lab)
    for name in (ONE, TWO):
        Cli(lab, name)("debug redundancy inter-device")
    active = genie_states(Cli(lab, TWO)("show redundancy states"))
    assert active == expected_states(rf(lab, TWO), "0x100")
    assert (active["my_state"], active["peer_state"]) == ("13 -ACTIVE", "8  -STANDBY HOT")
    standby = genie_states(Cli(lab, ONE)("show redundancy states"))
    assert standby == expected_states(rf(lab, ONE), "0x100")
    assert (standby["my_state"], standby["peer_state"]) == ("8  -STANDBY HOT", "13 -ACTIVE")
    assert "manual_swact" not in standby
    # The schema-validated parse wants the SSO lines.
    with pytest.raises(SchemaMissingKeyError, match="redundancy_mode_operational"):
        ShowRedundancyStates(device=Mock()).parse(output=Cli(lab, TWO)("show redundancy states"))
