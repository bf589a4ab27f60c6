"""The guide's redundant pair as two ``iosemu node`` processes on the real clock.

Each router runs in its own process; the IPC association between them is a TCP stream of
the lab that crosses the TCP fabric. The pair is configured at the consoles, saved and
reloaded, forms ACTIVE / STANDBY HOT, and when the active's process is killed (``kill
-9``: no goodbye of any kind) the standby becomes RF ACTIVE with the HSRP takeover. Fast
HSRP timers and no reload delay keep it short; every wait is for a condition, with
generous deadlines, never for a fixed time.
"""

from __future__ import annotations

import re

from test_fabric_nodes import ADDRESSES, ROUTERS, WAIT, Console, Nodes, wait_for

PEER = {"CA-server-1": "CA-server-2", "CA-server-2": "CA-server-1"}


def config_lines(name: str) -> list[str]:
    """Steps 2-4 of the guide, with HSRP timers of 1/3 s and no reload delay."""
    local, remote = ADDRESSES[name], ADDRESSES[PEER[name]]
    return [
        "interface GigabitEthernet0/0",
        f"ip address {local} 255.255.255.0",
        "standby 0 ip 10.1.32.86",
        "standby 0 priority 50",
        "standby 0 name SB",
        "standby 0 timers 1 3",
        "no shutdown",
        "exit",
        "ipc zone default",
        "association 1",
        "no shutdown",
        "protocol sctp",
        "local-port 5000",
        f"local-ip {local}",
        "exit",
        "remote-port 5000",
        f"remote-ip {remote}",
        "exit",
        "exit",
        "exit",
        "exit",
        "redundancy inter-device",
        "scheme standby SB",
    ]


def states(console: Console) -> tuple[str, str, str]:
    """(my state, peer state, Mode) from ``show redundancy states``."""
    out = console.run("show redundancy states")
    my = re.search(r"my state = (\d+ +-[A-Z][A-Z -]*[A-Z])", out)
    peer = re.search(r"peer state = (\d+ +-[A-Z][A-Z -]*[A-Z])", out)
    mode = re.search(r"Mode = (\w+)", out)
    assert my and peer and mode, out
    return my.group(1), peer.group(1), mode.group(1)


def reload(console: Console) -> None:
    """``reload`` at the console; returns once the router answers at its prompt again."""
    console.child.send("reload\r")
    console.child.expect_exact("Proceed with reload? [confirm]", timeout=WAIT)
    console.child.send("\r")
    console.child.expect_exact("Press RETURN to get started!", timeout=WAIT)
    console.login()


def test_the_pair_forms_across_processes_and_survives_kill_of_the_active(nodes: Nodes) -> None:
    for name in ROUTERS:
        nodes.start(name)
    consoles = {name: nodes.console(name) for name in ROUTERS}
    for name, console in consoles.items():
        console.configure(*config_lines(name))
        assert "[OK]" in console.run("write memory")
    # The scheme takes effect at boot: reload both.
    for console in consoles.values():
        reload(console)

    hot = ("8  -STANDBY HOT", "13 -ACTIVE", "Duplex")
    roles: dict[str, str] = {}

    def paired() -> bool:
        seen = {name: states(console) for name, console in consoles.items()}
        for name, (my, peer, mode) in seen.items():
            if (my, peer, mode) == hot and seen[PEER[name]] == ("13 -ACTIVE", hot[0], "Duplex"):
                roles.update(standby=name, active=PEER[name])
                return True
        return False

    wait_for(paired, "ACTIVE / STANDBY HOT")
    active, standby = consoles[roles["active"]], consoles[roles["standby"]]
    assert "Groupname: SB Group State: Active" in active.run("show redundancy inter-device")
    # Pull the active's power: its process dies at once.
    active.close()
    nodes.kill(roles["active"])
    # HSRP (3 s hold) and the association's heartbeat (3.5 s) each notice in their time.
    alone = ("13 -ACTIVE", "1  -DISABLED", "Simplex")
    wait_for(lambda: states(standby) == alone, "the standby to become RF ACTIVE, alone")
    system = standby.run("show redundancy")
    assert "Switchovers system experienced = 1" in system
    assert "Last switchover reason = active unit failed" in system
    assert "Grp 0 state Standby -> Active" in standby.transcript.getvalue()
