"""netmiko, unchanged, over SSH (``cisco_ios``); test_netmiko.py has ``cisco_ios_telnet``.

The routers have an RSA key, ``username op password op`` (privilege 1, ``enable secret
cisco``) and ``admin`` at privilege 15, and ``login local`` on their vty lines
(labproc.VTY_CONFIG). netmiko logs in with the user's password, escalates with the secret
and prepares the session as on any IOS router; nothing here tunes it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labproc import VtyLab
from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

pytestmark = pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")

# The show commands of the guide, as its reader types them, and the others netmiko users run.
SHOW_COMMANDS = [
    "sh crypto pki server PKI-HA",
    "sh redundancy state",
    "sh int gigabitEthernet 0/0",
    "sh crypto pki certificates",
    "sh crypto key mypubkey rsa",
    "show standby",
    "show standby brief",
    "show redundancy",
    "show version",
    "show clock",
    "show ip interface brief",
    "show running-config",
    "show users",
    "show ip ssh",
    "show ssh",
]


@pytest.fixture(scope="module")
def conn(vty_lab: VtyLab) -> Iterator[BaseConnection]:
    connection = ConnectHandler(
        device_type="cisco_ios",
        host="127.0.0.1",
        port=vty_lab.ssh_port(vty_lab.take()),
        username="op",
        password="op",
        secret="cisco",
    )
    yield connection
    connection.disconnect()


def test_login_at_level_1_then_enable_with_the_secret(conn: BaseConnection) -> None:
    conn.exit_enable_mode()
    assert conn.find_prompt() == "R>"
    assert not conn.check_enable_mode()
    conn.enable()
    assert conn.find_prompt() == "R#"
    assert conn.send_command("show privilege") == "Current privilege level is 15"


def test_every_show_command_of_the_guide(conn: BaseConnection) -> None:
    conn.enable()
    for command in SHOW_COMMANDS:
        out = conn.send_command(command)
        assert "% Invalid" not in out and "% Incomplete" not in out, (command, out)
        assert "--More--" not in out
    assert "Cisco IOS Software" in conn.send_command("show version")
    parsed = conn.send_command("show ip interface brief", use_textfsm=True)
    assert isinstance(parsed, list)
    assert [row["interface"] for row in parsed] == ["GigabitEthernet0/0", "GigabitEthernet0/1"]
    users = conn.send_command("show users", use_textfsm=True)
    assert isinstance(users, list)
    me = [row for row in users if row["line"].startswith("*")]
    assert len(me) == 1 and me[0]["user"] == "op" and me[0]["location"] == "127.0.0.1"


def test_send_config_set_and_save_config(conn: BaseConnection) -> None:
    conn.enable()
    out = conn.send_config_set(
        ["interface GigabitEthernet0/1", "description set over ssh", "ip ssh time-out 60"]
    )
    assert "R(config-if)#description set over ssh" in out and "%" not in out
    assert not conn.check_config_mode()
    assert "Authentication timeout: 60 secs" in conn.send_command("show ip ssh")
    saved = conn.save_config()
    assert "Building configuration..." in saved and "[OK]" in saved
    startup = conn.send_command("show startup-config")
    assert " description set over ssh" in startup and "ip ssh time-out 60" in startup


def test_a_privilege_15_user_starts_enabled(vty_lab: VtyLab) -> None:
    connection = ConnectHandler(
        device_type="cisco_ios",
        host="127.0.0.1",
        port=vty_lab.ssh_port(vty_lab.take()),
        username="admin",
        password="admin",
    )
    try:
        assert connection.find_prompt() == "R#"
        assert connection.check_enable_mode()
    finally:
        connection.disconnect()
