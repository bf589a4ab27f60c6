"""Executable Markdown transcripts: parsing, wildcard matching and alignment (pure, no I/O).

A transcript is prose plus fenced ``ios`` blocks that show consoles as a reader sees them.
This module knows the format only: which lines are directives, what the wildcards mean, and
how an expected block lines up with what the lab printed. Which lines are *input* is decided
while the block runs (it depends on the routers' live prompts), so it lives in the runner.
See docs/transcripts.md for the format as writers know it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from iosemu.lab.faults import PROSE_FORMS, Fault, FaultError, parse_prose

DEFAULT_LAB = "pki-ha"
DOTS = "..."
REGEX_SUFFIX = " (re)"
SECRET = re.compile(r"\{\{(.*?)\}\}")

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\[\.\.\.\s+(?P<body>.+?)\s+\.\.\.\]$")
_UNTIL = re.compile(r'^until\s+"(?P<text>.+)"$')
_LATER = re.compile(
    r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?"
    r"|h|hours?)\s+later$"
)
_HEADER = re.compile(r"<!--(?P<body>.*?)-->", re.DOTALL)


class TranscriptError(Exception):
    """The transcript itself is malformed (reported with its file and line)."""

    def __init__(self, message: str, path: Path | None = None, lineno: int | None = None) -> None:
        self.message = message
        self.path = path
        self.lineno = lineno
        where = f"{path}:{lineno}: " if path is not None and lineno is not None else ""
        super().__init__(where + message)


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Directive:
    """A ``[... WHAT ...]`` line: run the lab (``later``, ``until``) or inject a ``fault``."""

    kind: Literal["later", "until", "fault"]
    seconds: float = 0.0
    text: str = ""
    fault: Fault | None = None


@dataclass
class SourceLine:
    """One line inside an ``ios`` block, as written (without its line end)."""

    text: str
    lineno: int  # 1-based line number in the file
    directive: Directive | None = None


@dataclass
class Block:
    """One fenced ``ios`` block; ``lines`` are the lines between its fences."""

    start: int  # line number of the opening fence
    end: int  # line number of the closing fence (one past the file when unclosed)
    lines: list[SourceLine] = field(default_factory=list)

    @property
    def body_start(self) -> int:
        """Line number of the first line inside the fences."""
        return self.start + 1


@dataclass
class Transcript:
    path: Path
    lines: list[str]  # the whole file, without line ends
    lab: str = DEFAULT_LAB
    blocks: list[Block] = field(default_factory=list)
    newline_at_end: bool = True

    def lab_ref(self) -> str:
        """A built-in lab name, or the lab file's path resolved against the transcript's folder."""
        from iosemu.lab.topology import BUILTIN_LABS

        if self.lab in BUILTIN_LABS:
            return self.lab
        return str((self.path.parent / self.lab).resolve())

    def with_blocks_replaced(self, bodies: dict[int, list[str]]) -> str:
        """The file's text with the bodies of some blocks (by index) replaced."""
        out: list[str] = []
        cursor = 0  # 0-based index of the next file line to copy
        for index, block in enumerate(self.blocks):
            if index not in bodies:
                continue
            first = block.body_start - 1
            out.extend(self.lines[cursor:first])
            out.extend(bodies[index])
            cursor = min(block.end - 1, len(self.lines))
        out.extend(self.lines[cursor:])
        return "\n".join(out) + ("\n" if self.newline_at_end else "")


def _unit(word: str) -> float:
    if word.startswith(("ms", "milli")):
        return 0.001
    return {"s": 1.0, "m": 60.0, "h": 3600.0}[word[0]]


def parse_directive(text: str) -> Directive | None:
    """The directive a line is, None for any other line; raises on a malformed one."""
    m = _DIRECTIVE.match(text.strip())
    if m is None:
        return None
    body = m.group("body").strip()
    until = _UNTIL.match(body)
    if until:
        return Directive("until", text=until.group("text"))
    later = _LATER.match(body)
    if later:
        return Directive("later", seconds=float(later.group("n")) * _unit(later.group("unit")))
    try:
        fault = parse_prose(body)
    except FaultError as e:
        raise ValueError(f"bad directive {text.strip()!r}: {e}") from None
    if fault is not None:
        return Directive("fault", fault=fault)
    forms = ["N seconds later", 'until "TEXT"', *PROSE_FORMS]
    raise ValueError(
        f"unknown directive {text.strip()!r}; a directive is [... WHAT ...] with WHAT one of: "
        + "; ".join(forms)
    )


def _parse_header(text: str, path: Path) -> str:
    m = _HEADER.search(text)
    if m is None:
        return DEFAULT_LAB
    body = m.group("body").strip()
    if not body.startswith("iosemu:"):
        return DEFAULT_LAB
    lineno = text[: m.start()].count("\n") + 1
    lab = DEFAULT_LAB
    for word in shlex.split(body[len("iosemu:") :]):
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise TranscriptError(
                f"expected key=value in the iosemu comment, got {word!r}", path, lineno
            )
        if key != "lab":
            raise TranscriptError(f"unknown setting {key!r} in the iosemu comment", path, lineno)
        lab = value
    return lab


def parse(text: str, path: Path | str = "<transcript>") -> Transcript:
    """Split a Markdown transcript into its ``ios`` blocks (other fences are skipped)."""
    path = Path(path)
    lines = text.splitlines()
    transcript = Transcript(
        path, lines, _parse_header(text, path), newline_at_end=text.endswith(("\n", "\r"))
    )
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if m is None:
            i += 1
            continue
        fence = m.group("fence")
        info = m.group("info").strip()
        if fence[0] == "`" and "`" in info:
            i += 1  # inline code that happens to start a line, not a fence
            continue
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        language = info.split()[0].lower() if info else ""
        if language == "ios":
            block = Block(start=i + 1, end=j + 1)
            for k in range(i + 1, j):
                try:
                    directive = parse_directive(lines[k])
                except ValueError as e:
                    raise TranscriptError(str(e), path, k + 1) from None
                block.lines.append(SourceLine(lines[k], k + 1, directive))
            transcript.blocks.append(block)
        i = j + 1
    return transcript


def load(path: Path | str) -> Transcript:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path)


def strip_secrets(text: str) -> str:
    """What the reader sees of a typed line: ``{{hidden}}`` parts removed."""
    return SECRET.sub("", text)


def reveal_secrets(text: str) -> str:
    """What is typed: ``{{hidden}}`` parts without their braces."""
    return SECRET.sub(lambda m: m.group(1), text)


# --------------------------------------------------------------------------- matching


class Pattern:
    """An expected line: a literal, a line with ``[..]`` wildcards, a ``(re)`` regex, ``...``."""

    def __init__(self, text: str, *, literal: bool = False) -> None:
        self.text = text.rstrip()
        self.kind: Literal["literal", "glob", "re", "dots"] = "literal"
        self._regex: re.Pattern[str] | None = None
        if literal:
            return
        if self.text == DOTS:
            self.kind = "dots"
        elif self.text.endswith(REGEX_SUFFIX):
            self.kind = "re"
            try:
                self._regex = re.compile(self.text[: -len(REGEX_SUFFIX)])
            except re.error as e:
                raise ValueError(f"bad regular expression: {e}") from None
        elif "[..]" in self.text:
            self.kind = "glob"
            self._regex = re.compile(".*".join(re.escape(p) for p in self.text.split("[..]")))

    @property
    def is_wildcard(self) -> bool:
        return self.kind != "literal"

    def matches(self, actual: str) -> bool:
        actual = actual.rstrip()
        if self.kind == "literal":
            return self.text == actual
        if self.kind == "dots":
            return True
        assert self._regex is not None
        return self._regex.fullmatch(actual) is not None


Op = tuple[Literal["match", "del", "ins", "absorb", "skip"], int, int]


@dataclass
class Alignment:
    """How expected lines line up with actual ones; ``cost`` 0 means the block passes."""

    cost: int
    ops: list[Op]


def align(expected: Sequence[Pattern], actual: Sequence[str]) -> Alignment:
    """Edit-distance alignment where ``...`` absorbs any run of actual lines for free."""
    n, m = len(expected), len(actual)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        cost[n][j] = m - j
    matches: dict[tuple[int, int], bool] = {}

    def ok(i: int, j: int) -> bool:
        key = (i, j)
        if key not in matches:
            matches[key] = expected[i].matches(actual[j])
        return matches[key]

    for i in range(n - 1, -1, -1):
        dots = expected[i].kind == "dots"
        row, below = cost[i], cost[i + 1]
        row[m] = below[m] + (0 if dots else 1)
        for j in range(m - 1, -1, -1):
            if dots:
                best = min(below[j], row[j + 1])
            else:
                best = min(below[j] + 1, row[j + 1] + 1)
                if below[j + 1] < best and ok(i, j):
                    best = below[j + 1]
            row[j] = best
    ops: list[Op] = []
    i = j = 0
    while i < n or j < m:
        here = cost[i][j]
        if i == n:
            ops.append(("ins", -1, j))
            j += 1
            continue
        dots = expected[i].kind == "dots"
        if j == m:
            ops.append(("skip" if dots else "del", i, -1))
            i += 1
            continue
        if dots:  # lazily: show a following line as matched rather than swallowed
            if cost[i + 1][j] == here:
                ops.append(("skip", i, -1))
                i += 1
            else:
                ops.append(("absorb", i, j))
                j += 1
            continue
        if cost[i + 1][j + 1] == here and ok(i, j):
            ops.append(("match", i, j))
            i += 1
            j += 1
        elif cost[i + 1][j] + 1 == here:
            ops.append(("del", i, -1))
            i += 1
        else:
            ops.append(("ins", i, j))
            j += 1
    return Alignment(cost[0][0], ops)
