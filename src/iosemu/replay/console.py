"""A logical console for transcripts and scripts: the lab as a reader of a capture sees it.

The byte console (console/ios.py) is for automation clients and must be exact to the
byte: echo, ``\\r\\n``, ``--More--``. A transcript wants the *picture* instead: one line per
typed command (``prompt + text``), output as printed, no paging, and log messages where a
real capture shows them. ``TranscriptTerminal`` is that ``LineTerminal``; every router of
the lab gets one, all drawing on one shared ``Screen`` so a block that talks to several
routers reads in the order things happened.

``Driver`` types into those terminals and runs the lab's (virtual) clock until the router
answers: the transcript runner is built on it, and scripts and tests can use it directly::

    driver = Driver.open("pki-ha")
    async def main() -> None:
        await driver.start()
        print(await driver.run("CA-server-1", "show clock"))
    driver.lab.run(main())
    driver.close()
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from iosemu.lab.clock import settle
from iosemu.lab.faults import Fault
from iosemu.replay.transcript import reveal_secrets

if TYPE_CHECKING:
    from iosemu.api import Lab
    from iosemu.device.router import Router
    from iosemu.session import Session

CTRL_C = "\x03"
CTRL_Z = "\x1a"

# Lab seconds a router may take to come back to a prompt, and an until-directive to match.
PROMPT_TIMEOUT = 600.0
# Lab seconds between two looks at the wall clock while the lab runs.
WALL_CHECK_STEP = 1.0


class ReplayTimeout(Exception):
    """The lab did not get where it was told to go (in lab time or in wall time)."""


class LabError(Exception):
    """Something inside the lab failed (a handler, a timer, a task): carries the tracebacks."""


@dataclass(frozen=True)
class Waiting:
    """What a terminal is waiting for: a command line, a dialog answer, a key, or Return."""

    kind: Literal["command", "ask", "ask_key", "return"]
    prompt: str
    echo: bool = True


# --------------------------------------------------------------------------- the screen


@dataclass
class _Watch:
    needle: str
    routers: frozenset[str] | None
    future: asyncio.Future[None]


class Screen:
    """The rendering all transcript terminals of a lab draw on, as complete lines.

    Each router keeps its own unfinished line, so two routers printing at once do not mix
    inside a line. Lines that render typed input remember the transcript line they came
    from (``sources``), so ``--update`` can put the writer's lines back exactly.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sources: dict[int, str] = {}
        self.clears = 0  # how often ``lines`` started over: line indices older than that lie
        self._partial: dict[str, str] = {}
        self._watches: list[_Watch] = []

    def clear(self) -> None:
        self.lines.clear()
        self.sources.clear()
        self.clears += 1

    def at_line_start(self, who: str) -> bool:
        return not self._partial.get(who)

    def write(self, who: str, text: str) -> None:
        """Text as printed by ``who`` (may end inside a line)."""
        text = text.replace("\r\n", "\n").replace("\r", "")
        if not text:
            return
        *complete, rest = (self._partial.get(who, "") + text).split("\n")
        self.lines.extend(complete)
        self._partial[who] = rest
        self._seen(who, [*complete, rest])

    def put_line(self, who: str, text: str, source: str | None = None) -> None:
        """A whole line (a typed command) after whatever ``who`` left unfinished."""
        self.lines.append(self._partial.pop(who, "") + text)
        if source is not None:
            self.sources[len(self.lines) - 1] = source
        self._seen(who, [text])

    def finish_lines(self) -> None:
        """End every unfinished line (at the end of a block)."""
        for who in list(self._partial):
            if self._partial[who]:
                self.lines.append(self._partial[who])
            self._partial[who] = ""

    def discard(self) -> None:
        self.clear()
        self._partial.clear()

    # --- watching for text ([... until "TEXT" ...]) ---------------------------------

    def watch(self, needle: str, routers: Iterable[str] | None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watches.append(_Watch(needle, frozenset(routers) if routers else None, future))
        return future

    def seen_log(self, who: str, text: str) -> None:
        """A message shown on ``who``'s console, even if it is not drawn yet (pending)."""
        self._seen(who, text.split("\n"))

    def _seen(self, who: str, lines: list[str]) -> None:
        if not self._watches:
            return
        for watch in list(self._watches):
            if watch.future.done():
                self._watches.remove(watch)
            elif (watch.routers is None or who in watch.routers) and any(
                watch.needle in line for line in lines
            ):
                watch.future.set_result(None)
                self._watches.remove(watch)


# --------------------------------------------------------------------------- terminal


class TranscriptTerminal:
    """A ``LineTerminal`` that draws a router's console on a ``Screen``, line by line.

    It never echoes and never pages. While the router sits at a prompt or in a dialog,
    log messages (and any other unprompted text) are kept pending and drawn as the bare
    prompt followed by the messages just before the next input, as in a real capture;
    while a command runs they are drawn where they arrive.
    """

    def __init__(self, who: str, screen: Screen) -> None:
        self.who = who
        self.screen = screen
        self.state: Waiting | None = None
        self.typed = ""  # text typed at the prompt before a "?" (shown again after help)
        self.pending: list[str] = []
        self.session: Session | None = None
        # The last command prompt shown: a powered-off router is known by it (see Driver).
        self.last_prompt = ""
        self._future: asyncio.Future[str] | None = None
        self._ready: list[asyncio.Future[None]] = []
        self._greeting_at: tuple[int, int | None] = (-1, None)

    @classmethod
    def factory(cls, screen: Screen) -> Callable[[Router], TranscriptTerminal]:
        """A ``terminal_factory`` for ``Lab``: one terminal per router, all on ``screen``."""
        return lambda router: cls(router.name, screen)

    # --- what the driver sees --------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Waiting for input, and nothing typed ahead."""
        return self.state is not None and self._future is not None and not self._future.done()

    def when_ready(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.ready:
            future.set_result(None)
        else:
            self._ready = [f for f in self._ready if not f.done()]
            self._ready.append(future)
        return future

    def shown_prompt(self) -> str:
        """What the line shows while it waits (prompt plus text kept after ``?``)."""
        if self.state is None:
            return ""
        if self.state.kind == "command":
            return self.state.prompt + self.typed
        return self.state.prompt

    def flush(self) -> None:
        """Draw pending messages: the bare prompt, then the messages."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        prompt = self.shown_prompt().rstrip()
        if prompt:
            self.screen.put_line(self.who, prompt)
        elif not self.screen.at_line_start(self.who):
            self.screen.write(self.who, "\n")
        for text in pending:
            self.screen.write(self.who, text)
        if not self.screen.at_line_start(self.who):
            self.screen.write(self.who, "\n")

    # --- typing (the driver calls these while ready) ---------------------------------

    def enter(self, text: str, source: str | None = None) -> bool:
        """Type ``text`` (``{{hidden}}`` allowed) and Return; False if nothing was drawn."""
        state = self._expect_ready()
        self.flush()
        typed = reveal_secrets(text)
        if state.kind == "command":
            self.screen.put_line(self.who, state.prompt + self.typed + typed, source)
            self._answer(self.typed + typed)
            return True
        if state.kind == "ask":
            self.screen.put_line(self.who, state.prompt + (typed if state.echo else ""), source)
            self._answer(typed)
            return True
        if state.kind == "ask_key":
            self.screen.put_line(self.who, state.prompt, source)
            self._answer(typed[:1])
            return True
        self._answer("")  # Return at "Press RETURN": the greeting is already on screen
        return False

    def help(self, text: str, source: str | None = None) -> None:
        """Type ``text`` then ``?``: the help, an empty line, and the text kept for more."""
        state = self._expect_ready()
        if state.kind != "command" or self.session is None:
            self.enter(text + "?", source)
            return
        self.flush()
        self.screen.put_line(self.who, state.prompt + self.typed + text + "?", source)
        self.typed += text
        for line in self.session.help_lines(self.typed):
            self.screen.write(self.who, line + "\n")
        self.screen.write(self.who, "\n")

    def key(self, key: str, source: str | None = None) -> bool:
        """Ctrl-C or Ctrl-Z (drawn ``^C``/``^Z`` as IOS echoes them); False if nothing drawn."""
        state = self._expect_ready()
        shown = "^C" if key == CTRL_C else "^Z"
        if state.kind == "command":
            in_exec = self.session is None or self.session.mode.name == "exec"
            if key == CTRL_Z and in_exec:
                return False  # IOS ignores Ctrl-Z in EXEC
            self.flush()
            self.screen.put_line(self.who, state.prompt + self.typed + shown, source)
            if in_exec:  # Ctrl-C: a fresh prompt
                self.typed = ""
                return True
            self._answer(CTRL_Z)
            return True
        if state.kind == "return":
            return False
        self.flush()
        self.screen.put_line(self.who, state.prompt, source)
        self._answer("" if state.kind == "ask" else key)
        return True

    def _expect_ready(self) -> Waiting:
        if not self.ready or self.state is None:
            raise RuntimeError(f"{self.who} is not waiting for input")
        return self.state

    def _answer(self, value: str) -> None:
        assert self._future is not None
        self._future.set_result(value)
        self.state = None  # busy from now on, even before the reader wakes up
        self.typed = ""

    # --- LineTerminal ------------------------------------------------------------------

    def output(self, text: str) -> None:
        if self.state is not None and self.state.kind != "return" and self.ready:
            self.pending.append(text)  # unprompted text at an idle prompt
            self.screen.seen_log(self.who, text)
            return
        self.screen.write(self.who, text)

    async def drain(self) -> None:
        return None

    def show_log(self, text: str) -> None:
        message = text if text.endswith("\n") else text + "\n"
        if self.state is not None and self.state.kind != "return" and self.ready:
            self.pending.append(message)
            self.screen.seen_log(self.who, message)
            return
        if not self.screen.at_line_start(self.who):
            self.screen.write(self.who, "\n")
        self.screen.write(self.who, message)

    async def ask(self, prompt: str, echo: bool = True) -> str:
        return await self._wait(Waiting("ask", prompt, echo))

    async def ask_key(self, prompt: str) -> str:
        return await self._wait(Waiting("ask_key", prompt, False))

    async def read_command(self, session: Session) -> str:
        self.session = session
        self.typed = ""
        self.last_prompt = session.prompt()
        return await self._wait(Waiting("command", self.last_prompt))

    async def wait_return(self, text: str) -> None:
        self.screen.write(self.who, text)
        greeting = next((line for line in reversed(text.split("\n")) if line.strip()), "")
        lines = self.screen.lines
        at = next((k for k in range(len(lines) - 1, -1, -1) if lines[k] == greeting), None)
        self._greeting_at = (self.screen.clears, at)
        await self._wait(Waiting("return", greeting.strip(), False))

    def greeting_line(self) -> int | None:
        """The screen line of the greeting this terminal waits at (None if not on screen)."""
        clears, at = self._greeting_at
        return at if clears == self.screen.clears else None

    def reset(self) -> None:
        self.flush()
        self.typed = ""
        self.state = None

    async def _wait(self, state: Waiting) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._future = future
        self.state = state
        ready, self._ready = self._ready, []
        for waiter in ready:
            if not waiter.done():
                waiter.set_result(None)
        try:
            return await future
        finally:
            if self._future is future:
                if not future.done() or future.cancelled():
                    self.flush()  # the wait ended without input (exec-timeout, reload)
                self._future = None
                self.state = None


# --------------------------------------------------------------------------- driver


class _ErrorTrap(logging.Handler):
    """Collects errors the lab logs (handler and task failures) with their tracebacks."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        self.errors.append(text)


def transcript_lab(name_or_path: str | None = None, **kwargs: Any) -> Lab:
    """A fresh lab on the virtual clock whose consoles are transcript terminals."""
    from iosemu.api import Lab
    from iosemu.lab.topology import find_lab

    kwargs.setdefault("clock", "virtual")
    return Lab(
        find_lab(name_or_path), terminal_factory=TranscriptTerminal.factory(Screen()), **kwargs
    )


class Driver:
    """Types into a lab's transcript terminals and runs the lab until routers answer.

    Every wait is bounded twice: in lab time (``prompt_timeout``, so a router that never
    comes back fails instead of running the virtual clock forever) and, if ``deadline`` is
    set, in wall time (``time.monotonic()``), checked every ``WALL_CHECK_STEP`` lab seconds.
    Errors the lab logs are collected in ``errors`` and end any wait early.
    """

    def __init__(
        self, lab: Lab, *, prompt_timeout: float = PROMPT_TIMEOUT, deadline: float | None = None
    ) -> None:
        self.lab = lab
        self.loop = lab.loop
        self.prompt_timeout = prompt_timeout
        self.deadline = deadline
        self.terminals: dict[str, TranscriptTerminal] = {}
        for name, console in lab.consoles.items():
            if not isinstance(console.terminal, TranscriptTerminal):
                raise TypeError("build the lab with transcript_lab() or Driver.open()")
            self.terminals[name] = console.terminal
        screens = {id(t.screen) for t in self.terminals.values()}
        if len(screens) != 1:
            raise TypeError("all terminals of the lab must share one Screen")
        self.screen = next(iter(self.terminals.values())).screen
        self.last_used: str | None = None
        self.errors: list[str] = []
        self._trap = _ErrorTrap(self.errors)
        logging.getLogger("iosemu").addHandler(self._trap)
        self.loop.set_exception_handler(self._loop_error)

    @classmethod
    def open(cls, name_or_path: str | None = None, **kwargs: Any) -> Driver:
        """A driver on a fresh transcript lab (``kwargs`` go to ``Lab``)."""
        return cls(transcript_lab(name_or_path, **kwargs))

    def close(self) -> None:
        logging.getLogger("iosemu").removeHandler(self._trap)
        self.lab.close()

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        text = str(context.get("message", "error in the event loop"))
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        self.errors.append(text)

    # --- routers and prompts -------------------------------------------------------------

    def terminal(self, router: str) -> TranscriptTerminal:
        """A router's terminal by lab name or by current hostname."""
        if router in self.terminals:
            return self.terminals[router]
        for name, r in self.lab.routers.items():
            if r.hostname == router:
                return self.terminals[name]
        raise KeyError(f"no router {router!r} in the lab")

    def prompt(self, router: str) -> str | None:
        """What ``router`` shows while waiting for input (None while it is busy)."""
        terminal = self.terminal(router)
        return terminal.shown_prompt() if terminal.ready else None

    def match_input(self, line: str) -> tuple[str, str] | None:
        """The router whose live prompt ``line`` starts with, and the rest of the line.

        The longest prompt wins; between equal ones, the router typed into last.
        """
        best: tuple[int, int, str, str] | None = None
        order = list(self.terminals)
        for name, terminal in self.terminals.items():
            state = terminal.state
            if state is None or not terminal.ready:
                continue
            prompt = state.prompt
            if not prompt.strip():
                continue  # a question with no text cannot be told from output
            if state.kind == "return":
                if line.strip() != prompt:
                    continue
                rest = ""
            elif line.startswith(prompt):
                rest = line[len(prompt) :]
            elif state.kind != "command" and line == prompt.rstrip():
                rest = ""
            else:
                continue
            rank = (len(prompt), 1 if name == self.last_used else -order.index(name))
            if best is None or rank > best[:2]:
                best = (*rank, name, rest)
        return None if best is None else (best[2], best[3])

    # --- typing ----------------------------------------------------------------------------

    async def type(self, router: str, text: str, *, source: str | None = None) -> None:
        """Type what follows the prompt in a transcript line, then run until ``router`` waits.

        ``text`` ending in ``?`` asks for help (no Return); ``^Z``/``^C`` are those keys;
        ``{{hidden}}`` is typed but not shown. After ``?``, the next text must repeat what was
        typed before the ``?`` (as the redisplayed line does) and only the rest is typed.
        """
        terminal = self.terminal(router)
        await self.wait_ready(terminal.who)
        self.last_used = terminal.who
        state = terminal.state
        assert state is not None
        typed = text
        if state.kind == "command" and terminal.typed:
            kept = terminal.typed
            if text.startswith(kept):
                typed = text[len(kept) :]
            elif kept.startswith(text) and not kept[len(text) :].strip():
                typed = ""  # the redisplayed line's trailing space, lost by the editor
            else:
                raise ValueError(
                    f"{terminal.who} shows {terminal.shown_prompt()!r}: the line must go on "
                    f"from there"
                )
        if typed in ("^Z", "^C"):
            terminal.key(CTRL_Z if typed == "^Z" else CTRL_C, source)
        elif typed.endswith("?") and state.kind == "command":
            terminal.help(typed[:-1], source)
        else:
            terminal.enter(typed, source)
        await self.wait_ready(terminal.who)

    async def run(self, router: str, text: str) -> str:
        """Type a line at ``router``'s prompt; returns what was drawn meanwhile.

        Log messages that arrive once the router is back at its prompt stay pending: they
        come with the next ``run`` (as bare prompt + messages), or with ``flush``.
        """
        await self.wait_ready(self.terminal(router).who)
        mark = len(self.screen.lines)
        await self.type(router, text)
        self.screen.finish_lines()
        return "\n".join(self.screen.lines[mark:])

    def flush(self, routers: Iterable[str] | None = None) -> None:
        """Draw the pending messages of ``routers`` (all by default)."""
        names = list(routers) if routers is not None else list(self.terminals)
        for name in names:
            self.terminal(name).flush()

    # --- faults ----------------------------------------------------------------------------

    def powered_off(self, router: str) -> bool:
        """True while the lab has ``router`` powered off (``Lab.power_off``)."""
        return any(f.kind == "power-off" and f.router == router for f in self.lab.faults)

    def typed_while_off(self, line: str) -> str | None:
        """The powered-off router ``line`` looks typed into (its last prompt and more)."""
        for name, terminal in self.terminals.items():
            prompt = terminal.last_prompt
            if (
                prompt
                and line.startswith(prompt)
                and line.rstrip() != prompt.rstrip()
                and self.powered_off(name)
            ):
                return name
        return None

    async def inject(self, fault: Fault | str) -> Fault:
        """Inject a fault (``Lab.inject``) and run the lab as its directive does.

        Power-on runs the boot until the console waits at ``Press RETURN``, as a reload
        does; the others take effect at once, and the lab settles.
        """
        done = self.lab.inject(fault)
        if done.kind == "power-on":
            await self.wait_ready(done.router)
        else:
            await settle()
            self._check()
        return done

    # --- running the lab -------------------------------------------------------------------

    async def start(self) -> None:
        """Power on, wait for every console's Press RETURN, press it, forget the boot text."""
        for router in self.lab.routers.values():
            if router.state == "off":
                router.power_on()
        for name in self.terminals:
            await self._run_until(
                lambda name=name: self._at_greeting(name),
                lambda name=name: [self.terminals[name].when_ready()],
                f"{name} did not boot to 'Press RETURN to get started'",
            )
        for terminal in self.terminals.values():
            terminal.enter("")
        for name in self.terminals:
            await self.wait_ready(name)
        await settle()
        for terminal in self.terminals.values():
            terminal.pending.clear()
        self.screen.discard()
        self.last_used = None

    def _at_greeting(self, name: str) -> bool:
        terminal = self.terminals[name]
        return terminal.ready and terminal.state is not None and terminal.state.kind == "return"

    async def wait_ready(self, router: str) -> None:
        """Run the lab until ``router`` waits for input, then until nothing is due."""
        terminal = self.terminal(router)
        if self.powered_off(terminal.who):
            raise ReplayTimeout(f"{terminal.who} is powered off: it shows nothing until it is on")
        await self._run_until(
            lambda: terminal.ready,
            lambda: [terminal.when_ready()],
            f"{terminal.who} did not come back to a prompt or dialog",
        )

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of lab time pass (``[... 30 seconds later ...]``)."""
        end = self.loop.time() + seconds
        while self.loop.time() < end:
            self._check()
            await asyncio.sleep(min(WALL_CHECK_STEP, end - self.loop.time()))
        await settle()
        self._check()

    async def until(
        self, needle: str, routers: Iterable[str] | None = None, *, since: int | None = None
    ) -> None:
        """Run the lab until a console of ``routers`` (all by default) prints ``needle``.

        Lines already drawn from ``since`` (a screen line index) on count too, so a message
        that came with the previous command is not waited for twice.
        """
        names = set(routers) if routers is not None else None
        already = self.screen.lines[since:] if since is not None else []
        for name, terminal in self.terminals.items():
            if names is None or name in names:
                already = [*already, *"".join(terminal.pending).split("\n")]
        if any(needle in line for line in already):
            await settle()
            return
        future = self.screen.watch(needle, names)
        await self._run_until(
            future.done,
            lambda: [future],
            f'"{needle}" was not printed within {self.prompt_timeout / 60:g} minutes of lab time',
        )

    async def _run_until(
        self,
        done: Callable[[], bool],
        wakers: Callable[[], list[asyncio.Future[None]]],
        failure: str,
    ) -> None:
        end = self.loop.time() + self.prompt_timeout
        while True:
            while not done():
                self._check()
                left = end - self.loop.time()
                if left <= 0:
                    raise ReplayTimeout(failure)
                futures = wakers()
                await asyncio.wait(futures, timeout=min(left, WALL_CHECK_STEP))
            await settle()
            self._check()
            if done():
                return

    def _check(self) -> None:
        if self.errors:
            raise LabError("\n\n".join(self.errors))
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ReplayTimeout("the replay ran out of wall-clock time")
