"""Configure the guide's CA pair (steps 1-4) with netmiko over the lab's telnet consoles.

Start the blank pair, then run this script against its two consoles::

    iosemu lab examples/labs/pki-ha-blank.yml --no-attach --fresh --speed 40
    python examples/netmiko_configure_pair.py --ports 2001 2002

First ``logging synchronous`` on the console line (syslog then waits for command output
instead of landing in it). Then each step of the guide goes to both routers with
``send_config_set``, as the guide types it. After step 2 the script checks what the guide
checks (the interface is up, the peer answers a ping). The redundancy scheme of step 4
takes effect at the next reload, so both routers save (``write memory``) and reload;
the script then waits until one says ACTIVE and the other STANDBY HOT in ``show
redundancy states``, and checks ``show standby brief`` agrees. The pair takes about two
minutes of lab time to form after the reload (HSRP's ``standby delay ... reload 60``,
then an election); with ``iosemu lab --speed 40`` that is a few seconds.

Exit status 0 when the pair formed, 1 (with the reason) when it did not.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

VIP = "10.1.32.86"
ADDRESSES = {
    "CA-server-1": ("10.1.32.83", "10.1.32.84"),
    "CA-server-2": ("10.1.32.84", "10.1.32.83"),
}


def steps(name: str) -> list[list[str]]:
    """The guide's steps 1-4 for router ``name``, one list of configuration lines each."""
    local, remote = ADDRESSES[name]
    return [
        ["ip http server"],
        [
            "interface GigabitEthernet0/0",
            f"ip address {local} 255.255.255.0",
            "duplex auto",
            "speed auto",
            "media-type rj45",
            "standby delay minimum 30 reload 60",
            f"standby 0 ip {VIP}",
            "standby 0 priority 50",
            "standby 0 name SB",
            # Not in the guide's listing, but an IOS interface starts shut down.
            "no shutdown",
        ],
        [
            "ipc zone default",
            "association 1",
            "no shutdown",
            "protocol sctp",
            "local-port 5000",
            f"local-ip {local}",
            "remote-port 5000",
            f"remote-ip {remote}",
        ],
        ["redundancy inter-device", "scheme standby SB"],
    ]


# Syslog messages (HSRP and RF state changes) reach the console whenever they happen, in
# the middle of an echoed command too, as on IOS: netmiko's check of a show command's echo
# could then time out. Reading up to the prompt is enough. (Configuration keeps the check:
# without it send_config_set waits for two quiet seconds, and `logging synchronous`
# reprints a line a message broke into.)
VERIFY = False


class Failed(Exception):
    """The pair did not end up as the guide says; the message says how."""


def connect(host: str, port: int) -> BaseConnection:
    # A console has no login: netmiko's telnet login sends Return and takes the prompt.
    conn = ConnectHandler(
        device_type="cisco_ios_telnet", host=host, port=port, username="", password="", secret=""
    )
    conn.enable()
    return conn


def configure(conn: BaseConnection, lines: list[str]) -> None:
    out = conn.send_config_set(lines)
    errors = [line for line in out.splitlines() if line.startswith("%")]
    if errors:
        raise Failed(f"{conn.base_prompt}: {errors[0]}")


def wait_for(conn: BaseConnection, command: str, pattern: str, timeout: float) -> str:
    """Run ``command`` until its output matches ``pattern``; the last output."""
    deadline = time.monotonic() + timeout
    while True:
        out = conn.send_command(command, cmd_verify=VERIFY)
        if re.search(pattern, out):
            return out
        if time.monotonic() > deadline:
            raise Failed(f"{conn.base_prompt}: no {pattern!r} in {command!r} after {timeout} s")
        time.sleep(0.5)


def check_step2(conns: dict[str, BaseConnection], timeout: float) -> None:
    """The guide's checks after step 2: both interfaces up, the peer answers a ping."""
    for conn in conns.values():
        wait_for(
            conn,
            "show interfaces GigabitEthernet0/0",
            r"GigabitEthernet0/0 is up, line protocol is up",
            timeout,
        )
    one = conns["CA-server-1"]
    # The first echo may go unanswered while ARP resolves (80 percent, as in the guide).
    out = one.send_command(
        f"ping {ADDRESSES['CA-server-2'][0]}", read_timeout=60, cmd_verify=VERIFY
    )
    if not re.search(r"Success rate is [1-9]\d* percent", out):
        raise Failed(f"CA-server-1 cannot ping CA-server-2:\n{out}")


def reload_pair(conns: dict[str, BaseConnection], timeout: float) -> None:
    """``write memory`` and ``reload`` both routers, and take their consoles back to ``#``.

    A console's telnet session outlives the reload (it is the router's serial line): the
    boot text comes through it, up to ``Press RETURN to get started``.
    """
    for name, conn in conns.items():
        if "[OK]" not in conn.save_config():
            raise Failed(f"{name}: write memory failed")
        conn.send_command("reload", expect_string=r"\[confirm\]", cmd_verify=VERIFY)
        conn.write_channel(conn.RETURN)  # Proceed with reload? [confirm]
    for conn in conns.values():
        conn.read_until_pattern(r"Press RETURN to get started", read_timeout=timeout)
        conn.write_channel(conn.RETURN)
        # The new exec has IOS's defaults again (24-line pages): netmiko's preparation
        # turns paging off and finds the prompt, as after a login.
        conn.session_preparation()
        conn.enable()


def check_pair(conns: dict[str, BaseConnection], timeout: float) -> tuple[str, str]:
    """Wait for ACTIVE / STANDBY HOT; returns (active, standby) and checks HSRP agrees."""
    deadline = time.monotonic() + timeout
    while True:
        states = {
            name: conn.send_command("show redundancy states", cmd_verify=VERIFY)
            for name, conn in conns.items()
        }
        hot = [n for n, out in states.items() if re.search(r"my state = 8\s+-STANDBY HOT", out)]
        if hot:
            break
        if time.monotonic() > deadline:
            shown = "\n".join(f"{name}:\n{out}" for name, out in states.items())
            raise Failed(f"no router reached STANDBY HOT after {timeout} s\n{shown}")
        time.sleep(0.5)
    standby = hot[0]
    active = next(n for n in conns if n != standby)
    if not re.search(r"my state = 13\s*-ACTIVE", states[active]):
        raise Failed(f"{active} is not ACTIVE:\n{states[active]}")
    for name, role in ((active, "Active"), (standby, "Standby")):
        brief = conns[name].send_command("show standby brief", cmd_verify=VERIFY)
        # Gi0/0  0  50  Active  local  10.1.32.84  10.1.32.86 (columns of show standby brief)
        if not re.search(rf"Gi0/0\s+0\s+50\s+{role}\s+.*{re.escape(VIP)}", brief):
            raise Failed(f"{name} is not HSRP {role} of {VIP}:\n{brief}")
        print(f"{name}# show standby brief\n{brief}\n")
        print(f"{name}# show redundancy states\n{states[name]}\n")
    return active, standby


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="where the lab runs")
    parser.add_argument(
        "--ports",
        nargs=2,
        type=int,
        default=[2001, 2002],
        metavar=("PORT1", "PORT2"),
        help="console ports of CA-server-1 and CA-server-2 (default 2001 2002)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="real seconds to wait for the pair"
    )
    args = parser.parse_args(argv)
    conns: dict[str, BaseConnection] = {}
    try:
        # netmiko's console login waits seconds for a Username prompt a console never
        # shows: log in to both at once.
        with ThreadPoolExecutor() as pool:
            logins = pool.map(lambda port: connect(args.host, port), args.ports)
            conns.update(zip(ADDRESSES, logins, strict=True))
        for conn in conns.values():
            # Syslog waits until a command's output is done and reprints the line being
            # typed (IOS's answer for scripts on a console; saved with the rest).
            configure(conn, ["line con 0", "logging synchronous"])
        for step in range(4):
            for name, conn in conns.items():
                print(f"{name}: step {step + 1}")
                configure(conn, steps(name)[step])
            if step == 1:
                check_step2(conns, args.timeout)
        # The scheme takes effect at the next reload (the guide: "reload one or both
        # routers after specifying the preceding redundancy configurations").
        reload_pair(conns, args.timeout)
        active, standby = check_pair(conns, args.timeout)
    except Failed as e:
        print(f"netmiko_configure_pair: {e}", file=sys.stderr)
        return 1
    finally:
        for conn in conns.values():
            conn.disconnect()
    print(f"The pair is up: {active} ACTIVE, {standby} STANDBY HOT, virtual IP {VIP}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
