"""The rich local console: ``iosemu lab`` in a terminal, for a person rather than a script.

Design. Each router has one console line (``line con 0``) and one byte-exact terminal on it,
the ``IosConsole`` that the telnet port also serves. The rich console does not replace that
terminal or run a session of its own: it is one more client on the same line, like a
second telnet connection to a terminal-server port. It watches the line's bytes (a viewer of
the ``IosConsole``) and types into it (``feed``). So one ``Session`` per router sees every
keystroke from every client, logs and dialogs behave exactly as on telnet, and the bytes
that telnet clients get are those they always got: nothing in the line discipline knows the
rich console is there.

What the rich console adds is local editing of the command line. While the line waits at
a command prompt, the person edits in prompt_toolkit (grammar completions in a menu, ``?``
help, per-router history, the line highlighted by ``IosLexer``), and the finished line goes
to the console as keystrokes, so every client sees it echoed as if typed there. Anywhere
else (``Press RETURN``, ``Password:``, ``[confirm]``, ``--More--``, a running command) each
key goes straight to the line and the console's own echo is shown: dialogs need no special
cases.

Output: the bytes of each line pass through a ``LineScreen``, which turns them into finished
lines (printed above the input, highlighted) and the line being written (a prompt or a
question, shown as the input line). Routers not on screen keep their finished lines until
the person switches to them.

Faults: F5 opens a one-line prompt below the console for a fault command (``power-off
CA-server-2``, ``unplug CA-server-1 Gi0/0``, ``partition A | B C``, ``heal``; see
lab/faults.py), with completion of router and interface names. It goes to ``Lab.inject``,
as transcript directives do, and the console prints the fault as a directive says it
(``[... CA-server-2 loses power ...]``).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prompt_toolkit.application import Application, in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.completion.base import get_common_complete_suffix
from prompt_toolkit.data_structures import Point
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText, PygmentsTokens, StyleAndTextTuples
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import (
    ConditionalContainer,
    DynamicContainer,
    Float,
    FloatContainer,
    HSplit,
    Layout,
    Window,
)
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.menus import CompletionsMenu
from prompt_toolkit.layout.processors import BeforeInput
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.shortcuts import print_formatted_text
from prompt_toolkit.styles import BaseStyle, Style, merge_styles, style_from_pygments_dict
from pygments.token import (
    Comment,
    Generic,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    String,
)

from iosemu.console.ios import IosConsole
from iosemu.console.lexer import IosCommandLexer, IosLexer
from iosemu.features.interfaces import short_name
from iosemu.lab.faults import COMMANDS, FaultError
from iosemu.parser.help import HelpList, complete, help_for
from iosemu.parser.match import split_words

if TYPE_CHECKING:
    from iosemu.api import Lab
    from iosemu.console_line import ConsoleLine
    from iosemu.session import Session

# Sent before a line edited here: to the end of what the line holds (typed by another
# client), erase it. With nothing there, the line echoes nothing for either key.
CTRL_E_CTRL_U = "\x05\x15"
BACKLOG_LINES = 2000  # finished lines kept for a router that is not on screen
ESCAPE_KEY = "c-]"  # as in telnet: Ctrl-] then a digit picks a router
MENU_ROWS = 10  # height of the completion menu

HELP_TEXT = "F2 next · Ctrl-] 1-9 router · F5 fault · F10 quit"
FAULT_HELP_TEXT = "Enter inject · Tab complete · ? help · Esc close"
FAULT_PROMPT = "fault> "
# The fault prompt's own words, besides the faults.
FAULT_EXTRAS = {"faults": "List the faults in effect", "help": "List the fault commands"}
FAULT_HELP = {
    "power-off": "Pull a router's power: it vanishes from the wire at once",
    "power-on": "Power a router on: it boots from its NVRAM",
    "unplug": "Pull the cable of a router's interface",
    "plug": "Plug the cable of a router's interface back in",
    "partition": "Split a segment: only routers in one group hear each other",
    "heal": "Join split segments again",
}

log = logging.getLogger("iosemu.rich")


# --------------------------------------------------------------------------- pure parts


class LineScreen:
    """A console line's bytes as a terminal shows them: finished lines and the current one.

    Only what the IOS line discipline sends is understood: text, ``\\r``, ``\\n`` and
    ``\\b`` (its echo, line editing and the ``--More--`` erase are all made of these). The
    current line is kept as cells and a cursor, so overwriting works as on a terminal.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._cells: list[str] = []
        self.cursor = 0

    @property
    def pending(self) -> str:
        """The line being written (a prompt, a question, ``--More--``), as shown."""
        return "".join(self._cells)

    def feed(self, data: bytes) -> list[str]:
        """Take bytes from the line; return the lines they finished (trailing blanks cut)."""
        finished: list[str] = []
        for ch in self._decoder.decode(data):
            if ch == "\n":
                finished.append(self.pending.rstrip(" "))
                self._cells = []
                self.cursor = 0
            elif ch == "\r":
                self.cursor = 0
            elif ch == "\b":
                self.cursor = max(self.cursor - 1, 0)
            elif ch == "\t" or ch.isprintable():
                if self.cursor < len(self._cells):
                    self._cells[self.cursor] = ch
                else:
                    self._cells.extend(" " * (self.cursor - len(self._cells)))
                    self._cells.append(ch)
                self.cursor += 1
        return finished


@dataclass(frozen=True)
class Choice:
    """One entry of the completion menu: what ``?`` would list there."""

    word: str  # as help shows it: a keyword, or a placeholder (WORD, <1-255>, <cr>)
    help: str
    insert: str | None  # the keyword and a space, or None for what cannot be typed for you


def next_words(session: Session, text: str) -> list[Choice]:
    """The words allowed at the end of ``text`` in the session's mode, as ``?`` lists them.

    A keyword can be inserted; a placeholder only says what to type. Which is which is
    asked of the grammar's own completion: it finishes a word only when it is a keyword.
    """
    if session.mode.raw:
        return []
    root = session._grammar_for(session.mode).root
    result = help_for(root, text)
    if not isinstance(result, HelpList):
        return []
    words = split_words(text)
    at_new_word = not text or text[-1].isspace()
    before = text if at_new_word else text[: words[-1].start]
    choices = []
    for entry in result.entries:
        keyword = entry.word != "<cr>" and complete(root, before + entry.word) == (
            before + entry.word + " "
        )
        choices.append(Choice(entry.word, entry.text, entry.word + " " if keyword else None))
    return choices


def at_command_prompt(line: ConsoleLine) -> Session | None:
    """The session whose command prompt the line is showing now, else None.

    None at ``Press RETURN``, during login, while a command runs (its output, its dialogs,
    ``--More--``): then keys go to the line one by one. This reads the ``IosConsole``'s
    input state, which it keeps for redrawing the prompt after a log message.
    """
    session = line.session
    console = line.terminal
    if session is None or not session.alive or not isinstance(console, IosConsole):
        return None
    return session if console.showing_prompt(session) else None


def keys_for_paste(text: str) -> str:
    """Pasted text as keys for the line: each line ended by Return."""
    return text.replace("\r\n", "\r").replace("\n", "\r")


class GrammarCompleter(Completer):
    """prompt_toolkit completions from the router's grammar, for the session at the prompt."""

    def __init__(self, session_for: Callable[[], Session | None]) -> None:
        self.session_for = session_for

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        session = self.session_for()
        if session is None:
            return
        text = document.text_before_cursor
        words = split_words(text)
        partial = words[-1].text if words and not text[-1].isspace() else ""
        for choice in next_words(session, text):
            if choice.insert is not None:
                yield Completion(
                    choice.insert,
                    start_position=-len(partial),
                    display=choice.word,
                    display_meta=choice.help,
                )
            else:
                yield Completion(
                    "",
                    display=choice.word,
                    display_meta=choice.help,
                    style="class:completion-menu.placeholder",
                )


def fault_choices(lab: Lab, text: str) -> list[Choice]:
    """The words that may finish a fault command typed so far, as the fault prompt offers.

    Only what would make sense now: ``power-off`` offers routers that are on, ``power-on``
    those that are off, ``unplug`` cables that are in, ``plug`` cables that are out.
    """
    words = text.split()
    partial = "" if not text or text[-1].isspace() else words[-1]
    done = words[:-1] if partial else words
    return [c for c in _next_fault_words(lab, done) if c.word.startswith(partial)]


def _next_fault_words(lab: Lab, done: list[str]) -> list[Choice]:
    if not done:
        table = {**FAULT_HELP, **FAULT_EXTRAS}
        return [Choice(word, table[word], word + " ") for word in table]
    command = done[0].lower()
    off = {f.router for f in lab.faults if f.kind == "power-off"}
    ports = list(lab.fabric.ports.values())
    if command in ("power-off", "power-on") and len(done) == 1:
        wanted = command == "power-on"
        return [
            Choice(name, "off" if name in off else "on", name + " ")
            for name in lab.routers
            if (name in off) == wanted
        ]
    if command in ("unplug", "plug"):
        plugged = command == "unplug"  # unplug takes cables that are in
        if len(done) == 1:
            routers = dict.fromkeys(p.router for p in ports if p.cabled == plugged)
            return [Choice(name, "", name + " ") for name in routers]
        if len(done) == 2:
            return [
                Choice(short_name(p.interface), p.interface, short_name(p.interface) + " ")
                for p in ports
                if p.router == done[1] and p.cabled == plugged
            ]
        return []
    if command == "partition":
        used = {w.partition(":")[0] for w in done[1:]}
        choices = [Choice(name, "", name + " ") for name in lab.routers if name not in used]
        if done[-1] != "|" and len(done) > 1:
            choices.append(Choice("|", "Start the next group", "| "))
        return choices
    return []


class FaultCompleter(Completer):
    """Completions for the fault prompt: ``fault_choices`` for the word at the cursor."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        partial = "" if not text or text[-1].isspace() else text.split()[-1]
        for choice in fault_choices(self.lab, text):
            if choice.insert is not None:
                yield Completion(
                    choice.insert,
                    start_position=-len(partial),
                    display=choice.word,
                    display_meta=choice.help,
                )


def fault_help_lines() -> list[str]:
    """What ``?`` or ``help`` prints at the fault prompt."""
    lines = []
    for word, args in COMMANDS.items():
        lines.append(f"  {(word + ' ' + args).rstrip():<34} {FAULT_HELP[word]}")
    for word, text in FAULT_EXTRAS.items():
        lines.append(f"  {word:<34} {text}")
    return lines


# --------------------------------------------------------------------------- styles

TOKEN_STYLES = {
    Generic.Prompt: "bold ansigreen",
    Generic.Error: "bold ansired",
    Generic.Emph: "ansiyellow",
    Generic.Strong: "bold ansigreen",
    Generic.Subheading: "reverse",
    Comment: "ansibrightblack",
    Keyword: "bold ansicyan",
    Keyword.Reserved: "bold ansimagenta",
    Name.Builtin: "ansicyan",
    Name.Variable: "ansibrightblue",
    Name.Exception: "bold ansimagenta",
    Name.Label: "ansimagenta",
    Literal.Date: "ansigreen",
    Number: "ansiyellow",
    Number.IPv4: "ansibrightyellow",
    Number.Mac: "ansibrightyellow",
    String: "ansigreen",
    String.Escape: "bold ansired",
    Operator: "bold",
}

UI_STYLES = {
    "toolbar": "bg:#303030 #c0c0c0",
    "toolbar.router": "bg:#303030 #ffffff",
    "toolbar.current": "bg:#005f87 #ffffff bold",
    "toolbar.off": "bg:#303030 #808080",
    "toolbar.keys": "bg:#303030 #909090",
    "switch": "bold ansiblue",
    "completion-menu.placeholder": "italic",
    "fault": "bold ansiyellow",
    "fault.error": "bold ansired",
    "fault.prompt": "bold ansiyellow",
}


def console_style() -> BaseStyle:
    return merge_styles([style_from_pygments_dict(TOKEN_STYLES), Style.from_dict(UI_STYLES)])


# --------------------------------------------------------------------------- the application


@dataclass
class RouterView:
    """One router as the rich console has it: its line, what it printed, what is typed."""

    name: str
    line: ConsoleLine
    console: IosConsole
    buffer: Buffer
    window: Window
    screen: LineScreen = field(default_factory=LineScreen)
    backlog: deque[str] = field(default_factory=lambda: deque(maxlen=BACKLOG_LINES))
    dropped: int = 0  # finished lines that fell out of a full backlog
    detach: Callable[[], None] = lambda: None

    def command_session(self) -> Session | None:
        return at_command_prompt(self.line)


class RichConsole:
    """The prompt_toolkit application attached to the routers of a running lab."""

    def __init__(self, lab: Lab, names: list[str]) -> None:
        self.lab = lab
        self.style = console_style()
        self.views: list[RouterView] = []
        self.current = 0
        self._to_print: list[str | tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._output_lexer = IosLexer(stripnl=False)
        self.fault_open = False  # the F5 prompt is showing (and has the keys)
        self.fault_buffer = Buffer(
            name="fault",
            history=InMemoryHistory(),
            completer=FaultCompleter(lab),
            complete_while_typing=True,
            multiline=False,
        )
        for name in names:
            line = lab.consoles.get(name)
            if line is not None and isinstance(line.terminal, IosConsole):
                self.views.append(self._make_view(name, line, line.terminal))
        if not self.views:
            raise ValueError("no router with a console to attach to")
        self.app: Application[None] = self._make_app()

    # --- building --------------------------------------------------------------------

    def _make_view(self, name: str, line: ConsoleLine, console: IosConsole) -> RouterView:
        buffer = Buffer(
            name=f"command:{name}",
            history=InMemoryHistory(),
            completer=GrammarCompleter(lambda: at_command_prompt(line)),
            complete_while_typing=False,
            multiline=False,
        )

        def prompt() -> StyleAndTextTuples:
            session = at_command_prompt(line)
            return [("class:pygments.generic.prompt", session.prompt() if session else "")]

        control = BufferControl(
            buffer,
            lexer=PygmentsLexer(IosCommandLexer),
            input_processors=[BeforeInput(prompt)],
        )

        def height() -> Dimension:
            # Room below the line for the completion menu, as PromptSession reserves it.
            state = buffer.complete_state
            rows = min(len(state.completions), MENU_ROWS) if state else 0
            return Dimension(min=1 + rows)

        window = Window(control, height=height, dont_extend_height=True, wrap_lines=True)
        view = RouterView(name, line, console, buffer, window)
        view.detach = console.attach(lambda data, v=view: self._from_line(v, data))
        return view

    def _make_app(self) -> Application[None]:
        command_mode = Condition(lambda: self.view.command_session() is not None)
        self._raw_control = FormattedTextControl(
            self._raw_text,
            focusable=True,
            show_cursor=True,
            get_cursor_position=lambda: Point(x=self.view.screen.cursor, y=0),
        )
        self._raw_window = Window(self._raw_control, dont_extend_height=True, wrap_lines=True)
        toolbar = Window(FormattedTextControl(self._toolbar), height=1, style="class:toolbar")
        fault_open = Condition(lambda: self.fault_open)

        def fault_height() -> Dimension:
            state = self.fault_buffer.complete_state
            rows = min(len(state.completions), MENU_ROWS) if state else 0
            return Dimension(min=1 + rows)

        self._fault_window = Window(
            BufferControl(
                self.fault_buffer,
                input_processors=[BeforeInput(FAULT_PROMPT, style="class:fault.prompt")],
            ),
            height=fault_height,
            dont_extend_height=True,
        )
        body = HSplit(
            [
                ConditionalContainer(DynamicContainer(lambda: self.view.window), command_mode),
                ConditionalContainer(self._raw_window, ~command_mode),
                ConditionalContainer(self._fault_window, fault_open),
                toolbar,
            ]
        )
        root = FloatContainer(
            body,
            floats=[
                Float(
                    xcursor=True,
                    ycursor=True,
                    content=CompletionsMenu(max_height=MENU_ROWS, scroll_offset=1),
                )
            ],
        )
        return Application(
            layout=Layout(root, focused_element=self._raw_window),
            key_bindings=self._key_bindings(command_mode),
            style=self.style,
            include_default_pygments_style=False,
            full_screen=False,
            erase_when_done=True,  # what stays on the terminal is the session, not the bars
            mouse_support=False,
            before_render=self._follow_focus,
        )

    # --- output from the lines ---------------------------------------------------------

    @property
    def view(self) -> RouterView:
        return self.views[self.current]

    def _from_line(self, view: RouterView, data: bytes) -> None:
        # The line drops a viewer whose writer raises: a bug here must not blind the console.
        try:
            self._take_output(view, data)
        except Exception:
            log.exception("%s: rich console failed to show output", view.name)

    def _take_output(self, view: RouterView, data: bytes) -> None:
        finished = view.screen.feed(data)
        if finished:
            if view is self.view:
                self._print(finished)
            else:
                overflow = len(view.backlog) + len(finished) - BACKLOG_LINES
                view.dropped += max(overflow, 0)
                view.backlog.extend(finished)
        if view is self.view:
            # The line may have just shown its prompt (or left it): keys that follow in the
            # same burst must reach the right place before the next redraw moves the focus.
            self._follow_focus(self.app)
        self.app.invalidate()

    def _print(self, lines: Iterable[str | tuple[str, str]]) -> None:
        """Queue lines to print above the input: text from a router, or (style, text)."""
        self._to_print.extend(lines)
        self._wake.set()

    async def _printer(self) -> None:
        """Print queued lines above the input, a batch at a time (started inside the app)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._to_print:
                batch, self._to_print = self._to_print, []
                async with in_terminal():
                    try:
                        self._write(batch)
                    except Exception:  # keep printing what comes next
                        log.exception("rich console failed to print %d lines", len(batch))

    def _write(self, batch: list[str | tuple[str, str]]) -> None:
        text_lines: list[str] = []

        def flush_text() -> None:
            if text_lines:
                tokens = self._output_lexer.get_tokens("".join(line + "\n" for line in text_lines))
                self._echo(PygmentsTokens(list(tokens)))
                text_lines.clear()

        for item in batch:
            if isinstance(item, str):
                text_lines.append(item)
            else:
                flush_text()
                self._echo(FormattedText([(f"class:{item[0]}", item[1] + "\n")]))
        flush_text()

    def _echo(self, text: PygmentsTokens | FormattedText) -> None:
        print_formatted_text(
            text,
            end="",
            style=self.style,
            output=self.app.output,
            include_default_pygments_style=False,
        )

    # --- what is shown --------------------------------------------------------------

    def _raw_text(self) -> StyleAndTextTuples:
        return [("", self.view.screen.pending)]

    def _toolbar(self) -> StyleAndTextTuples:
        parts: StyleAndTextTuples = [("class:toolbar", " ")]
        for index, view in enumerate(self.views, start=1):
            state = view.line.router.state
            label = f" {index} {view.name}" + ("" if state == "running" else f" ({state})") + " "
            if view is self.view:
                style = "class:toolbar.current"
            elif state == "off":
                style = "class:toolbar.off"
            else:
                style = "class:toolbar.router"
            parts += [(style, label), ("class:toolbar", " ")]
        keys = FAULT_HELP_TEXT if self.fault_open else HELP_TEXT
        parts.append(("class:toolbar.keys", f" {keys} "))
        return parts

    def _follow_focus(self, app: Application[None]) -> None:
        """Focus the fault prompt while open, else the command editor at a command prompt,
        else the raw line."""
        if self.fault_open:
            target = self._fault_window
        elif self.view.command_session():
            target = self.view.window
        else:
            target = self._raw_window
        if app.layout.current_window is not target:
            app.layout.focus(target)

    # --- switching -------------------------------------------------------------------

    def switch(self, index: int) -> None:
        """Show router ``index``: its lines printed while it was not on screen first."""
        if not 0 <= index < len(self.views) or index == self.current:
            return
        self.current = index
        view = self.view
        lines: list[str | tuple[str, str]] = [("switch", f"--- {view.name} ---")]
        if view.dropped:
            lines.append(("switch", f"... ({view.dropped} earlier lines not kept)"))
        lines.extend(view.backlog)
        view.backlog.clear()
        view.dropped = 0
        self._print(lines)
        self._follow_focus(self.app)
        self.app.invalidate()

    # --- faults ------------------------------------------------------------------------

    def open_faults(self) -> None:
        self.fault_open = True
        self.fault_buffer.reset()
        self._follow_focus(self.app)  # now: keys typed right after F5 are the prompt's
        self.app.invalidate()

    def close_faults(self) -> None:
        self.fault_open = False
        self.fault_buffer.reset()
        self._follow_focus(self.app)
        self.app.invalidate()

    def inject(self, text: str) -> bool:
        """Run a line of the fault prompt; False (and a message) if it was not a fault."""
        text = text.strip()
        word = text.split()[0].lower() if text else ""
        if word in ("help", "?"):
            self._print([("fault", "Fault commands:"), *fault_help_lines()])
            return True
        if word == "faults":
            faults = self.lab.faults
            if not faults:
                self._print([("fault", "No faults in effect.")])
            else:
                self._print([("fault", "Faults in effect:"), *(f"  {f}" for f in faults)])
            return True
        try:
            fault = self.lab.inject(text)
        except FaultError as e:
            self._print([("fault.error", f"% {e}")])
            return False
        self._print([("fault", f"[... {fault.prose()} ...]")])
        return True

    # --- keys --------------------------------------------------------------------------

    def _send(self, keys: str) -> None:
        self.view.console.feed(keys.encode())

    def _key_bindings(self, router_command_mode: Condition) -> KeyBindings:
        kb = KeyBindings()
        fault_open = Condition(lambda: self.fault_open)
        # While the fault prompt is open, keys are its own: none go to a router.
        command_mode = router_command_mode & ~fault_open
        raw_mode = ~router_command_mode & ~fault_open
        empty = Condition(lambda: not self.view.buffer.text)

        @kb.add("f5")
        def toggle_faults(event: KeyPressEvent) -> None:
            if self.fault_open:
                self.close_faults()
            else:
                self.open_faults()

        @kb.add("escape", filter=fault_open)
        @kb.add("c-c", filter=fault_open)
        @kb.add("c-g", filter=fault_open)
        def close_fault_prompt(event: KeyPressEvent) -> None:
            self.close_faults()

        @kb.add("enter", filter=fault_open)
        def submit_fault(event: KeyPressEvent) -> None:
            buffer = self.fault_buffer
            text = buffer.text
            if not text.strip():
                self.close_faults()
                return
            buffer.append_to_history()
            if self.inject(text):
                self.close_faults()
            else:  # keep the line to be corrected
                buffer.cancel_completion()

        @kb.add("?", filter=fault_open)
        def fault_help(event: KeyPressEvent) -> None:
            self.inject("help")

        @kb.add("tab", filter=fault_open)
        def fault_tab(event: KeyPressEvent) -> None:
            buffer = self.fault_buffer
            if buffer.complete_state and buffer.complete_state.completions:
                buffer.complete_next()
                return
            # Computed here rather than by the buffer's background completion, which may
            # still be running for the keys typed just before the Tab.
            document = buffer.document
            event_ = CompleteEvent(completion_requested=True)
            found = list(FaultCompleter(self.lab).get_completions(document, event_))
            if len(found) == 1:
                buffer.apply_completion(found[0])
            elif common := get_common_complete_suffix(document, found):
                buffer.insert_text(common)
            else:
                buffer.start_completion()

        @kb.add("f10")
        def quit_(event: KeyPressEvent) -> None:
            event.app.exit()

        @kb.add("c-d", filter=command_mode & empty)
        def quit_at_empty_line(event: KeyPressEvent) -> None:
            event.app.exit()

        @kb.add("f2")
        def next_router(event: KeyPressEvent) -> None:
            self.switch((self.current + 1) % len(self.views))

        @kb.add(ESCAPE_KEY, Keys.Any)
        def pick_router(event: KeyPressEvent) -> None:
            key = event.key_sequence[1].data
            if key.isdigit() and key != "0":
                self.switch(int(key) - 1)
            elif key in ("q", "Q"):
                event.app.exit()
            elif key in ("n", "N", " "):
                self.switch((self.current + 1) % len(self.views))

        # At a command prompt: the line is edited here and sent whole.
        @kb.add("enter", filter=command_mode)
        def submit(event: KeyPressEvent) -> None:
            buffer = self.view.buffer
            text = buffer.text
            entry = text.strip()  # kept as IOS keeps it: without the blanks around
            strings = buffer.history.get_strings()
            if entry and (not strings or strings[-1] != entry):
                buffer.history.append_string(entry)
            buffer.reset()
            self._send(CTRL_E_CTRL_U + text + "\r")

        @kb.add("?", filter=command_mode)
        def help_(event: KeyPressEvent) -> None:
            session = self.view.command_session()
            if session is None:
                return
            text = self.view.buffer.document.text_before_cursor
            lines = session.help_lines(text)
            shown: list[str | tuple[str, str]] = [session.prompt() + self.view.buffer.text + "?"]
            shown += lines
            if not any(line.startswith("%") for line in lines):
                shown.append("")
            self._print(shown)

        @kb.add("tab", filter=command_mode)
        def tab(event: KeyPressEvent) -> None:
            buffer = self.view.buffer
            session = self.view.command_session()
            if session is None:
                return
            if buffer.complete_state:
                buffer.complete_next()
                return
            text = buffer.document.text_before_cursor
            done = session.complete(text)
            if done is not None and done != text:
                buffer.delete_before_cursor(len(text))
                buffer.insert_text(done)
            else:
                buffer.start_completion()

        @kb.add("c-c", filter=command_mode)
        def interrupt(event: KeyPressEvent) -> None:
            text = self.view.buffer.text
            self.view.buffer.reset()
            self._send(CTRL_E_CTRL_U + text + "\x03")

        @kb.add("c-z", filter=command_mode)
        def end_config(event: KeyPressEvent) -> None:
            session = self.view.command_session()
            if session is None or session.mode.name == "exec":
                return  # IOS ignores Ctrl-Z in EXEC
            text = self.view.buffer.text
            self.view.buffer.reset()
            self._send(CTRL_E_CTRL_U + text + "\x1a")

        @kb.add(Keys.BracketedPaste, filter=command_mode)
        def paste(event: KeyPressEvent) -> None:
            data = event.data
            if "\n" not in data and "\r" not in data:
                self.view.buffer.insert_text(data)
                return
            # A pasted block (a configuration) is typed into the line as it is.
            buffer = self.view.buffer
            text = buffer.text
            buffer.reset()
            self._send(CTRL_E_CTRL_U + text + keys_for_paste(data))

        # Anywhere else: every key goes to the line as the terminal sent it.
        def forward(event: KeyPressEvent) -> None:
            self._send(event.data)

        @kb.add(Keys.Any, filter=raw_mode)
        def forward_printable(event: KeyPressEvent) -> None:
            if event.data.isprintable():
                self._send(event.data)

        @kb.add(Keys.BracketedPaste, filter=raw_mode)
        def forward_paste(event: KeyPressEvent) -> None:
            self._send(keys_for_paste(event.data))

        controls = [f"c-{c}" for c in "abcdefghijklmnopqrstuvwxyz@\\^_"]
        for key in [*controls, "up", "down", "left", "right"]:
            kb.add(key, filter=raw_mode)(forward)
        for key, sent in (("delete", "\x04"), ("home", "\x01"), ("end", "\x05")):
            kb.add(key, filter=raw_mode)(lambda event, sent=sent: self._send(sent))
        return kb

    # --- running -----------------------------------------------------------------------

    def _start(self) -> None:
        self.app.create_background_task(self._printer())
        first = self.view
        self._print([("switch", f"--- {first.name} ---"), *first.backlog])
        first.backlog.clear()

    async def run(self) -> None:
        try:
            await self.app.run_async(
                pre_run=self._start, set_exception_handler=False, handle_sigint=False
            )
        finally:
            for view in self.views:
                view.detach()


async def attach(lab: Lab, names: list[str]) -> None:
    """Attach this terminal to the routers ``names`` of a running lab until the person quits."""
    console = RichConsole(lab, names)
    with contextlib.suppress(EOFError):
        await console.run()
