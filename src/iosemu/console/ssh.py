"""SSH to a router's vty lines, on a host port per router (asyncssh does the protocol).

What a connection meets is what IOS gives: no RSA key for SSH (features/ssh.py), or no vty
line free that accepts ssh (``transport input``), and the connection is reset before a byte
is said; else the router's key is the host key, and the password is checked as the line's
login says (``login local``: the user's password or secret; ``login``: the line password,
whatever the user name; no login: anything). ``ip ssh time-out`` bounds the time to log in,
``ip ssh authentication-retries`` the failed passwords. A shell channel (with or without a
pty) runs the line's exec through the console's line discipline; an exec channel
(``ssh host "show version"``) runs that one command and closes. When the exec ends, so does
the connection.

Ciphers and MACs are the ones IOS offers that clients still accept (AES in CTR or CBC mode,
HMAC-SHA1/SHA2), so ``show ssh`` names what IOS would; key exchange and host key signatures
are asyncssh's current ones (15.1's ``diffie-hellman-group1-sha1`` and ``ssh-rsa`` signatures
are refused by today's clients). The version string is ``SSH-2.0-Cisco-1.25`` (SSH v1 is
not served).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import asyncssh
from cryptography.hazmat.primitives import serialization

from iosemu.console.ios import IosConsole
from iosemu.console.telnet_vty import refuse
from iosemu.device.router import Router
from iosemu.features.lines import Lines
from iosemu.features.pki.keys import KeyPair
from iosemu.features.ssh import Ssh, SshConnection
from iosemu.vty_line import Login, VtyLine, check_login

log = logging.getLogger("iosemu.ssh")

SERVER_VERSION = "Cisco-1.25"  # after asyncssh's "SSH-2.0-"
CIPHERS = ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc"]
MACS = ["hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"]
HANGUP_GRACE = 5.0  # lab seconds a client has to close the connection after its exec ended


class SshServer:
    """SSH connections to ``router``'s vty lines on one TCP port."""

    def __init__(self, router: Router, host: str, port: int) -> None:
        self.router = router
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._connections: set[_Connection] = set()
        self._host_key: tuple[KeyPair, asyncssh.SSHKey] | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(16)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._accepting = asyncio.get_running_loop().create_task(
            self._accept(), name=f"{self.router.name}:ssh"
        )

    async def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self._sock is not None:
            self._sock.close()
        for conn in list(self._connections):
            conn.abort()

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        while True:
            try:
                sock, peer = await loop.sock_accept(self._sock)
            except OSError:
                log.exception("%s: ssh accept failed", self.router.name)
                await asyncio.sleep(0.1)
                continue
            self._admit(sock, peer[0])

    def _key(self, pair: KeyPair) -> asyncssh.SSHKey:
        """The asyncssh form of the router's key (converted once per key)."""
        if self._host_key is None or self._host_key[0].key is not pair.key:
            pem = pair.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
            self._host_key = (pair, asyncssh.import_private_key(pem))
        return self._host_key[1]

    def _admit(self, sock: socket.socket, peer: str) -> None:
        router = self.router
        running = router.state == "running"
        ssh = router.feature(Ssh) if running else None
        pair = ssh.host_key() if ssh is not None else None
        number = router.feature(Lines).take_vty("ssh") if pair is not None else None
        if ssh is None or pair is None or number is None:
            refuse(sock)
            sock.close()
            return
        conn = _Connection(self, number, peer)
        self._connections.add(conn)
        conn.start(sock, self._key(pair), ssh)


class _Connection(asyncssh.SSHServer):
    """asyncssh's view of one connection: authentication against the vty's login."""

    def __init__(self, server: SshServer, number: int, peer: str) -> None:
        self.server = server
        self.router = server.router
        self.number = number
        self.peer = peer
        self.conn: asyncssh.SSHServerConnection | None = None
        self.login: Login | None = None
        self.failures = 0
        self.retries = 3
        self.vty: VtyLine | None = None
        self.record: SshConnection | None = None
        self._boot = self.router.boot_time
        self._task: asyncio.Task[Any] | None = None

    def start(self, sock: socket.socket, key: asyncssh.SSHKey, ssh: Ssh) -> None:
        self.retries = ssh.retries
        self._task = asyncio.ensure_future(self._run(sock, key, ssh.timeout))

    async def _run(self, sock: socket.socket, key: asyncssh.SSHKey, timeout: int) -> None:
        try:
            await asyncssh.run_server(
                sock,
                server_factory=lambda: self,
                server_host_keys=[key],
                login_timeout=timeout,
                line_editor=False,
                encoding=None,
                server_version=SERVER_VERSION,
                encryption_algs=CIPHERS,
                mac_algs=MACS,
                agent_forwarding=False,
                allow_scp=False,
            )
        except (TimeoutError, OSError, asyncssh.Error) as e:
            log.info("%s: ssh from %s: %s", self.router.name, self.peer, e)
            self._done()
            with contextlib.suppress(OSError):
                sock.close()

    def abort(self) -> None:
        if self.conn is not None:
            self.conn.abort()
        self._done()

    def _done(self) -> None:
        """The connection is over: free its line (once), forget it."""
        self.server._connections.discard(self)
        if self.vty is not None:
            self.vty.close()  # frees the line it holds
        elif self.number >= 0 and self.router.boot_time == self._boot:
            self.router.feature(Lines).free_vty(self.number)
        self.number = -1
        if self.record is not None and self.router.boot_time == self._boot:
            with contextlib.suppress(ValueError):
                self.router.feature(Ssh).connections.remove(self.record)
        self.record = None

    # --- asyncssh callbacks -------------------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self._done()

    def begin_auth(self, username: str) -> bool:
        line = self.router.feature(Lines).get("vty", self.number)
        if line.login == "":
            self.login = check_login(self.router, line, username, "")
            return False  # no login on the line: nothing to ask
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        if self.number < 0:
            return False
        line = self.router.feature(Lines).get("vty", self.number)
        self.login = check_login(self.router, line, username, password)
        if self.login is not None:
            return True
        self.failures += 1
        if self.failures >= max(self.retries, 1) and self.conn is not None:
            # IOS drops the connection after the last allowed try.
            asyncio.get_running_loop().call_soon(self.conn.close)
        return False

    def session_requested(self) -> asyncssh.SSHServerSession[bytes] | bool:
        if self.vty is not None or self.number < 0:
            return False  # one exec per connection, as a vty line has one
        return _Exec(self)


class _Exec(asyncssh.SSHServerSession[bytes]):
    """The session channel: a shell on the vty line, or one command."""

    def __init__(self, owner: _Connection) -> None:
        self.owner = owner
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.command: str | None = None
        self.console = IosConsole()
        self._task: asyncio.Task[Any] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        owner = self.owner
        router = owner.router
        chan = self.chan
        assert chan is not None
        login = owner.login or Login("", 1)
        vty = VtyLine(router, owner.number, owner.peer, self.console, self._hangup)
        owner.vty = vty
        self.console.attach(self._send)
        conn = owner.conn
        username = conn.get_extra_info("username", "") if conn is not None else ""
        cipher = conn.get_extra_info("recv_cipher", "") if conn is not None else ""
        mac = conn.get_extra_info("recv_mac", "") if conn is not None else ""
        owner.record = SshConnection(owner.number, cipher, mac, username or "")
        router.feature(Ssh).connections.append(owner.record)
        run = vty.run_shell(login) if self.command is None else vty.run_command(self.command, login)
        self._task = router.spawn(run, f"vty{owner.number}")

    def _send(self, data: bytes) -> None:
        if self.chan is not None and not self.chan.is_closing():
            self.chan.write(data)

    def _hangup(self) -> None:
        chan, conn = self.chan, self.owner.conn
        if chan is not None and not chan.is_closing():
            chan.exit(0)
        if conn is not None:
            # IOS ends the connection with the exec. Clients close it themselves once the
            # channel has closed (a disconnect now could overtake the exit status: OpenSSH
            # would report failure), so it is dropped only if one has not after a while.
            asyncio.get_running_loop().call_later(HANGUP_GRACE, conn.close)

    def data_received(self, data: bytes, datatype: Any) -> None:
        self.console.feed(data)

    def eof_received(self) -> bool:
        return True  # keep sending: the exec goes on until it ends

    def connection_lost(self, exc: Exception | None) -> None:
        if self._task is not None:
            self._task.cancel()
