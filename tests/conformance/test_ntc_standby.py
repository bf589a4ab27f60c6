"""ntc-templates (TextFSM) reads our ``show standby`` and ``show standby brief`` as a router's.

The templates end in ``^. -> Error``: a line they do not know fails the parse, so a clean
parse also proves every line we print is one a real IOS prints.
"""

from __future__ import annotations

import asyncio
import re

from helpers import Cli
from ntc_templates.parse import parse_output

from iosemu.api import Lab

GUIDE = [
    "standby delay minimum 30 reload 60",
    "standby 0 ip 10.1.32.86",
    "standby 0 priority 50",
    "standby 0 name SB",
    "no shutdown",
]
NO_TRACK = {"track_item": "", "track_type": "", "track_state": "", "track_decrement_time": ""}


def bring_up(lab: Lab, name: str, address: str, lines: list[str]) -> None:
    cli = Cli(lab, name).configure()
    out = cli.run_all(
        ["interface GigabitEthernet0/0", f"ip address {address} 255.255.255.0", *lines]
    )
    assert out == ""


def parse(lab: Lab, name: str, command: str) -> list[dict[str, object]]:
    text = Cli(lab, name)(command)
    return parse_output(platform="cisco_ios", command=command, data=text)


def test_show_standby_of_the_guide_pair(lab: Lab) -> None:
    bring_up(lab, "CA-server-1", "10.1.32.83", GUIDE)
    bring_up(lab, "CA-server-2", "10.1.32.84", GUIDE)
    lab.run(asyncio.sleep(120))
    active = parse(lab, "CA-server-2", "show standby")
    standby = parse(lab, "CA-server-1", "show standby")
    assert len(active) == 1 and len(standby) == 1
    common = {
        "interface": "GigabitEthernet0/0",
        "group": "0",
        "version": "",
        "virtual_ip": "10.1.32.86",
        "secondary_ips": [],
        "active_virtual_mac": "0000.0c07.ac00",
        "local_virtual_mac": "0000.0c07.ac00",
        "hello_time": "3",
        "hold_time": "10",
        "authentication": "",
        "preemption": "disabled",
        "priority": "50",
        "group_name": "SB",
        "flags": "",
        **NO_TRACK,
    }
    last_change = active[0].pop("state_last_change")
    assert re.fullmatch(r"00:00:\d\d", str(last_change))
    assert active[0] == {
        **common,
        "state": "Active",
        "state_changes": "2",
        "active_router": "local",
        "active_router_priority": "",
        "active_router_mac": "",
        "standby_router": "10.1.32.83",
        "standby_router_priority": "50",
    }
    standby[0].pop("state_last_change")
    assert standby[0] == {
        **common,
        "state": "Standby",
        "state_changes": "1",
        "active_router": "10.1.32.84",
        "active_router_priority": "50",
        "active_router_mac": "",
        "standby_router": "local",
        "standby_router_priority": "",
    }


def test_show_standby_brief_of_the_guide_pair(lab: Lab) -> None:
    bring_up(lab, "CA-server-1", "10.1.32.83", GUIDE)
    bring_up(lab, "CA-server-2", "10.1.32.84", GUIDE)
    lab.run(asyncio.sleep(120))
    assert parse(lab, "CA-server-2", "show standby brief") == [
        {
            "interface": "Gi0/0",
            "group": "0",
            "priority": "50",
            "preempt": " ",
            "state": "Active",
            "active": "local",
            "standby": "10.1.32.83",
            "virtual_ip_address": "10.1.32.86",
        }
    ]
    assert parse(lab, "CA-server-1", "show standby brief") == [
        {
            "interface": "Gi0/0",
            "group": "0",
            "priority": "50",
            "preempt": " ",
            "state": "Standby",
            "active": "10.1.32.84",
            "standby": "local",
            "virtual_ip_address": "10.1.32.86",
        }
    ]


def test_every_optional_line_parses(lab: Lab) -> None:
    """Version 2, secondary addresses, msec timers, authentication, preempt delays, tracking,
    two groups, and a group without a virtual IP."""
    rich = [
        "standby version 2",
        "standby 5 ip 10.1.32.99",
        "standby 5 ip 10.1.32.98 secondary",
        "standby 5 timers msec 500 2",
        "standby 5 preempt delay minimum 5 reload 10",
        "standby 5 authentication text secret",
        "standby 5 track GigabitEthernet0/1 decrement 20",
        "standby 6 ip 10.1.32.97",
        "standby 6 priority 120",
        "standby 6 preempt",
        "standby 7 priority 90",
        "no shutdown",
    ]
    peer = [
        "standby version 2",
        "standby 5 ip 10.1.32.99",
        "standby 5 timers msec 500 2",
        "standby 5 authentication text secret",
        "standby 5 priority 110",
        "standby 6 ip 10.1.32.97",
        "no shutdown",
    ]
    bring_up(lab, "CA-server-1", "10.1.32.83", rich)
    bring_up(lab, "CA-server-2", "10.1.32.84", peer)
    lab.run(asyncio.sleep(60))
    groups = parse(lab, "CA-server-1", "show standby")
    assert [g["group"] for g in groups] == ["5", "6", "7"]
    five, six, seven = groups
    assert five["version"] == "2" and five["state"] == "Standby"
    assert five["secondary_ips"] == ["10.1.32.98"]
    assert (five["hello_time"], five["hold_time"]) == ("500", "2")
    assert five["authentication"] == "text" and five["preemption"] == "enabled"
    assert (five["active_router"], five["active_router_priority"]) == ("10.1.32.84", "110")
    assert five["active_router_mac"] == "0013.19ca.6450"
    assert five["active_virtual_mac"] == five["local_virtual_mac"] == "0000.0c9f.f005"
    assert five["priority"] == "80"  # 100 less 20: Gi0/1 is down
    assert (five["track_type"], five["track_item"]) == ("interface", "GigabitEthernet0/1")
    assert (five["track_state"], five["track_decrement_time"]) == ("Down", "20")
    assert five["group_name"] == "hsrp-Gi0/0-5"
    assert six["state"] == "Active" and six["priority"] == "120"
    assert six["standby_router"] == "10.1.32.84" and six["standby_router_priority"] == "100"
    assert seven["state"] == "Disabled" and seven["virtual_ip"] == "unknown"
    brief = parse(lab, "CA-server-1", "show standby brief")
    assert [(b["group"], b["preempt"], b["state"]) for b in brief] == [
        ("5", "P", "Standby"),
        ("6", "P", "Active"),
        ("7", " ", "Disabled"),
    ]
