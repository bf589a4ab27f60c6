"""scrapli's ``IOSXEDriver``, unchanged, over telnet and SSH.

scrapli finds the privilege level from the prompt (its ``PRIVS`` patterns), logs in on
``Username:``/``Password:`` (telnet) or with SSH's own authentication, escalates with
``enable`` and ``auth_secondary``, and fails a command whose output has one of IOS's error
strings (``failed_when_contains``). The transports: ``telnet`` (scrapli's own), ``system``
(the OpenSSH binary in a pty, where installed), ``paramiko`` and ``asyncssh`` (async
driver). The routers are labproc.VTY_CONFIG's: user ``op``/``op`` at level 1, enable
secret ``cisco``.

scrapli is pinned below its 2.0 rewrite (2026.10), which dropped ``IOSXEDriver``.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from labproc import VtyLab

scrapli = pytest.importorskip("scrapli.driver.core")

GUIDE = ["sh crypto pki server PKI-HA", "sh redundancy state", "sh int gigabitEthernet 0/0"]


def options(port: int, transport: str, **more: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "auth_username": "op",
        "auth_password": "op",
        "auth_secondary": "cisco",
        "auth_strict_key": False,
        "transport": transport,
        "timeout_socket": 15,
        "timeout_transport": 30,
        "timeout_ops": 30,
        **more,
    }


def exercise(conn: Any) -> None:
    """What every transport must do: open at privilege_exec, show, configure, escalate."""
    # on_open escalated to privilege_exec (the default level) and turned paging off.
    assert conn.get_prompt() == "R#"
    version = conn.send_command("show version")
    assert not version.failed and version.result.startswith("Cisco IOS Software")
    assert "--More--" not in conn.send_command("show running-config").result
    many = conn.send_commands(GUIDE)
    assert not many.failed
    assert conn.send_command("show versoin").failed  # % Invalid input detected
    configs = conn.send_configs(["interface GigabitEthernet0/1", "description set by scrapli"])
    assert not configs.failed
    assert conn.get_prompt() == "R(config-if)#"  # scrapli leaves configuration mode later
    run = conn.send_command("show running-config interface GigabitEthernet0/1").result
    assert " description set by scrapli" in run
    assert conn.get_prompt() == "R#"
    conn.acquire_priv("exec")  # disable
    assert conn.get_prompt() == "R>"
    conn.acquire_priv("privilege_exec")  # enable, Password:, auth_secondary
    assert conn.get_prompt() == "R#"


def test_telnet_to_the_vty_lines(vty_lab: VtyLab) -> None:
    port = vty_lab.telnet_port(vty_lab.take())
    with scrapli.IOSXEDriver(**options(port, "telnet")) as conn:
        exercise(conn)


def test_telnet_to_the_console(vty_lab: VtyLab) -> None:
    """The console asks nothing (no login on ``line con 0``): ``auth_bypass``. The console
    was left by someone else's telnet (give_keys ends its lines with CR): scrapli's first
    LF is an Enter of its own, not the rest of their CR LF."""
    port = vty_lab.port(vty_lab.take())
    with scrapli.IOSXEDriver(**options(port, "telnet", auth_bypass=True)) as conn:
        assert conn.get_prompt() in ("R>", "R#")
        assert " UTC " in conn.send_command("show clock").result


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client for 'system'")
def test_ssh_with_the_system_transport(vty_lab: VtyLab) -> None:
    port = vty_lab.ssh_port(vty_lab.take())
    with scrapli.IOSXEDriver(**options(port, "system")) as conn:
        exercise(conn)


def test_ssh_with_the_paramiko_transport(vty_lab: VtyLab) -> None:
    pytest.importorskip("paramiko")
    port = vty_lab.ssh_port(vty_lab.take())
    with scrapli.IOSXEDriver(**options(port, "paramiko")) as conn:
        exercise(conn)


def test_ssh_with_the_asyncssh_transport(vty_lab: VtyLab) -> None:
    port = vty_lab.ssh_port(vty_lab.take())

    async def run() -> None:
        async with scrapli.AsyncIOSXEDriver(**options(port, "asyncssh")) as conn:
            assert await conn.get_prompt() == "R#"
            result = await conn.send_command("sh redundancy state")
            assert not result.failed and "my state = 13 -ACTIVE" in result.result
            configs = await conn.send_configs(["ip ssh time-out 90"])
            assert not configs.failed
            shown = await conn.send_command("show ip ssh")
            assert "Authentication timeout: 90 secs" in shown.result

    asyncio.run(run())
