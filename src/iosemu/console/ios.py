"""The IOS line discipline: what a router's terminal line does with each byte, byte-exact.

This is the terminal automation clients talk to (netmiko, scrapli, Ansible, pexpect):
character echo, ``\\r\\n`` line ends, ``?`` and Tab redrawing the line as IOS does,
``--More--`` paging that honours ``terminal length``, Ctrl-Z/Ctrl-C, history, and log
messages breaking into the line (with ``logging synchronous``, the prompt and the typed
text are reprinted after them). No ANSI sequences are ever sent.

Bytes arrive from any number of viewers (telnet connections to the console port, a local
tty); everything the line prints goes to all of them, as on a shared terminal server port.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iosemu.session import Session

Writer = Callable[[bytes], None]

# Keys that are not plain characters.
ENTER = "\r"
UP, DOWN, LEFT, RIGHT = "<up>", "<down>", "<left>", "<right>"
CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E, CTRL_F = "\x01", "\x02", "\x03", "\x04", "\x05", "\x06"
CTRL_K, CTRL_L, CTRL_N, CTRL_P = "\x0b", "\x0c", "\x0e", "\x10"
CTRL_R, CTRL_U, CTRL_W = "\x12", "\x15", "\x17"
CTRL_X, CTRL_Z, CTRL_SHIFT_6 = "\x18", "\x1a", "\x1e"
BACKSPACES = ("\x08", "\x7f")

MORE = " --More-- "
# IOS erases the pager with 9 backspaces, 8 spaces, 9 backspaces (captures of 12.4 and 15.x
# consoles agree): the cursor ends in column 0 and the next line overwrites what is left.
MORE_ERASE = "\b" * 9 + " " * 8 + "\b" * 9


class KeyDecoder:
    """Bytes to keys: UTF-8 text, one Enter per CR/LF/CRLF/CRNUL, arrow escape sequences.

    Other escape sequences (function keys, Delete) are swallowed whole, so none of their
    bytes ends up typed into the line.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._after_cr = False
        self._escape = ""

    def forget_cr(self) -> None:
        self._after_cr = False

    def feed(self, data: bytes) -> list[str]:
        keys: list[str] = []
        for ch in self._utf8.decode(data):
            if self._escape:
                self._escape += ch
                if self._escape in ("\x1b[", "\x1bO"):
                    continue
                if self._escape.startswith("\x1b[") and "0" <= ch <= "?":
                    continue  # parameters of a longer sequence (Delete is ESC [ 3 ~)
                arrow = {"A": UP, "B": DOWN, "C": RIGHT, "D": LEFT}.get(ch)
                self._escape = ""
                self._after_cr = False
                if arrow:
                    keys.append(arrow)
                continue
            if ch == "\x1b":
                self._escape = ch
                continue
            if ch in ("\n", "\x00") and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            keys.append(ENTER if ch in ("\r", "\n") else ch)
        return keys


class IosConsole:
    """A ``LineTerminal`` that speaks bytes, for one terminal line of one router."""

    def __init__(self) -> None:
        self.viewers: list[Writer] = []
        self._decoder = KeyDecoder()
        self._keys: asyncio.Queue[str] = asyncio.Queue()
        self._at_line_start = True
        # What the line shows while waiting for input, to reprint it after a log message.
        self._shown_prompt = ""
        self._buffer = ""
        self._cursor = 0
        self._echo = True
        self._editing = False
        # Paging of command output.
        self.session: Session | None = None
        self._page_lines = 0
        self._held: list[str] = []
        self._discarding = False
        self.logging_synchronous: Callable[[], bool] = lambda: False

    # --- viewers and bytes in ---------------------------------------------------------

    def attach(self, writer: Writer) -> Callable[[], None]:
        self.viewers.append(writer)
        # A new connection's first LF is its own Enter, not the end of the last one's CR LF.
        self._decoder.forget_cr()

        def detach() -> None:
            if writer in self.viewers:
                self.viewers.remove(writer)

        return detach

    def feed(self, data: bytes) -> None:
        for key in self._decoder.feed(data):
            self._keys.put_nowait(key)

    async def _key(self) -> str:
        return await self._keys.get()

    # --- bytes out ------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        if not text:
            return
        self._at_line_start = text.endswith("\n")
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        for writer in list(self.viewers):
            try:
                writer(data)
            except Exception:
                self.viewers.remove(writer)

    def output(self, text: str) -> None:
        if self._discarding:
            return
        if self._held:
            self._held.append(text)
            return
        length = self.session.settings.length if self.session is not None else 0
        if length <= 1:
            self._write(text)
            return
        # A page is length-1 lines and the ``--More--`` line; output arrives in any chunks
        # (often a line at a time), so the page is checked before each line is shown.
        while text:
            if self._page_lines >= length - 1:
                self._held.append(text)
                return
            cut = text.find("\n")
            if cut < 0:
                self._write(text)
                return
            self._write(text[: cut + 1])
            text = text[cut + 1 :]
            self._page_lines += 1

    async def drain(self) -> None:
        """Show held output page by page, waiting at ``--More--`` for a key."""
        while self._held and not self._discarding:
            self._write(MORE)
            key = await self._key()
            self._write(MORE_ERASE)
            length = self.session.settings.length if self.session is not None else 24
            if key == " ":
                self._page_lines = 0
            elif key == ENTER:
                self._page_lines = max(length - 2, 0)
            else:
                # Any other key (q, Ctrl-C, a typed-ahead letter) ends the output: what the
                # command still prints is dropped until the next prompt.
                self._held.clear()
                self._discarding = True
                break
            held, self._held = self._held, []
            for text in held:
                self.output(text)

    def showing_prompt(self, session: Session) -> bool:
        """True while the line waits for a command of ``session`` at its prompt."""
        return self.session is session and self._editing and self._shown_prompt == session.prompt()

    def reset(self) -> None:
        self._held.clear()
        self._discarding = False
        # The session is gone: boot text and the console's own messages are never paged.
        self.session = None
        self._page_lines = 0
        self._buffer = ""
        self._cursor = 0
        self._shown_prompt = ""
        self._editing = False
        while not self._keys.empty():
            self._keys.get_nowait()

    def show_log(self, text: str) -> None:
        """A log message: on its own line; with logging synchronous, the line is redrawn."""
        message = text if text.endswith("\n") else text + "\n"
        if self._editing:
            self._write(("" if self._at_line_start else "\n") + message)
            if self.logging_synchronous():
                self._redraw()
            return
        if not self._at_line_start:
            self._write("\n")
        self._write(message)

    # --- reading ----------------------------------------------------------------------

    def _redraw(self) -> None:
        typed = self._buffer if self._echo else ""
        self._write(
            self._shown_prompt + typed + "\b" * (len(typed) - self._cursor if self._echo else 0)
        )

    def _begin_input(self, prompt: str, initial: str = "", echo: bool = True) -> None:
        self._shown_prompt = prompt
        self._buffer = initial
        self._cursor = len(initial)
        self._echo = echo
        self._editing = True
        self._discarding = False
        self._write(prompt + (initial if echo else ""))
        self._page_lines = 0

    def _end_input(self) -> str:
        self._editing = False
        line = self._buffer
        self._buffer = ""
        self._cursor = 0
        return line

    async def wait_return(self, text: str) -> None:
        self._write(text)
        while await self._key() != ENTER:
            pass
        self._write("\n")

    async def ask(self, prompt: str, echo: bool = True) -> str:
        self._begin_input(prompt, echo=echo)
        while True:
            key = await self._key()
            if key == ENTER:
                self._write("\n")
                return self._end_input()
            if key == CTRL_C:
                self._write("\n")
                self._end_input()
                return ""
            self._edit(key)

    async def ask_key(self, prompt: str) -> str:
        self._begin_input(prompt, echo=False)
        key = await self._key()
        self._end_input()
        self._write("\n")
        return "" if key == ENTER else key

    async def read_command(self, session: Session) -> str:
        self.session = session
        history = session.exec_history if session.mode.name == "exec" else session.config_history
        back = 0
        self._begin_input(session.prompt())
        while True:
            key = await self._key()
            if key == ENTER:
                self._write("\n")
                return self._end_input()
            if key == "?":
                self._help(session)
            elif key == "\t":
                self._move_to(len(self._buffer))
                done = session.complete(self._buffer)
                if done is None:
                    self._write("\n")
                    self._begin_input(session.prompt(), self._buffer)
                elif done.lower().startswith(self._buffer.lower()) and done.startswith(
                    self._buffer
                ):
                    self._insert(done[len(self._buffer) :])
                else:
                    self._replace(done)
            elif key == CTRL_Z:
                if session.mode.name != "exec":
                    self._write("^Z\n")
                    self._end_input()
                    return CTRL_Z
            elif key == CTRL_C:
                self._write("^C\n")
                self._end_input()
                if session.mode.name != "exec":
                    return CTRL_Z
                self._begin_input(session.prompt())
            elif key in (UP, CTRL_P):
                if back < len(history):
                    back += 1
                    self._replace(history[-back])
            elif key in (DOWN, CTRL_N):
                if back > 0:
                    back -= 1
                    self._replace(history[-back] if back else "")
            elif key in (CTRL_R, CTRL_L):  # redisplay the line
                cursor = self._cursor
                self._write("\n")
                self._begin_input(session.prompt(), self._buffer)
                self._move_to(cursor)
            else:
                self._edit(key)

    def _help(self, session: Session) -> None:
        """``?``: help for the text left of the cursor, then the whole line again.

        A list ends with an empty line before the prompt; an error (``% Unrecognized
        command``, ``% Ambiguous command``, the caret) is printed as the session words it.
        """
        cursor = self._cursor
        self._move_to(len(self._buffer))
        self._write("?\n")
        lines = session.help_lines(self._buffer[:cursor])
        is_error = any(line.startswith("%") for line in lines)
        for line in lines:
            self._write(line + "\n")
        if not is_error:
            self._write("\n")
        self._begin_input(session.prompt(), self._buffer)
        self._move_to(cursor)

    # --- editing ----------------------------------------------------------------------

    def _echo_text(self, text: str) -> None:
        if self._echo:
            self._write(text)

    def _insert(self, text: str) -> None:
        tail = self._buffer[self._cursor :]
        self._buffer = self._buffer[: self._cursor] + text + tail
        self._cursor += len(text)
        self._echo_text(text + tail + "\b" * len(tail))

    def _replace(self, text: str) -> None:
        self._kill_line()
        self._insert(text)

    def _kill_line(self) -> None:
        self._move_to(len(self._buffer))
        n = len(self._buffer)
        self._echo_text("\b" * n + " " * n + "\b" * n)
        self._buffer = ""
        self._cursor = 0

    def _move_to(self, position: int) -> None:
        if position < self._cursor:
            self._echo_text("\b" * (self._cursor - position))
        elif position > self._cursor:
            self._echo_text(self._buffer[self._cursor : position])
        self._cursor = position

    def _delete_left(self, count: int) -> None:
        count = min(count, self._cursor)
        if not count:
            return
        tail = self._buffer[self._cursor :]
        self._buffer = self._buffer[: self._cursor - count] + tail
        self._cursor -= count
        self._echo_text("\b" * count + tail + " " * count + "\b" * (len(tail) + count))

    def _edit(self, key: str) -> None:
        if key in BACKSPACES:
            self._delete_left(1)
        elif key in (CTRL_U, CTRL_X):
            self._delete_left(self._cursor)
        elif key == CTRL_W:
            head = self._buffer[: self._cursor]
            stripped = head.rstrip()
            word_start = len(stripped) - len(stripped.split(" ")[-1]) if stripped else 0
            self._delete_left(self._cursor - word_start)
        elif key == CTRL_K:
            tail = len(self._buffer) - self._cursor
            self._echo_text(" " * tail + "\b" * tail)
            self._buffer = self._buffer[: self._cursor]
        elif key in (CTRL_A,):
            self._move_to(0)
        elif key == CTRL_E:
            self._move_to(len(self._buffer))
        elif key in (CTRL_B, LEFT):
            self._move_to(max(self._cursor - 1, 0))
        elif key in (CTRL_F, RIGHT):
            self._move_to(min(self._cursor + 1, len(self._buffer)))
        elif key == CTRL_D:
            if self._cursor < len(self._buffer):
                self._move_to(self._cursor + 1)
                self._delete_left(1)
        elif len(key) == 1 and (key.isprintable() or key == "\t"):
            self._insert(key)
