"""SSH and telnet to a router's vty lines, on a real ``iosemu lab`` process.

Each connection takes a vty line: login as the line says (``login local``, ``login``, none),
``transport input`` enforced, logs only after ``terminal monitor``, ``%SYS-5-CONFIG_I``
naming the line, ``show users`` and ``show ssh`` listing it, and the connection closed
when the exec ends. SSH needs an RSA key, as on IOS. The SSH client is paramiko (what
netmiko uses), and OpenSSH's ``ssh`` for an exec channel where it is installed. The
settings and show commands themselves are checked in-process at the end (virtual clock).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pexpect
import pytest
from helpers import Cli
from labproc import (
    TIMEOUT,
    Console,
    VtyLab,
    configure,
    console_enabled,
)

from iosemu.api import Lab
from iosemu.console.ios import IosConsole
from iosemu.features.lines import Lines
from iosemu.features.ssh import Ssh
from iosemu.features.users import Users
from iosemu.vty_line import Login, VtyLine


def ssh(port: int, username: str = "admin", password: str = "admin") -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        port,
        username,
        password,
        look_for_keys=False,
        allow_agent=False,
        timeout=TIMEOUT,
    )
    return client


class Shell:
    """An interactive SSH shell (with a pty, as netmiko opens it), read in bytes."""

    def __init__(self, client: paramiko.SSHClient) -> None:
        self.client = client
        self.chan = client.invoke_shell(width=80, height=24)
        self.chan.settimeout(TIMEOUT)
        self.data = b""

    def until(self, marker: bytes) -> bytes:
        """Everything received up to and including ``marker`` (b"" waits for the close)."""
        while (marker not in self.data) if marker else True:
            chunk = self.chan.recv(65536)
            if not chunk:
                if marker:
                    raise AssertionError(f"closed before {marker!r}: {self.data!r}")
                break
            self.data += chunk
        if not marker:
            out, self.data = self.data, b""
            return out
        cut = self.data.index(marker) + len(marker)
        out, self.data = self.data[:cut], self.data[cut:]
        return out

    def cmd(self, line: str, prompt: bytes) -> bytes:
        self.chan.send((line + "\r").encode())
        return self.until(prompt)

    def close(self) -> None:
        self.client.close()


def refused(port: int) -> bool:
    """Whether a connection to ``port`` is reset or closed before the server says a byte."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            return sock.recv(100) == b""
    except (ConnectionResetError, ConnectionRefusedError):
        return True  # the reset may come before connect() has returned


class TelnetVty(Console):
    """Telnet to the router's vty lines (the console port's client, on the vty port)."""

    def closed(self) -> bytes:
        """What came before the router closed the connection."""
        self.child.expect(pexpect.EOF, timeout=TIMEOUT)
        before = self.child.before
        assert isinstance(before, bytes)
        return before


# --------------------------------------------------------------------------- SSH


def test_no_key_no_ssh_until_crypto_key_generate_rsa(vty_lab: VtyLab) -> None:
    node = vty_lab.take(keyed=False)
    assert refused(vty_lab.ssh_port(node))
    console = console_enabled(vty_lab, node)
    try:
        assert b"SSH Disabled - version 1.99" in console.cmd("show ip ssh", b"R#")
        console.cmd("configure terminal", b"R(config)#")
        console.cmd("crypto key generate rsa modulus 1024", b"R(config)#")
        console.until(b"%SSH-5-ENABLED: SSH 1.99 has been enabled\r\n")
        console.cmd("end", b"R#")
        client = ssh(vty_lab.ssh_port(node))
        client.close()
        # No key, no SSH again: the key is zeroized.
        console.cmd("configure terminal", b"R(config)#")
        console.cmd("crypto key zeroize rsa", b"[yes/no]: ")
        console.cmd("yes", b"R(config)#")
        console.until(b"%SSH-5-DISABLED: SSH 1.99 has been disabled\r\n")
        assert refused(vty_lab.ssh_port(node))
    finally:
        console.close()


def test_exec_channel_runs_one_command_at_the_users_level(vty_lab: VtyLab) -> None:
    port = vty_lab.ssh_port(vty_lab.take())
    for user, level in (("admin", 15), ("op", 1)):
        client = ssh(port, user, user)
        try:
            _, stdout, _ = client.exec_command("show privilege", timeout=TIMEOUT)
            assert stdout.read() == f"Current privilege level is {level}\r\n".encode()
            assert stdout.channel.recv_exit_status() == 0
        finally:
            client.close()
    client = ssh(port)
    try:
        _, stdout, _ = client.exec_command("show running-config", timeout=TIMEOUT)
        text = stdout.read()
        assert b"--More--" not in text  # nobody is there to page
        assert text.endswith(b"end\r\n\r\n") and b"username admin privilege 15" in text
    finally:
        client.close()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")
def test_openssh_runs_a_command(vty_lab: VtyLab, tmp_path: Path) -> None:
    askpass = tmp_path / "askpass"
    askpass.write_text("#!/bin/sh\necho admin\n")
    askpass.chmod(0o700)
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force"}
    args = ["ssh", "-p", str(vty_lab.ssh_port(vty_lab.take())), "-o", "BatchMode=no"]
    args += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    done = subprocess.run(
        [*args, "admin@127.0.0.1", "show version"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
        start_new_session=True,  # no terminal: ssh asks SSH_ASKPASS
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"Cisco IOS Software, 3800 Software")
    assert done.stdout.rstrip().endswith(b"Configuration register is 0x2102")


def test_shell_show_users_show_ssh_and_exit(vty_lab: VtyLab) -> None:
    shell = Shell(ssh(vty_lab.ssh_port(vty_lab.take())))
    try:
        assert shell.until(b"R#") == b"\r\nR#"
        users = shell.cmd("show users", b"\r\nR#").decode()
        assert "\r\n*  2 vty 0     admin      idle                 00:00:00 127.0.0.1\r\n" in users
        lines = shell.cmd("show ssh", b"\r\nR#").decode().splitlines()
        assert lines[1] == (
            "Connection Version Mode Encryption  Hmac         State                 Username"
        )
        assert lines[2].split()[:3] == ["0", "2.0", "IN"]
        assert lines[2].endswith("Session started       admin")
        assert lines[4] == "%No SSHv1 server connections running."
        assert shell.cmd("exit", b"") == b"exit\r\n"  # and the connection closes
        assert shell.chan.recv_exit_status() == 0
    finally:
        shell.close()


def test_logs_only_after_terminal_monitor_and_config_i_names_the_vty(vty_lab: VtyLab) -> None:
    node = vty_lab.take()
    console = console_enabled(vty_lab, node)
    shell = Shell(ssh(vty_lab.ssh_port(node)))
    try:
        shell.until(b"R#")
        shell.cmd("configure terminal", b"R(config)#")
        shell.cmd("end", b"R#")
        console.until(b"%SYS-5-CONFIG_I: Configured from console by admin on vty0 (127.0.0.1)")
        shell.cmd("terminal monitor", b"R#")
        assert b"%SYS" not in shell.data
        shell.cmd("configure terminal", b"R(config)#")
        shell.cmd("end", b"R#")
        # No logging synchronous: the message comes after the prompt, as on IOS.
        shell.until(b"%SYS-5-CONFIG_I: Configured from console by admin on vty0 (127.0.0.1)\r\n")
    finally:
        shell.close()
        console.close()


def test_passwords_users_and_retries(vty_lab: VtyLab) -> None:
    port = vty_lab.ssh_port(vty_lab.take())
    for user, password in (("admin", "nimda"), ("nobody", "admin"), ("op", "admin")):
        with pytest.raises(paramiko.AuthenticationException):
            ssh(port, user, password)
    # Three wrong passwords on one connection and the router hangs up (ip ssh
    # authentication-retries 3): the fourth gets no answer.
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.start_client(timeout=TIMEOUT)
        for _ in range(2):
            with pytest.raises(paramiko.AuthenticationException):
                transport.auth_password("admin", "wrong")
        # The third failure and the hang-up race to the client: either error will do.
        with pytest.raises(paramiko.SSHException):
            transport.auth_password("admin", "wrong")
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            transport.auth_password("admin", "admin")
    finally:
        transport.close()


def test_line_password_login_takes_any_user_name(vty_lab: VtyLab) -> None:
    node = vty_lab.take()
    console = console_enabled(vty_lab, node)
    try:
        configure(console, ["line vty 0 4", "login", "password vtypass"])
    finally:
        console.close()
    with pytest.raises(paramiko.AuthenticationException):
        ssh(vty_lab.ssh_port(node), "admin", "admin")  # the user's password is no good now
    shell = Shell(ssh(vty_lab.ssh_port(node), "whoever", "vtypass"))
    try:
        assert shell.until(b"R>") == b"\r\nR>"
        assert shell.cmd("enable", b"Password: ") == b"enable\r\nPassword: "
        assert shell.cmd("cisco", b"R#") == b"\r\nR#"  # not echoed
    finally:
        shell.close()


def test_transport_input_decides_who_gets_a_line(vty_lab: VtyLab) -> None:
    node = vty_lab.take()
    ssh_port, telnet_port = vty_lab.ssh_port(node), vty_lab.telnet_port(node)
    console = console_enabled(vty_lab, node)
    try:
        configure(console, ["line vty 0 4", "transport input telnet"])
        assert refused(ssh_port)
        TelnetVty(telnet_port).close()
        configure(console, ["line vty 0 4", "transport input ssh"])
        assert refused(telnet_port)
        ssh(ssh_port).close()
        configure(console, ["line vty 0 2", "transport input none"])
        # vty 3 and 4 still take SSH: the first free line that accepts it.
        shell = Shell(ssh(ssh_port))
        try:
            shell.until(b"R#")
            assert b"*  5 vty 3     admin" in shell.cmd("show users", b"\r\nR#")
        finally:
            shell.close()
        configure(console, ["line vty 3 4", "transport input none"])
        assert refused(ssh_port) and refused(telnet_port)
    finally:
        console.close()


# --------------------------------------------------------------------------- telnet


def test_telnet_login_local_dialog(vty_lab: VtyLab) -> None:
    vty = TelnetVty(vty_lab.telnet_port(vty_lab.take(keyed=False)))
    try:
        head = b"\r\n\r\nUser Access Verification\r\n\r\nUsername: "
        assert vty.until(b"Username: ") == head
        assert vty.cmd("op", b"Password: ") == b"op\r\nPassword: "
        assert vty.cmd("wrong", b"Username: ") == b"\r\n% Login invalid\r\n\r\nUsername: "
        vty.cmd("op", b"Password: ")
        assert vty.cmd("op", b"R>") == b"\r\nR>"
        assert b"\r\n*  2 vty 0     op " in vty.cmd("show users", b"\r\nR>")
        assert vty.cmd("exit", b"exit\r\n") == b"exit\r\n"
        assert vty.closed() == b""
    finally:
        vty.close()


def test_telnet_without_a_line_password_and_three_bad_ones(vty_lab: VtyLab) -> None:
    node = vty_lab.take(keyed=False)
    console = console_enabled(vty_lab, node)
    try:
        configure(console, ["line vty 0 4", "login", "no password"])
        vty = TelnetVty(vty_lab.telnet_port(node))
        assert vty.closed() == b"\r\nPassword required, but none set\r\n"
        vty.close()
        configure(console, ["line vty 0 4", "password vtypass"])
        vty = TelnetVty(vty_lab.telnet_port(node))
        vty.until(b"Password: ")
        for _ in range(2):
            assert vty.cmd("bad", b"Password: ") == b"\r\nPassword: "
        vty.send("bad\r")
        assert vty.closed() == b"\r\n% Bad passwords\r\n\r\n"
        vty.close()
    finally:
        console.close()


def test_exec_timeout_and_the_last_free_line(vty_lab: VtyLab) -> None:
    node = vty_lab.take(keyed=False)
    port = vty_lab.telnet_port(node)
    console = console_enabled(vty_lab, node)
    try:
        configure(console, ["line vty 0 4", "exec-timeout 0 1"])  # a lab second
        # Five lines: five connections waiting at Username: hold them all.
        waiting = [TelnetVty(port) for _ in range(5)]
        for vty in waiting:
            vty.until(b"Username: ")
        assert refused(port)
        for vty in waiting[1:]:
            vty.close()
        vty = waiting[0]
        vty.cmd("admin", b"Password: ")
        vty.cmd("admin", b"R#")
        started = time.monotonic()
        assert vty.closed() == b""  # idle for the exec-timeout: hung up, nothing said
        assert time.monotonic() - started >= 0.9 / vty_lab.speed
        vty.close()
    finally:
        console.close()


# --------------------------------------------------------------------------- in-process


def test_show_ip_ssh_and_the_configuration(config: Cli, lab: Lab) -> None:
    assert config("ip ssh version 2") == (
        "Please create RSA keys to enable SSH (and of atleast 768 bits for SSH v2).\n"
    )
    assert (
        config.run_all(
            [
                "ip ssh time-out 60",
                "ip ssh authentication-retries 2",
                "username admin privilege 15 secret 5 $1$mERr$vTbHul1N28cEp8lkLqr0f/",
                "username op password 0 op",
                "username op privilege 3",
            ]
        )
        == ""
    )
    disabled = config("do show ip ssh")
    assert disabled == (
        "SSH Disabled - version 2.0\n"
        "%Please create RSA keys to enable SSH (and of atleast 768 bits for SSH v2).\n"
        "Authentication timeout: 60 secs; Authentication retries: 2\n"
        "Minimum expected Diffie Hellman key size : 1024 bits\n"
        "IOS Keys in SECSH format(ssh-rsa, base64 encoded): NONE\n"
    )
    config("ip domain name lab")
    config("crypto key generate rsa modulus 1024")
    enabled = config("do show ip ssh").splitlines()
    assert enabled[0] == "SSH Enabled - version 2.0"
    assert enabled[3] == "IOS Keys in SECSH format(ssh-rsa, base64 encoded):"
    assert enabled[4].startswith("ssh-rsa AAAAB3NzaC1yc2E") and len(enabled[4]) == 80
    body = config.body()
    users = body.index("username admin privilege 15 secret 5 $1$mERr$vTbHul1N28cEp8lkLqr0f/")
    assert body[users : users + 4] == [
        "username admin privilege 15 secret 5 $1$mERr$vTbHul1N28cEp8lkLqr0f/",
        "username op privilege 3 password 0 op",
        "!",
        "redundancy",
    ]
    ip_ssh = body.index("ip ssh time-out 60")
    assert body[ip_ssh : ip_ssh + 5] == [
        "ip ssh time-out 60",
        "ip ssh authentication-retries 2",
        "ip ssh version 2",
        "!",
        "!",
    ]
    assert body[ip_ssh + 5] == "interface GigabitEthernet0/0"
    users_db = lab.router("CA-server-1").feature(Users)
    assert users_db.check("admin", "admin") is not None and users_db.check("op", "op")
    config("no username op")
    assert "username op" not in "\n".join(config.body())
    assert config("username x secret 5 nothash") == (
        "ERROR: The secret you entered is not a valid encrypted secret.\n"
    )


def test_ssh_is_enabled_at_boot_from_saved_keys_and_disabled_by_a_new_name(
    config: Cli, lab: Lab
) -> None:
    router = lab.router("CA-server-1")
    config.run_all(["ip domain name lab", "crypto key generate rsa modulus 1024"])
    assert "[OK]" in config("do write memory")
    router.reload("reload")
    lab.run(asyncio.sleep(5))
    assert any("%SSH-5-ENABLED: SSH 1.99 has been enabled" in line for line in router.log.buffer)
    cli = Cli(lab).configure()
    cli("hostname Other")
    assert router.log.buffer[-1].endswith("%SSH-5-DISABLED: SSH 1.99 has been disabled")
    assert router.feature(Ssh).host_key() is None
    cli("ip ssh rsa keypair-name CA-server-1.lab")  # the old key by its name
    assert router.feature(Ssh).host_key() is not None


def test_vty_lines_in_process(lab: Lab) -> None:
    """A vty session without sockets: the line's rules, on the virtual clock."""
    router = lab.router("CA-server-1")
    lines = router.feature(Lines)
    assert [lines.take_vty("telnet") for _ in range(6)] == [0, 1, 2, 3, 4, None]
    for n in range(5):
        lines.free_vty(n)
    cli = Cli(lab).configure()
    cli.run_all(["line vty 0", "transport input ssh", "line vty 1 4", "transport input telnet"])
    assert (lines.take_vty("telnet"), lines.take_vty("ssh")) == (1, 0)
    terminal, out = IosConsole(), bytearray()
    terminal.attach(out.extend)
    hung_up: list[bool] = []
    vty = VtyLine(router, 1, "10.1.32.90", terminal, lambda: hung_up.append(True))
    task = router.spawn(vty.run_shell(Login("admin", 15)))
    lab.run(asyncio.sleep(0))
    terminal.feed(b"show users\r")
    lab.run(asyncio.sleep(0.1))
    assert "*  3 vty 1     admin      idle" in out.decode()
    assert "  3 vty 1     admin" in Cli(lab)("show users")
    terminal.feed(b"exit\r")
    lab.run(asyncio.sleep(0.1))
    assert task.done() and hung_up == [True] and 1 not in lines.busy
