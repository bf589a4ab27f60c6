"""A router's vty lines: each telnet or SSH connection to the router takes one.

The line is the first free one of ``line vty 0 4`` whose ``transport input`` accepts the
protocol (none free: the connection is refused). Its settings decide the login: ``login``
asks for the line password, ``login local`` for a user name and its password or secret
(``username``), no ``login`` lets anyone in. Telnet asks those questions on the line
itself; SSH has asked them in its own authentication before the line's exec starts
(``check_login``). The exec then runs as on the console, with the differences IOS has: log
messages appear only after ``terminal monitor``, ``%SYS-5-CONFIG_I`` names the line and
the client's address (``by admin on vty0 (127.0.0.1)``), ``show users`` lists the line, and
when the exec ends (``exit``, ``exec-timeout``, a reload) the connection is closed.

Bytes go through the same line discipline as the console's (console/ios.py), one
``IosConsole`` per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from iosemu.console.ios import IosConsole
from iosemu.device.router import Router
from iosemu.features.lines import Lines, LineSettings
from iosemu.features.users import Users
from iosemu.session import Session

log = logging.getLogger("iosemu.vty")

LOGIN_TIMEOUT = 30.0  # lab seconds IOS waits at Username:/Password: on a vty (timeout login)
LOGIN_TRIES = 3


@dataclass(frozen=True)
class Login:
    """Who passed a vty's login, and at which privilege level their exec starts."""

    user: str  # the user name of ``login local``; "" otherwise
    privilege: int


def _privilege(line: LineSettings, user_level: int | None = None) -> int:
    if user_level is not None:
        return user_level
    return line.privilege if line.privilege is not None else 1


def check_login(router: Router, line: LineSettings, username: str, password: str) -> Login | None:
    """The login a user name and password give on ``line``; None if they give none.

    With ``login`` the user name is not looked at (SSH still asks for one); without any
    ``login`` every answer is good.
    """
    if line.login == "local":
        user = router.feature(Users).check(username, password)
        return Login(user.name, _privilege(line, user.privilege)) if user else None
    if line.login == "login" and (line.password is None or password != line.password):
        return None
    return Login("", _privilege(line))


class VtyLine:
    """One connection on vty ``number`` of ``router``, from login to hang-up."""

    def __init__(
        self,
        router: Router,
        number: int,
        peer: str,
        terminal: IosConsole,
        hangup: Callable[[], None],
    ) -> None:
        self.router = router
        self.number = number
        self.peer = peer  # the client's address, as show users and CONFIG_I print it
        self.terminal = terminal
        self.hangup = hangup
        self.session: Session | None = None
        # The line belongs to this boot of the router: a reload ends the connection.
        self._boot = router.boot_time
        terminal.logging_synchronous = lambda: self.settings.logging_synchronous
        self._closed = False

    @property
    def settings(self) -> LineSettings:
        return self.router.feature(Lines).get("vty", self.number)

    @property
    def current(self) -> bool:
        """Whether the router still runs the boot this line was taken in."""
        return self.router.state == "running" and self.router.boot_time == self._boot

    # --- login (telnet) --------------------------------------------------------------

    async def _ask(self, prompt: str, echo: bool = True) -> str | None:
        try:
            async with asyncio.timeout(LOGIN_TIMEOUT):
                return await self.terminal.ask(prompt, echo=echo)
        except TimeoutError:
            self.terminal.output(f"% {prompt.strip()}  timeout expired!\n")
            return None

    async def login(self) -> Login | None:
        """The questions ``login``/``login local`` ask on the line; None: hang up."""
        line = self.settings
        if line.login == "":
            return Login("", _privilege(line))
        if line.login == "login" and line.password is None:
            self.terminal.output("\nPassword required, but none set\n")
            return None
        self.terminal.output("\n\nUser Access Verification\n\n")
        for _ in range(LOGIN_TRIES):
            username = ""
            if line.login == "local":
                answer = await self._ask("Username: ")
                if answer is None:
                    return None
                username = answer
            password = await self._ask("Password: ", echo=False)
            if password is None:
                return None
            found = check_login(self.router, self.settings, username, password)
            if found is not None:
                return found
            if line.login == "local":
                self.terminal.output("% Login invalid\n\n")
        if line.login == "login":
            self.terminal.output("% Bad passwords\n\n")
        return None

    # --- the exec --------------------------------------------------------------------

    def _open(self, login: Login) -> Session:
        where = f"vty{self.number} ({self.peer})"
        session = Session(
            self.router,
            self.terminal,
            line=f"vty {self.number}",
            source=f"{login.user} on {where}" if login.user else where,
            privilege=login.privilege,
            user=login.user,
        )
        self.session = session
        self.router.sessions.append(session)
        self.router.log.sinks.append(session)  # it shows what it wants: terminal monitor
        return session

    async def run_shell(self, login: Login | None = None) -> None:
        """The line's exec until it ends; ``login`` None asks the line's questions first."""
        try:
            asked = login is None and self.settings.login != ""
            if login is None:
                login = await self.login()
                if login is None:
                    return
            if not self.current:
                return
            session = self._open(login)
            if not asked:
                # After an SSH login (or none) IOS starts with a line end; after its own
                # Password: question the prompt follows the answer's line end directly.
                self.terminal.output("\n")
            while session.alive and self.current:
                line = self.settings.exec_timeout
                timeout = line[0] * 60 + line[1] or None
                try:
                    async with asyncio.timeout(timeout):
                        text = await self.terminal.read_command(session)
                except TimeoutError:
                    return
                await session.execute(text)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: vty%d failed", self.router.name, self.number)
        finally:
            self.close()

    async def run_command(self, command: str, login: Login) -> None:
        """One command and the end of the connection (``ssh host "show version"``)."""
        try:
            if not self.current:
                return
            session = self._open(login)
            session.settings.length = 0  # nobody is there to press space at --More--
            await session.execute(command)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: vty%d failed", self.router.name, self.number)
        finally:
            self.close()

    def close(self) -> None:
        """End the exec, free the line and hang up (once; safe from any path)."""
        if self._closed:
            return
        self._closed = True
        session, self.session = self.session, None
        if session is not None:
            session.alive = False
            with contextlib.suppress(ValueError):
                self.router.sessions.remove(session)
            with contextlib.suppress(ValueError):
                self.router.log.sinks.remove(session)
        if self.router.boot_time == self._boot:
            self.router.feature(Lines).free_vty(self.number)
        self.terminal.reset()
        with contextlib.suppress(Exception):
            self.hangup()
