"""A console session on a router of an in-process ``Lab``, for the Python API examples.

``Lab`` gives routers and faults; typing at a router is a ``Session`` (what every console
front end drives) attached to a terminal. This one prints what the router prints, after
the prompt and the typed line, and answers the router's questions (passphrases,
``[confirm]``) from a list.
"""

from __future__ import annotations

import asyncio
from collections import deque

from iosemu.api import Lab
from iosemu.session import Session

# Lab seconds a line may take before we call it stuck (it waits on the lab's clock).
LINE_TIMEOUT = 3600.0


class PrintTerminal:
    """A ``Terminal`` that prints output and answers dialogs from a queue."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.answers: deque[str] = deque()
        self.captured: list[str] = []

    def output(self, text: str) -> None:
        self.captured.append(text)
        if self.echo:
            print(text, end="")

    async def drain(self) -> None:
        return None

    async def ask(self, prompt: str, echo: bool = True) -> str:
        self.output(prompt)
        if not self.answers:
            raise RuntimeError(f"the router asks {prompt!r} and no answer was given")
        answer = self.answers.popleft()
        self.output((answer if echo else "") + "\n")
        return answer

    async def ask_key(self, prompt: str) -> str:
        return await self.ask(prompt, echo=False)

    def show_log(self, text: str) -> None:
        return None  # syslog goes to the router's logging buffer (show logging)


class RouterConsole:
    """``console("show standby brief")`` runs a line at the router's prompt, returns the
    output. Starts in privileged EXEC, as a console after ``enable``."""

    def __init__(self, lab: Lab, router: str, echo: bool = True) -> None:
        self.lab = lab
        self.terminal = PrintTerminal(echo)
        self.session = Session(lab.router(router), self.terminal, line="con 0", privilege=15)

    def __call__(self, line: str, *answers: str) -> str:
        self.terminal.answers.extend(answers)
        self.terminal.captured.clear()
        if self.terminal.echo:
            print(f"{self.session.prompt()}{line}")
        self.lab.run(asyncio.wait_for(self.session.execute(line), LINE_TIMEOUT))
        return "".join(self.terminal.captured)
