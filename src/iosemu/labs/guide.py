"""The guide's sample configuration of the CA pair (steps 1-4), as startup-config text.

One source for the lab files, tests, benchmarks and scripts that start from a configured
pair, so that they all run the guide's configuration and differ only where they say so.
"""

from __future__ import annotations

ADDRESSES = {"CA-server-1": "10.1.32.83", "CA-server-2": "10.1.32.84"}
PEER = {"CA-server-1": "CA-server-2", "CA-server-2": "CA-server-1"}
VIP = "10.1.32.86"


def pair_config(
    name: str,
    *,
    timers: str | None = None,
    reload_delay: bool = False,
    hsrp: bool = True,
    redundancy: bool = True,
    http: bool = True,
) -> str:
    """Steps 1-4 for ``name`` (``CA-server-1`` or ``-2``), as IOS would save them.

    ``timers``: ``standby 0 timers`` arguments (``"1 3"``, ``"msec 100 msec 300"``), set
    before the group's address so that its first Listen and Speak phases use them;
    ``reload_delay``: the guide's ``standby delay minimum 30 reload 60``; ``hsrp``,
    ``redundancy``, ``http``: leave out step 2's HSRP group, step 4, or step 1.
    """
    local, remote = ADDRESSES[name], ADDRESSES[PEER[name]]
    lines = [f"hostname {name}"]
    if http:
        lines.append("ip http server")
    lines += ["interface GigabitEthernet0/0", f" ip address {local} 255.255.255.0"]
    if hsrp:
        if reload_delay:
            lines.append(" standby delay minimum 30 reload 60")
        if timers:
            lines.append(f" standby 0 timers {timers}")
        lines += [f" standby 0 ip {VIP}", " standby 0 priority 50", " standby 0 name SB"]
    lines += [
        " no shutdown",
        "ipc zone default",
        " association 1",
        "  no shutdown",
        "  protocol sctp",
        "   local-port 5000",
        f"    local-ip {local}",
        "   remote-port 5000",
        f"    remote-ip {remote}",
    ]
    if redundancy:
        lines += ["redundancy inter-device", " scheme standby SB"]
    return "\n".join(lines) + "\n"
