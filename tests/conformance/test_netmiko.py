"""netmiko, unchanged, on a router's telnet console.

``cisco_ios_telnet`` with empty credentials is how netmiko talks to a console with no
login: ``telnet_login`` finds no ``Username``/``Password`` prompt (a console at ``Press
RETURN to get started`` says nothing), sends Return and takes the ``R>`` prompt. Session
preparation then sends ``terminal width 511`` and ``terminal length 0`` and checks each
command's echo (``cmd_verify``). Nothing here tunes netmiko: no patterns, no delay factors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labproc import LabProcess
from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

# netmiko's own use of importlib.resources for ntc-templates, not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def conn(client_lab: LabProcess) -> Iterator[BaseConnection]:
    connection = ConnectHandler(
        device_type="cisco_ios_telnet",
        host="127.0.0.1",
        port=client_lab.port(client_lab.take()),
        username="",
        password="",
        secret="",
    )
    yield connection
    connection.disconnect()


@pytest.fixture(autouse=True)
def privileged(conn: BaseConnection) -> None:
    """Each test starts at ``R#``, whatever ran before it on this worker (xdist spreads a
    module's tests over workers, so no test may count on another's)."""
    conn.enable()


def test_find_prompt_enable_and_disable(conn: BaseConnection) -> None:
    conn.exit_enable_mode()
    assert conn.find_prompt() == "R>"
    assert not conn.check_enable_mode()
    conn.enable()
    assert conn.check_enable_mode()
    assert conn.find_prompt() == "R#"
    assert conn.base_prompt == "R"


def test_show_version(conn: BaseConnection) -> None:
    out = conn.send_command("show version")
    assert "Cisco IOS Software" in out  # what netmiko's SSHDetect looks for
    assert out.rstrip().endswith("Configuration register is 0x2102")
    assert "--More--" not in out  # session preparation turned paging off


def test_show_ip_interface_brief(conn: BaseConnection) -> None:
    out = conn.send_command("show ip interface brief")
    assert out.splitlines()[0].split() == [
        "Interface",
        "IP-Address",
        "OK?",
        "Method",
        "Status",
        "Protocol",
    ]
    parsed = conn.send_command("show ip interface brief", use_textfsm=True)
    assert isinstance(parsed, list)
    names = [row["interface"] for row in parsed]
    assert names[:2] == ["GigabitEthernet0/0", "GigabitEthernet0/1"]


def test_send_config_set(conn: BaseConnection) -> None:
    out = conn.send_config_set(
        [
            "interface GigabitEthernet0/1",
            "description set by netmiko",
            "ip address 192.0.2.1 255.255.255.0",
            "no shutdown",
            "hostname R",
        ]
    )
    assert "R(config-if)#description set by netmiko" in out
    assert "%" not in out
    assert not conn.check_config_mode()
    run = conn.send_command("show running-config interface GigabitEthernet0/1")
    assert " description set by netmiko" in run
    assert " ip address 192.0.2.1 255.255.255.0" in run


def test_config_mode_round_trip(conn: BaseConnection) -> None:
    conn.config_mode()
    assert conn.check_config_mode()
    assert conn.find_prompt() == "R(config)#"
    conn.exit_config_mode()
    assert not conn.check_config_mode()
    assert conn.find_prompt() == "R#"


def test_save_config(conn: BaseConnection) -> None:
    conn.send_config_set(["interface GigabitEthernet0/1", "description saved by netmiko"])
    out = conn.save_config()
    assert "Building configuration..." in out and "[OK]" in out
    startup = conn.send_command("show startup-config")
    assert "description saved by netmiko" in startup


def test_errors_are_ios_errors(conn: BaseConnection) -> None:
    """The strings scrapli's FAILED_WHEN_CONTAINS and Ansible's stderr patterns look for."""
    assert "% Invalid input detected at '^' marker." in conn.send_command("show versoin")
    assert conn.send_command("terminal").strip() == "% Incomplete command."
    assert conn.send_command("c").strip() == '% Ambiguous command:  "c"'


def test_hostname_change_then_set_base_prompt(conn: BaseConnection) -> None:
    """A new hostname is a new prompt: netmiko's documented answer is set_base_prompt()."""
    try:
        conn.send_config_set(["hostname NETMIKO-1"])
        conn.set_base_prompt()
        assert conn.find_prompt() == "NETMIKO-1#"
        assert "Cisco IOS Software" in conn.send_command("show version")
    finally:
        conn.send_config_set(["hostname R"])
        conn.set_base_prompt()
    assert conn.find_prompt() == "R#"
