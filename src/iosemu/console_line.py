"""The console line of a router (``line con 0``): what it shows from power-on to logout.

The console exists whether or not anyone is looking: it shows the boot text, waits for
Return, asks for the line password when ``login`` is set, runs an exec session until it
ends (``exit``, ``exec-timeout``, reload) and starts over. Log messages go to the console
line itself, not to the exec, so they appear even at ``Press RETURN to get started``.

How characters reach the console is a ``LineTerminal``: the byte-exact telnet console, a
transcript replay, or the rich local console.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

from iosemu.device.router import Router
from iosemu.session import Session, Terminal

if TYPE_CHECKING:
    from iosemu.features.lines import LineSettings
    from iosemu.vty_line import Login

log = logging.getLogger("iosemu.console")


class LineTerminal(Terminal, Protocol):
    """A terminal that can also read command lines and wait for Return."""

    async def read_command(self, session: Session) -> str:
        """Show the session's prompt and read an edited command line (``?`` and Tab too)."""

    async def wait_return(self, text: str) -> None:
        """Show ``text`` and wait for the Return key."""

    def reset(self) -> None:
        """Forget typed-ahead input and any paused output (the router is rebooting)."""


class ConsoleLine:
    def __init__(self, router: Router, terminal: LineTerminal) -> None:
        self.router = router
        self.terminal = terminal
        self.session: Session | None = None
        self._task: asyncio.Task[None] | None = None
        router.log.sinks.append(self)
        router.console = self

    # --- log sink ------------------------------------------------------------------

    def wants_log(self, severity: int, is_debug: bool) -> bool:
        level = self.router.log.console_level
        return level is not None and severity <= level

    def show_log(self, text: str) -> None:
        self.terminal.show_log(text)

    # --- life cycle ----------------------------------------------------------------

    def write(self, text: str) -> None:
        """Text straight to the console (boot messages)."""
        self.terminal.output(text)

    def start(self, greeting: str = "Press RETURN to get started!") -> None:
        self.stop()
        self._task = self.router.loop.create_task(
            self._run(greeting), name=f"{self.router.name}:con0"
        )

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._end_session()
        self.terminal.reset()

    def _end_session(self) -> None:
        if self.session is not None:
            self.session.alive = False
            sessions = self.router.sessions
            if self.session in sessions:
                sessions.remove(self.session)
            self.session = None

    def _line(self) -> LineSettings:
        from iosemu.features.lines import Lines  # features sit below; imported late for clarity

        return self.router.feature(Lines).get("con", 0)

    def _settings(self) -> tuple[str, str | None, float | None, bool]:
        line = self._line()
        minutes, seconds = line.exec_timeout
        timeout = minutes * 60 + seconds or None
        return line.login, line.password, timeout, line.logging_synchronous

    async def _run(self, greeting: str) -> None:
        try:
            while True:
                await self.terminal.wait_return(f"\n\n{greeting}\n\n")
                greeting = "Press RETURN to get started."
                await self._exec()
                if self.router.state != "running":
                    return  # reloading: the boot text comes next, not "con0 is now available"
                self.terminal.output(f"\n{self.router.hostname} con0 is now available\n\n\n\n\n")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: console failed", self.router.name)

    async def _login(self, how: str, password: str | None) -> Login | None:
        """The questions ``login`` (the line password) or ``login local`` (a user name and
        its password or secret) ask; None when they were not answered right."""
        from iosemu.vty_line import check_login

        if how == "login" and password is None:
            self.terminal.output("\nPassword required, but none set\n")
            return None
        self.terminal.output("\n\nUser Access Verification\n\n")
        line = self._line()
        for _ in range(3):
            username = await self.terminal.ask("Username: ") if how == "local" else ""
            attempt = await self.terminal.ask("Password: ", echo=False)
            found = check_login(self.router, line, username, attempt)
            if found is not None:
                return found
            if how == "local":
                self.terminal.output("% Login invalid\n\n")
        if how == "login":
            self.terminal.output("% Bad passwords\n\n")
        return None

    async def _exec(self) -> None:
        login, password, timeout, _ = self._settings()
        session = Session(self.router, self.terminal, line="con 0", source="console")
        if login:
            found = await self._login(login, password)
            if found is None:
                return
            if login == "local":  # the user's own level, as on a vty
                session.user, session.privilege = found.user, found.privilege
        self.session = session
        sessions = self.router.sessions
        if sessions is not None:
            sessions.append(session)
        try:
            while session.alive:
                _, _, timeout, _ = self._settings()
                try:
                    # asyncio.timeout, unlike wait_for, reads in this task: the prompt is
                    # printed before anything queued (a log message) gets to run.
                    async with asyncio.timeout(timeout):
                        text = await self.terminal.read_command(session)
                except TimeoutError:
                    self.terminal.output("\n")
                    return
                await session.execute(text)
        finally:
            with contextlib.suppress(Exception):
                self._end_session()

    @property
    def logging_synchronous(self) -> bool:
        return self._settings()[3]
