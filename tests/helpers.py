"""An in-process harness: a lab on the virtual clock and sessions that capture their output.

Tests type lines into a ``Session`` as a console would and get back exactly what the router
printed. Lines run to completion on the lab's loop, so commands that wait (the DNS lookup
of an unknown EXEC word, dialogs' pauses) take virtual time and no real time.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache

from iosemu.api import Lab
from iosemu.device.router import Router
from iosemu.features.running_config import config_body
from iosemu.lab.clock import ClockMode
from iosemu.lab.topology import LabSpec, find_lab
from iosemu.parser.grammar import CONFIG, Mode
from iosemu.session import Session

LAB_NAME = "pki-ha"
ROUTER = "CA-server-1"
# Lab seconds a line may take: a command waiting on nothing would otherwise hang the test.
LINE_TIMEOUT = 24 * 3600.0


class DialogExhausted(BaseException):
    """A command asked a question the test did not answer.

    Not an ``Exception``: the session turns those into ``% Internal error``, and this one
    must reach the test.
    """


class CaptureTerminal:
    """A ``Terminal`` that records output and answers dialogs from a queue.

    ``default_answer`` (when set) answers questions the queue has no answer for, so fuzzing
    can decline every dialog; without it an unexpected question fails the test.
    """

    def __init__(self, answers: Iterable[str] = (), default_answer: str | None = None) -> None:
        self.answers: deque[str] = deque(answers)
        self.default_answer = default_answer
        self.chunks: list[str] = []
        self.logs: list[str] = []
        self.questions: list[str] = []

    def output(self, text: str) -> None:
        self.chunks.append(text)

    async def drain(self) -> None:
        return None

    def _answer(self, prompt: str) -> str:
        self.questions.append(prompt)
        self.chunks.append(prompt)
        if self.answers:
            return self.answers.popleft()
        if self.default_answer is not None:
            return self.default_answer
        raise DialogExhausted(f"unanswered dialog: {prompt!r}")

    async def ask(self, prompt: str, echo: bool = True) -> str:
        return self._answer(prompt)

    async def ask_key(self, prompt: str) -> str:
        return self._answer(prompt)

    def show_log(self, text: str) -> None:
        self.logs.append(text)

    def take(self) -> str:
        """Everything printed since the last call."""
        text = "".join(self.chunks)
        self.chunks.clear()
        return text


class Cli:
    """One session on one router of a running lab: ``cli("show clock")`` returns the output."""

    def __init__(self, lab: Lab, router: str = ROUTER, *, privilege: int = 15) -> None:
        self.lab = lab
        self.router: Router = lab.router(router)
        self.terminal = CaptureTerminal()
        self.session = Session(self.router, self.terminal, line="con 0", privilege=privilege)

    def __call__(self, line: str, *answers: str) -> str:
        """Run ``line`` to completion (virtual time advances as it waits); return its output."""
        self.terminal.answers.extend(answers)
        self.terminal.take()
        try:
            self.lab.run(asyncio.wait_for(self.session.execute(line), LINE_TIMEOUT))
        except TimeoutError:
            raise AssertionError(f"{line!r} still running after {LINE_TIMEOUT} s") from None
        return self.terminal.take()

    def run_all(self, lines: Iterable[str]) -> str:
        return "".join(self(line) for line in lines)

    @property
    def mode(self) -> Mode:
        return self.session.mode

    def configure(self) -> Cli:
        """Enter global configuration mode directly (no banner, no CONFIG_I)."""
        del self.session.frames[1:]
        self.session.enter(CONFIG)
        return self

    def body(self) -> list[str]:
        return config_body(self.router)

    def help(self, text: str) -> list[str]:
        return self.session.help_lines(text)

    def complete(self, text: str) -> str | None:
        return self.session.complete(text)


@cache
def _spec() -> LabSpec:
    """The lab file, read once: parsing its YAML costs more than booting the lab."""
    return find_lab(LAB_NAME)


def open_lab(clock: ClockMode = "virtual") -> Lab:
    """A fresh lab on the virtual clock, booted (2 s of lab time, no real time); the load
    tests' long run takes the real clock."""
    lab = Lab(copy.deepcopy(_spec()), clock=clock)
    lab.run(lab.start())
    return lab


@contextmanager
def fresh_lab() -> Iterator[Lab]:
    """A fresh lab for one block (hypothesis examples cannot use function fixtures)."""
    lab = open_lab()
    try:
        yield lab
    finally:
        lab.close()


def stable_body(lines: list[str]) -> list[str]:
    """The config body without its change-time comments, which depend on when and how."""
    return [line for line in lines if not line.startswith("! ")]


class LogTap:
    """Every syslog and debug line a router prints, with the lab time, stamp dropped."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab = lab
        self.lines: list[tuple[float, str]] = []
        lab.router(name).log.sinks.append(self)

    def wants_log(self, severity: int, is_debug: bool) -> bool:
        return True

    def show_log(self, text: str) -> None:
        # Drop the "*Jun  3 01:39:25.000: " stamp.
        self.lines.append((self.lab.loop.time(), text.split(": ", 1)[1]))

    def texts(self, *prefixes: str) -> list[str]:
        """The lines that start with one of ``prefixes``, in order."""
        return [text for _, text in self.lines if text.startswith(prefixes)]
