"""The rich local console: its pure parts, the application in-process, ``iosemu lab`` in a pty.

The in-process tests run the prompt_toolkit application on a lab's virtual clock, with keys
from a pipe, and look at both sides: what the person is shown, and the bytes that a telnet
client on the same console line gets (which must be exactly what typing there gives). The
pty test runs the real command as a person would, synchronising on text, never on sleeps.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from iosemu.api import Lab
from iosemu.console.ios import MORE, MORE_ERASE, IosConsole
from iosemu.console.rich import (
    FAULT_HELP_TEXT,
    HELP_TEXT,
    Choice,
    LineScreen,
    RichConsole,
    at_command_prompt,
    fault_choices,
    keys_for_paste,
    next_words,
)
from iosemu.lab.clock import settle

IOSEMU = Path(sys.executable).with_name("iosemu")
TIMEOUT = 30.0  # seconds; generous for a loaded machine
F2 = "\x1bOQ"
F5 = "\x1b[15~"
CTRL_RIGHT_BRACKET, CTRL_D, CTRL_U = "\x1d", "\x04", "\x15"


# --------------------------------------------------------------------------- LineScreen


def test_screen_splits_lines_and_keeps_the_one_being_written() -> None:
    screen = LineScreen()
    assert screen.feed(b"\r\nR1>") == [""]
    assert screen.pending == "R1>"
    assert screen.feed(b"enable\r\nR1#") == ["R1>enable"]
    assert (screen.pending, screen.cursor) == ("R1#", 3)


def test_screen_follows_line_editing_echo() -> None:
    screen = LineScreen()
    screen.feed(b"R1#shoq")
    screen.feed(b"\b \b")  # backspace as the line discipline echoes it
    assert screen.pending.rstrip() == "R1#sho"
    screen.feed(b"w clock\b\b\b\b\b")  # cursor moved left: typing overwrites
    assert screen.cursor == len("R1#show ")
    assert screen.feed(b"\r\n") == ["R1#show clock"]


def test_screen_erases_the_pager_prompt() -> None:
    screen = LineScreen()
    screen.feed(b"line 22\r\n" + MORE.encode())
    assert screen.pending == MORE
    assert screen.feed((MORE_ERASE + "line 23\n").replace("\n", "\r\n").encode()) == ["line 23"]


def test_screen_decodes_utf8_split_across_chunks_and_drops_bells() -> None:
    screen = LineScreen()
    data = "caf\u00e9\x07\r\n".encode()
    assert screen.feed(data[:4]) == []
    assert screen.feed(data[4:]) == ["caf\u00e9"]
    assert screen.feed(b"  \tquit\r\n") == ["  \tquit"]


def test_pasted_lines_end_with_return() -> None:
    assert keys_for_paste("hostname X\ninterface Gi0/0\r\n no shut\n") == (
        "hostname X\rinterface Gi0/0\r no shut\r"
    )


# --------------------------------------------------------------------------- completion data


def test_next_words_lists_what_help_lists(cli) -> None:  # type: ignore[no-untyped-def]
    choices = next_words(cli.session, "show ")
    words = [c.word for c in choices]
    assert "clock" in words and "running-config" in words
    clock = next(c for c in choices if c.word == "clock")
    assert clock == Choice("clock", "Display the system clock", "clock ")
    assert [c.word for c in next_words(cli.session, "sh")] == ["show"]


def test_placeholders_are_listed_but_not_inserted(config) -> None:  # type: ignore[no-untyped-def]
    choices = next_words(config.session, "hostname ")
    assert [(c.word, c.insert) for c in choices] == [("WORD", None)]
    assert next_words(config.session, "hostname R1 ")[-1] == Choice("<cr>", "", None)
    assert next_words(config.session, "hostnmae ") == []  # an error: no menu


# --------------------------------------------------------------------------- in-process


def console_of(lab: Lab, name: str) -> IosConsole:
    terminal = lab.consoles[name].terminal
    assert isinstance(terminal, IosConsole)
    return terminal


class Recording(RichConsole):
    """The rich console with what it prints kept as text instead of drawn."""

    def __init__(self, lab: Lab, names: list[str]) -> None:
        self.printed: list[str] = []
        super().__init__(lab, names)

    def _write(self, batch: list[str | tuple[str, str]]) -> None:
        self.printed += [item if isinstance(item, str) else item[1] for item in batch]


class Person:
    """Types into an in-process rich console and lets the lab run until it settles."""

    def __init__(self, lab: Lab, pipe: PipeInput) -> None:
        self.lab = lab
        self.pipe = pipe
        self.rich = Recording(lab, list(lab.routers))
        self.task: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.rich.run())
        await self.settle()

    async def settle(self) -> None:
        for _ in range(3):  # keys -> application -> console line -> output back
            await settle()

    async def type(self, *keys: str) -> None:
        for key in keys:
            self.pipe.send_text(key)
            await self.settle()

    def printed_since(self, mark: int) -> list[str]:
        return self.rich.printed[mark:]


@pytest.fixture
def person(lab: Lab) -> Iterator[Person]:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        yield Person(lab, pipe)


def test_commands_typed_in_the_rich_console_reach_the_shared_line(lab: Lab, person: Person) -> None:
    telnet: list[bytes] = []  # a telnet client on the same console port
    console_of(lab, "CA-server-1").attach(telnet.append)

    async def scenario() -> None:
        await person.start()
        assert at_command_prompt(lab.consoles["CA-server-1"]) is None  # Press RETURN
        await person.type("\r")
        assert at_command_prompt(lab.consoles["CA-server-1"]) is not None
        await person.type("enable\r", "show clock\r")
        # What the telnet client saw is what typing there would have shown: plain IOS bytes.
        seen = b"".join(telnet)
        echo = rb"CA-server-1>enable\r\nCA-server-1#show clock\r\n\*?\d\d:\d\d:\d\d\.\d{3} UTC"
        assert re.search(echo, seen)
        assert b"\x1b" not in seen
        assert "CA-server-1#show clock" in person.rich.printed
        # The telnet client types too: the rich console shows it, on the same session.
        console_of(lab, "CA-server-1").feed(b"show privilege\r")
        await person.settle()
        assert person.rich.printed[-2:] == [
            "CA-server-1#show privilege",
            "Current privilege level is 15",
        ]
        await person.type(CTRL_D)
        assert person.task is not None
        await asyncio.wait_for(person.task, 5)

    lab.run(scenario())


def test_help_completion_history_and_switching(lab: Lab, person: Person) -> None:
    async def scenario() -> None:
        await person.start()
        await person.type("\r", "en\t")
        assert person.rich.view.buffer.text == "enable "  # Tab: the unique keyword
        await person.type("\r", "show cl?")
        assert person.rich.printed[-3:] == ["CA-server-1#show cl?", "clock", ""]
        assert person.rich.view.buffer.text == "show cl"  # help keeps the line
        await person.type(CTRL_U, "show \t")
        state = person.rich.view.buffer.complete_state
        assert state is not None
        assert "running-config " in [c.text for c in state.completions]
        await person.type(CTRL_U, "\x1b[A")  # Up: this router's history
        assert person.rich.view.buffer.text == "enable"
        await person.type(CTRL_U, F2)
        assert person.rich.view.name == "CA-server-2"
        mark = len(person.rich.printed)
        await person.type("\r", "\r")
        assert person.printed_since(mark)[-1] == "CA-server-2>"
        await person.type("\x1b[A")  # CA-server-2 has a history of its own: empty
        assert person.rich.view.buffer.text == ""
        await person.type(CTRL_RIGHT_BRACKET + "1")
        assert person.rich.view.name == "CA-server-1"
        await person.type("\x1b[21~")  # F10
        assert person.task is not None
        await asyncio.wait_for(person.task, 5)

    lab.run(scenario())


def test_dialogs_take_keys_one_by_one(lab: Lab, person: Person) -> None:
    async def scenario() -> None:
        await person.start()
        await person.type("\r", "enable\r", "copy running-config startup-config\r")
        line = lab.consoles["CA-server-1"]
        assert at_command_prompt(line) is None
        assert person.rich.view.screen.pending == "Destination filename [startup-config]? "
        await person.type("\r")
        assert "[OK]" in person.rich.printed
        assert at_command_prompt(line) is not None
        await person.type("\x1b[21~")
        assert person.task is not None
        await asyncio.wait_for(person.task, 5)

    lab.run(scenario())


# --------------------------------------------------------------------------- faults (F5)


def toolbar(person: Person) -> str:
    return "".join(text for _, text, *_ in person.rich._toolbar())


def test_fault_completion_offers_what_makes_sense_now(lab: Lab) -> None:
    words = [c.word for c in fault_choices(lab, "")]
    assert words[:6] == ["power-off", "power-on", "unplug", "plug", "partition", "heal"]
    assert [c.insert for c in fault_choices(lab, "power-of")] == ["power-off "]
    assert [c.word for c in fault_choices(lab, "power-off ")] == ["CA-server-1", "CA-server-2"]
    assert fault_choices(lab, "power-on ") == []  # nothing is off
    assert [c.word for c in fault_choices(lab, "unplug CA-server-1 ")] == ["Gi0/0"]
    assert fault_choices(lab, "plug CA-server-1 ") == []  # the cable is in
    lab.power_off("CA-server-2")
    lab.unplug("CA-server-1", "Gi0/0")
    assert [c.word for c in fault_choices(lab, "power-on ")] == ["CA-server-2"]
    assert [c.word for c in fault_choices(lab, "plug ")] == ["CA-server-1"]
    assert [c.word for c in fault_choices(lab, "partition CA-server-1 ")] == ["CA-server-2", "|"]
    assert fault_choices(lab, "heal ") == []


def test_f5_injects_a_fault_and_power_comes_back_with_the_boot(lab: Lab, person: Person) -> None:
    async def scenario() -> None:
        await person.start()
        await person.type("\r")
        assert HELP_TEXT in toolbar(person) and "F5 fault" in HELP_TEXT
        await person.type(F5)
        assert person.rich.fault_open and FAULT_HELP_TEXT in toolbar(person)
        await person.type("power-off CA-server-2\r")
        assert not person.rich.fault_open
        assert person.rich.printed[-1] == "[... CA-server-2 loses power ...]"
        assert lab.router("CA-server-2").state == "off"
        assert " 2 CA-server-2 (off) " in toolbar(person)
        assert [str(f) for f in lab.faults] == ["power-off CA-server-2"]
        # The keys typed in the prompt went nowhere else: CA-server-1's line is untouched.
        assert at_command_prompt(lab.consoles["CA-server-1"]) is not None
        assert person.rich.view.buffer.text == ""

        await person.type(F5, "power-on CA-server-2\r")
        assert person.rich.printed[-1] == "[... CA-server-2 is powered on ...]"
        await asyncio.sleep(10)  # lab time: the boot
        await person.settle()
        await person.type(F2)  # what CA-server-2 printed meanwhile: the whole boot
        shown = person.printed_since(0)
        boot = shown[shown.index("--- CA-server-2 ---") :]
        assert "System Bootstrap, Version 12.3(11r)T2, RELEASE SOFTWARE (fc1)" in boot
        assert "Press RETURN to get started!" in boot
        assert person.rich.view.screen.pending == ""  # waits for Return, as after a reload
        await person.type("\r")
        assert at_command_prompt(lab.consoles["CA-server-2"]) is not None
        assert lab.faults == []
        await person.type("\x1b[21~")  # F10
        assert person.task is not None
        await asyncio.wait_for(person.task, 5)

    lab.run(scenario())


def test_a_bad_fault_command_says_why_and_stays_to_be_corrected(lab: Lab, person: Person) -> None:
    async def scenario() -> None:
        await person.start()
        await person.type(F5, "powr-off CA-server-2\r")
        assert person.rich.printed[-1].startswith("% unknown fault 'powr-off'; the faults are:")
        assert person.rich.fault_open and person.rich.fault_buffer.text == "powr-off CA-server-2"
        await person.type("\x15", "power-off R9\r")  # Ctrl-U, then a router that is not there
        assert person.rich.printed[-1] == (
            "% no router R9 in lab pki-ha (CA-server-1, CA-server-2)"
        )
        await person.type("\x15", "unplug CA-server-1 Gi0/1\r")
        assert person.rich.printed[-1] == (
            "% CA-server-1 GigabitEthernet0/1 has no cable in this lab (cabled: GigabitEthernet0/0)"
        )
        await person.type("\x15", "heal\r")
        assert person.rich.printed[-1] == "% no segment is split"
        await person.type("\x03")  # Ctrl-C closes the prompt without injecting anything
        assert not person.rich.fault_open and lab.faults == []
        assert HELP_TEXT in toolbar(person)

    lab.run(scenario())


def test_the_fault_prompt_completes_lists_and_partitions(lab: Lab, person: Person) -> None:
    async def scenario() -> None:
        await person.start()
        await person.type("\r")
        await person.type(F5, "unp\t")
        assert person.rich.fault_buffer.text == "unplug "
        await person.type("CA-server-1 G\t")
        assert person.rich.fault_buffer.text == "unplug CA-server-1 Gi0/0 "
        mark = len(person.rich.printed)
        await person.type("\r")
        # (CA-server-1's boot messages, shown at Return, may come along: lines, not keys.)
        assert "[... the cable of CA-server-1 GigabitEthernet0/0 is pulled ...]" in (
            person.printed_since(mark)
        )
        mark = len(person.rich.printed)
        await person.type(F5, "partition CA-server-1 | CA-server-2\r")
        assert person.printed_since(mark) == [
            "[... the segment splits: CA-server-1 | CA-server-2 ...]"
        ]
        mark = len(person.rich.printed)
        await person.type(F5, "faults\r")
        assert person.printed_since(mark) == [
            "Faults in effect:",
            "  unplug CA-server-1 GigabitEthernet0/0",
            "  partition CA-server-1 | CA-server-2",
        ]
        mark = len(person.rich.printed)
        await person.type(F5, "?")
        shown = person.printed_since(mark)
        assert shown[0] == "Fault commands:"
        assert any(line.startswith("  power-off ROUTER") for line in shown)
        assert person.rich.fault_buffer.text == ""  # ? shows help, types nothing
        await person.type("heal\r", F5, "plug CA-server-1 Gi0/0\r")
        mark = len(person.rich.printed)
        await person.type(F5, "faults\r")
        assert person.printed_since(mark) == ["No faults in effect."]

    lab.run(scenario())


# --------------------------------------------------------------------------- iosemu lab in a pty

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def free_port_base(count: int) -> int:
    """A base whose next ``count`` ports are free (the lab's consoles listen there)."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        try:
            for port in range(base, base + count + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free range of ports")


class Terminal:
    """A program in a pty, read as text with the escape sequences of its drawing removed."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.raw = ""
        self.pos = 0

    def text(self) -> str:
        raw = self.raw
        last = raw.rfind("\x1b")
        if last >= 0 and not ANSI.match(raw, last):
            raw = raw[:last]  # an escape sequence still arriving
        return ANSI.sub("", raw).replace("\r", "")

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait for ``pattern`` after the previous match; the next search starts after it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.text(), self.pos)
            if found:
                self.pos = found.end()
                return found
            left = deadline - time.monotonic()
            if left <= 0 or not self.child.isalive():
                tail = self.text()[self.pos :][-3000:]
                raise AssertionError(f"{pattern!r} did not show; since the last match:\n{tail}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=min(left, 0.5))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                continue

    def send(self, keys: str) -> None:
        self.child.send(keys)


def test_iosemu_lab_attaches_a_rich_console(tmp_path: Path) -> None:
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    args = ["lab", "--console-base", str(free_port_base(3)), "--state", str(tmp_path), "--fresh"]
    child = pexpect.spawn(
        str(IOSEMU), args, env=env, encoding="utf-8", dimensions=(40, 120), timeout=TIMEOUT
    )
    term = Terminal(child)
    try:
        term.expect(r"--- CA-server-1 ---")
        term.expect(r"Press RETURN to get started")
        term.send("\r")
        term.send("enable\r")
        term.expect(r"CA-server-1>enable")
        term.send("show clock\r")
        term.expect(r"CA-server-1#show clock\n\*?\d\d:\d\d:\d\d\.\d{3} UTC")

        term.send(F2)  # the second router, with what it printed meanwhile
        term.expect(r"--- CA-server-2 ---")
        term.expect(r"Press RETURN to get started")
        term.send("\r")
        term.send("\r")
        term.expect(r"CA-server-2>")

        term.send(CTRL_RIGHT_BRACKET + "1")
        term.expect(r"--- CA-server-1 ---")
        term.send("show \t")  # a menu of what may follow, with help
        term.expect(r"clock\s*Display the system clock")
        term.send(CTRL_U)
        term.send("conf\t")  # Tab finishes the keyword: "configure "
        term.send("t\r")
        term.expect(r"CA-server-1#configure t\nEnter configuration commands")
        term.send("end\r")
        term.expect(r"CA-server-1\(config\)#end")

        term.send(CTRL_D)  # at an empty line: leave; the lab stops
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)
