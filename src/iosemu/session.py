"""A session: one terminal attached to a router's line, with its mode stack and settings.

The session turns typed lines into commands (through the matcher), runs their handlers
with a ``Ctx``, prints IOS's errors, and knows IOS's mode rules: ``do``, walk-up to a parent
mode, ``exit``/``end``/Ctrl-Z, ``%SYS-5-CONFIG_I`` on leaving configuration mode. How the
characters get here (telnet, a transcript, prompt_toolkit) is the terminal's business.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from iosemu.device.router import Feature, Router
from iosemu.output_filter import OutputFilter, ios_regex
from iosemu.parser.grammar import (
    CONFIG,
    EXEC,
    REGISTRY,
    Command,
    Grammar,
    Mode,
    command,
    compile_mode,
)
from iosemu.parser.help import HelpList, complete, format_help, help_for
from iosemu.parser.match import Failed, Matched, match, split_words

log = logging.getLogger("iosemu.session")

F = TypeVar("F", bound=Feature)

CONFIG_BANNER = "Enter configuration commands, one per line.  End with CNTL/Z."


class CommandError(Exception):
    """A user error: the message is printed as IOS prints it, nothing else happens."""


class SessionEnded(Exception):
    """The session's exec ended (logout, reload)."""


class Terminal(Protocol):
    """What a session needs from whatever is attached to it."""

    def output(self, text: str) -> None:
        """Show command output (``\\n`` line ends)."""

    async def drain(self) -> None:
        """Wait until output written so far has been shown (``--More--`` may hold it)."""

    async def ask(self, prompt: str, echo: bool = True) -> str:
        """Show ``prompt`` and read one line (for dialogs)."""

    async def ask_key(self, prompt: str) -> str:
        """Show ``prompt`` and read one key (``[confirm]``)."""

    def show_log(self, text: str) -> None:
        """Show an asynchronous message (syslog, debug)."""


# --------------------------------------------------------------------------- grammars

_GRAMMARS: dict[tuple[Mode, int], Grammar] = {}
_COMPILED_FOR = 0


def grammar(mode: Mode, priv: int = 15) -> Grammar:
    """The compiled graph of ``mode`` (commands registered later invalidate the cache)."""
    global _COMPILED_FOR
    if len(REGISTRY) != _COMPILED_FOR:
        _GRAMMARS.clear()
        _COMPILED_FOR = len(REGISTRY)
    level = 15 if priv >= 15 else 1
    key = (mode, level)
    if key not in _GRAMMARS:
        exec_root = grammar(EXEC, 15).root if mode.is_config else None
        _GRAMMARS[key] = compile_mode(mode, level, exec_root=exec_root)
    return _GRAMMARS[key]


# Commands of configuration modes that do not change the configuration (exit, end).
NO_CONFIG_CHANGE: set[Command] = set()

# Handlers for a word that is no command at all, by mode (EXEC: the implicit telnet).
FALLBACKS: dict[Mode, Callable[..., Any]] = {}


def fallback(mode: Mode) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        FALLBACKS[mode] = fn
        return fn

    return register


# Handlers for lines typed in raw modes (certificate hex), by mode.
RAW_HANDLERS: dict[Mode, Callable[..., Any]] = {}

# Called after each configuration command that ran, for state derived from several features
# (the SSH server is on when some key has some name: features/ssh.py).
AFTER_CONFIG_COMMAND: list[Callable[[Router], None]] = []


def config_mode(name: str, prompt: str, parent: Mode = CONFIG, *, raw: bool = False) -> Mode:
    """Create a configuration sub-mode with its ``exit`` and ``end`` commands."""
    mode = Mode(name, prompt, parent=parent, raw=raw)
    if not raw:
        _mode_exits(mode)
    return mode


def _mode_exits(mode: Mode) -> None:
    @command(
        mode, "exit", help="Exit from configure mode" if mode is CONFIG else "Exit from this mode"
    )
    def exit_mode(ctx: Ctx) -> None:
        ctx.session.exit_mode()

    @command(mode, "end", help="Exit from configure mode")
    def end_mode(ctx: Ctx) -> None:
        ctx.session.end_config()

    for cmd in REGISTRY[-2:]:
        NO_CONFIG_CHANGE.add(cmd)


# --------------------------------------------------------------------------- context


@dataclass
class Frame:
    mode: Mode
    context: Any = None


@dataclass
class Ctx:
    """What a command handler gets: the session, the router, the parsed form."""

    session: Session
    keywords: tuple[str, ...] = ()
    negate: bool = False
    default: bool = False
    frame: Frame | None = None
    _filter: OutputFilter | None = None

    @property
    def router(self) -> Router:
        return self.session.router

    @property
    def context(self) -> Any:
        assert self.frame is not None
        return self.frame.context

    def feature(self, cls: type[F]) -> F:
        return self.session.router.feature(cls)

    def has(self, keyword: str) -> bool:
        return keyword in self.keywords

    def write(self, text: str) -> None:
        if self._filter is not None:
            text = self._filter.feed(text)
        if text:
            self.session.terminal.output(text)

    def print(self, *lines: str) -> None:
        for line in lines:
            self.write(line + "\n")

    def error(self, text: str) -> None:
        """Print an error message (not subject to output filters)."""
        self.session.terminal.output(text + "\n")

    async def ask(self, prompt: str, echo: bool = True) -> str:
        await self.session.terminal.drain()
        return await self.session.terminal.ask(prompt, echo)

    async def confirm(self, prompt: str) -> bool:
        """``... [confirm]``: Return or ``y`` goes ahead, anything else aborts."""
        await self.session.terminal.drain()
        key = await self.session.terminal.ask_key(prompt)
        return key in ("", "\r", "\n", "y", "Y")

    async def yes_no(self, prompt: str, default: bool | None = None) -> bool | None:
        """``[yes/no]: ``: asks until answered; None if the answer was empty."""
        while True:
            answer = (await self.ask(prompt)).strip().lower()
            if not answer and default is not None:
                return default
            if answer and "yes".startswith(answer):
                return True
            if answer and "no".startswith(answer):
                return False
            if not answer:
                return None
            self.session.terminal.output("% Please answer 'yes' or 'no'.\n")

    def enter(self, mode: Mode, context: Any = None) -> None:
        self.session.enter(mode, context)


# --------------------------------------------------------------------------- session


@dataclass
class TerminalSettings:
    length: int = 24
    width: int = 80
    monitor: bool = False
    history_size: int = 10


@dataclass
class Session:
    router: Router
    terminal: Terminal
    line: str = "con 0"  # the IOS line this session occupies
    source: str = "console"  # for %SYS-5-CONFIG_I: console, or vty0 (10.0.0.1)
    user: str = ""  # who logged in (login local), for show users
    privilege: int = 1
    settings: TerminalSettings = field(default_factory=TerminalSettings)
    frames: list[Frame] = field(default_factory=lambda: [Frame(EXEC)])
    exec_history: list[str] = field(default_factory=list)
    config_history: list[str] = field(default_factory=list)
    alive: bool = True
    busy: bool = False  # a command is running
    # Set while the router loads its startup-config: no CONFIG_I, no banner.
    booting: bool = False

    # --- modes and prompt ----------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self.frames[-1].mode

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def prompt(self) -> str:
        mode = self.mode
        if mode is EXEC:
            return self.router.hostname + ("#" if self.privilege >= 15 else ">")
        return f"{self.router.hostname}{mode.prompt}#"

    def enter(self, mode: Mode, context: Any = None) -> None:
        self.frames.append(Frame(mode, context))

    def exit_mode(self) -> None:
        if len(self.frames) <= 1:
            raise SessionEnded("exit")
        self.frames.pop()
        if self.mode is EXEC:
            self._config_done()

    def end_config(self) -> None:
        if self.mode is EXEC:
            return
        del self.frames[1:]
        self._config_done()

    def _config_done(self) -> None:
        if not self.booting:
            self.router.log.log("SYS", 5, "CONFIG_I", f"Configured from console by {self.source}")

    def wants_log(self, severity: int, is_debug: bool) -> bool:
        logger = self.router.log
        if self.line.startswith("con"):
            return logger.console_level is not None and severity <= logger.console_level
        return self.settings.monitor and (
            logger.monitor_level is not None and severity <= logger.monitor_level
        )

    def show_log(self, text: str) -> None:
        if self.alive:
            self.terminal.show_log(text)

    # --- help and completion ---------------------------------------------------------

    def _grammar_for(self, mode: Mode) -> Grammar:
        return grammar(mode, self.privilege if mode is EXEC else 15)

    def help_lines(self, text: str) -> list[str]:
        """What ``?`` after ``text`` prints (before the line is redisplayed)."""
        if self.mode.raw:
            return []
        result = help_for(self._grammar_for(self.mode).root, text)
        if isinstance(result, HelpList):
            return format_help(result, self.settings.width or 80)
        return self._help_error(text, result)

    def _help_error(self, text: str, failed: Failed) -> list[str]:
        if failed.reason == "ambiguous":
            return [f'% Ambiguous command:  "{text.strip()}"']
        if failed.word_index == 0:
            return ["% Unrecognized command"]
        return [
            " " * (len(self.prompt()) + failed.column) + "^",
            "% Invalid input detected at '^' marker.",
            "",
        ]

    def complete(self, text: str) -> str | None:
        if self.mode.raw:
            return None
        return complete(self._grammar_for(self.mode).root, text)

    # --- running commands --------------------------------------------------------------

    def _record_history(self, text: str) -> None:
        history = self.exec_history if self.mode is EXEC else self.config_history
        history.append(text)
        del history[: -max(self.settings.history_size, 1)]

    async def execute(self, text: str) -> None:
        """Run one typed line."""
        line = text.rstrip("\r\n")
        if line == "\x1a":  # Ctrl-Z: the terminal already echoed ^Z
            self.end_config()
            return
        if not line.strip():
            return
        self._record_history(line.strip())
        self.busy = True
        try:
            await self._execute(line)
        except SessionEnded:
            self.alive = False
        finally:
            self.busy = False
        await self.terminal.drain()

    async def _execute(self, line: str) -> None:
        mode = self.mode
        if mode.raw:
            await self._call(RAW_HANDLERS[mode], Ctx(self, frame=self.frame), line)
            return
        if line.lstrip().startswith("!"):
            return
        result = match(self._grammar_for(mode).root, line)
        if isinstance(result, Failed) and mode.is_config and mode is not CONFIG:
            # Walk-up: a command of an enclosing mode leaves the sub-mode and runs there.
            for depth, ancestor in enumerate(mode.ancestors(), start=1):
                up = match(self._grammar_for(ancestor).root, line)
                if isinstance(up, Matched):
                    del self.frames[-depth:]
                    result = up
                    break
                # As on IOS, the error shown is the one from the mode that got furthest.
                if (up.word_index, up.column) > (result.word_index, result.column):
                    result = up
                if ancestor is CONFIG:
                    break
        if isinstance(result, Failed):
            await self._report(line, result)
            return
        await self._run(result, line)

    async def _report(self, line: str, failed: Failed) -> None:
        words = split_words(line)
        # ``do WORD`` in a config mode fails as WORD alone would in EXEC.
        via_do = self.mode.is_config and len(words) == 2 and words[0].text.lower() == "do"
        mode, first = (EXEC, 1) if via_do else (self.mode, 0)
        if (
            failed.reason == "invalid"
            and failed.word_index == first
            and len(words) == first + 1
            and mode in FALLBACKS
        ):
            ctx = Ctx(self, frame=Frame(EXEC) if via_do else self.frame)
            await self._call(FALLBACKS[mode], ctx, words[first].text)
            return
        self.terminal.output(self.error_text(line, failed))

    def error_text(self, line: str, failed: Failed) -> str:
        if failed.reason == "ambiguous":
            return f'% Ambiguous command:  "{line.strip()}"\n'
        if failed.reason == "incomplete":
            words = line.split()
            if self.mode is EXEC and len(words) == 1 and "show".startswith(words[0].lower()):
                return '% Type "show ?" for a list of subcommands\n'
            return "% Incomplete command.\n\n"
        caret = " " * (len(self.prompt()) + failed.column) + "^"
        return f"{caret}\n% Invalid input detected at '^' marker.\n\n"

    async def _run(self, m: Matched, line: str) -> None:
        cmd = m.ref.command
        frame = self.frame
        if m.via_do:
            frame = Frame(EXEC)
        ctx = Ctx(self, m.keywords, m.ref.negate, m.ref.default, frame)
        if m.filter is not None:
            regex = ios_regex(m.filter[1])
            if regex is None:
                self.terminal.output("% Invalid regular expression\n")  # invented text
                return
            ctx._filter = OutputFilter(m.filter[0], regex)
        done = await self._call(cmd.handler, ctx, **m.args)
        if ctx._filter is not None:
            rest = ctx._filter.finish()
            if rest:
                self.terminal.output(rest)
        changes_config = cmd.mode.is_config and not m.via_do and cmd not in NO_CONFIG_CHANGE
        if done and changes_config and not self.booting:
            self.router.mark_config_changed(self.source)
            for watcher in AFTER_CONFIG_COMMAND:
                try:
                    watcher(self.router)
                except Exception:
                    log.exception("%s: after %r", self.router.name, ctx.keywords)

    async def _call(self, handler: Callable[..., Any], ctx: Ctx, *args: Any, **kwargs: Any) -> bool:
        """Run a handler; False if it refused (its error is printed), so nothing changed."""
        try:
            result = handler(ctx, *args, **kwargs)
            if inspect.isawaitable(result):
                await result
        except CommandError as e:
            if str(e):
                self.terminal.output(str(e) + "\n")
            return False
        except (SessionEnded, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("%s: command failed: %r", self.router.name, ctx.keywords)
            self.terminal.output("% Internal error while running the command; see the lab log\n")
            return False
        return True


async def maybe_await(value: Awaitable[Any] | Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


_mode_exits(CONFIG)
