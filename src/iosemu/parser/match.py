"""The matcher: a pure function from a typed line and a command graph to a command or an error.

IOS rules it follows:

* every word is matched against the words allowed at that point; a whole keyword beats an
  abbreviation, an abbreviation beats a typed value (number, address), which beats ``WORD``;
* an abbreviation that fits two keywords is ambiguous, unless one was typed in full;
* on a word nothing accepts, the caret goes under the first character that could not be
  accepted (``hostnane`` is wrong at its second ``n``);
* a line that stops before any command ends is incomplete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from iosemu.parser.grammar import CommandRef, Node
from iosemu.parser.tokens import EXACT, LINE, PREFIX, Keyword, Line


@dataclass(frozen=True)
class InputWord:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def split_words(line: str) -> list[InputWord]:
    return [InputWord(m.group(), m.start()) for m in re.finditer(r"\S+", line)]


@dataclass
class Path:
    node: Node
    args: dict[str, Any] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    via_do: bool = False
    pipe_from: CommandRef | None = None


@dataclass
class Matched:
    ref: CommandRef
    args: dict[str, Any]
    keywords: tuple[str, ...]
    via_do: bool = False
    filter: tuple[str, str] | None = None  # (include|exclude|begin|section|count, regex)


@dataclass
class Failed:
    reason: Literal["invalid", "incomplete", "ambiguous"]
    column: int  # where the caret goes, counted in the typed line
    word_index: int


@dataclass
class _Candidate:
    strength: int
    path: Path
    child: Node
    value: Any


def _candidates(paths: list[Path], word: InputWord, line: str) -> list[_Candidate]:
    out = []
    for p in paths:
        for ch in p.node.children:
            assert ch.kind is not None
            if isinstance(ch.kind, Line):
                out.append(_Candidate(LINE, p, ch, line[word.start :].rstrip()))
                continue
            acc = ch.kind.accept(word.text)
            if acc is not None:
                out.append(_Candidate(acc.strength, p, ch, acc.value))
    return out


def _advance(c: _Candidate) -> Path:
    p, ch = c.path, c.child
    args = dict(p.args)
    keywords = p.keywords
    if ch.name:
        args[ch.name] = c.value
    if isinstance(ch.kind, Keyword):
        keywords = (*keywords, ch.kind.text)
        if ch.group:
            args[ch.group] = ch.kind.text
    return Path(
        ch,
        args,
        keywords,
        via_do=p.via_do or ch.marker == "do",
        pipe_from=p.node.end if ch.marker == "pipe" else p.pipe_from,
    )


_GLUE = re.compile(r"^([A-Za-z][A-Za-z-]*)(\d.*)$")


def _glue_split(paths: list[Path], word: InputWord) -> list[InputWord] | None:
    """Split ``gi0/0`` into ``gi`` and ``0/0`` when a glued keyword takes the letters."""
    m = _GLUE.match(word.text)
    if not m:
        return None
    letters = m.group(1)
    for p in paths:
        for ch in p.node.children:
            if isinstance(ch.kind, Keyword) and ch.kind.glue and ch.kind.accept(letters):
                return [
                    InputWord(letters, word.start),
                    InputWord(m.group(2), m.start(2) + word.start),
                ]
    return None


def _caret(paths: list[Path], word: InputWord) -> int:
    best = 0
    for p in paths:
        for ch in p.node.children:
            assert ch.kind is not None
            n = ch.kind.partial(word.text)
            if not isinstance(ch.kind, Keyword) and n == len(word.text):
                n = 0  # a value that is only a beginning is wrong from its first character
            best = max(best, n)
    return word.start + best


def walk(root: Node, line: str, words: list[InputWord]) -> tuple[list[Path], Failed | None]:
    """Follow ``words`` through the graph; return the paths reached or why it failed."""
    paths = [Path(root)]
    words = list(words)
    i = 0
    while i < len(words):
        word = words[i]
        cands = _candidates(paths, word, line)
        if not cands:
            split = _glue_split(paths, word)
            if split is not None:
                words[i : i + 1] = split
                continue
            return paths, Failed("invalid", _caret(paths, word), i)
        best = max(c.strength for c in cands)
        chosen = [c for c in cands if c.strength == best]
        if best == PREFIX:
            texts = {c.child.kind.key() for c in chosen if c.child.kind is not None}
            if len(texts) > 1:
                return paths, Failed("ambiguous", word.start, i)
        if best not in (EXACT, PREFIX):
            # Equal typed values on several nodes: keep them all, each binds its own name.
            pass
        paths = [_advance(c) for c in chosen]
        if best == LINE:
            break
        i += 1
    return paths, None


def match(root: Node, line: str) -> Matched | Failed:
    """Match a whole typed line against a mode's graph."""
    words = split_words(line)
    paths, failed = walk(root, line, words)
    if failed is not None:
        return failed
    for p in paths:
        if p.node.end is None:
            continue
        if p.pipe_from is not None:
            args = dict(p.args)
            f = (args.pop("filter"), args.pop("regex"))
            return Matched(p.pipe_from, args, p.keywords, p.via_do, f)
        return Matched(p.node.end, p.args, p.keywords, p.via_do)
    return Failed("incomplete", len(line.rstrip()), len(words))
