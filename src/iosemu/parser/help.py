"""``?`` help and Tab completion from a command graph (pure functions).

Two forms of ``?``, as on IOS:

* after a space (``show ?``): every word allowed next, two columns, ``<cr>`` last when the
  line is already a command;
* glued to a word (``sh?``): the words that start with what was typed, on one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from iosemu.parser.grammar import Node
from iosemu.parser.match import Failed, Path, _glue_split, split_words, walk
from iosemu.parser.tokens import Keyword


@dataclass
class HelpEntry:
    word: str
    text: str


@dataclass
class HelpList:
    """The answer to ``?``: entries in two columns, or words on one line."""

    entries: list[HelpEntry]
    partial: bool  # the ``word?`` form


def _sort_key(entry: HelpEntry) -> tuple[int, str]:
    if entry.word == "<cr>":
        return (2, "")
    return (0, entry.word)


def _entries(paths: list[Path], accept: str | None) -> list[HelpEntry]:
    seen: dict[str, HelpEntry] = {}
    for p in paths:
        for ch in p.node.children:
            assert ch.kind is not None
            if ch.hidden or (accept is not None and not ch.kind.could_become(accept)):
                continue
            word = ch.kind.display
            if word not in seen:
                seen[word] = HelpEntry(word, ch.help)
    return list(seen.values())


def help_for(root: Node, text: str) -> HelpList | Failed:
    """What ``?`` typed after ``text`` lists."""
    words = split_words(text)
    if not text or text[-1].isspace():
        paths, failed = walk(root, text, words)
        if failed is not None:
            return failed
        entries = _entries(paths, None)
        if any(p.node.end is not None and p.node is not root for p in paths):
            entries.append(HelpEntry("<cr>", ""))
        return HelpList(sorted(entries, key=_sort_key), partial=False)
    paths, failed = walk(root, text, words[:-1])
    if failed is not None:
        return failed
    entries = _entries(paths, words[-1].text)
    split = None if entries else _glue_split(paths, words[-1])
    if split is not None:
        # ``gi0/?``: the interface type glued to the start of its number.
        paths, failed = walk(root, text, [*words[:-1], split[0]])
        if failed is None:
            entries = _entries(paths, split[1].text)
    if not entries:
        return Failed("invalid", words[-1].start, len(words) - 1)
    return HelpList(sorted(entries, key=_sort_key), partial=True)


def format_help(result: HelpList, width: int = 80) -> list[str]:
    """Lines of ``?`` output (without the redisplayed prompt)."""
    if result.partial:
        lines: list[str] = []
        cur = ""
        for e in result.entries:
            piece = e.word
            if cur and len(cur) + 2 + len(piece) > max(width - 1, 20):
                lines.append(cur)
                cur = piece
            else:
                cur = f"{cur}  {piece}" if cur else piece
        if cur:
            lines.append(cur)
        return lines
    # ``<cr>`` has no description and does not widen the column (``  |  Output modifiers``).
    col = max((len(e.word) for e in result.entries if e.word != "<cr>"), default=0) + 2
    return [f"  {e.word.ljust(col)}{e.text}".rstrip() for e in result.entries]


def complete(root: Node, text: str) -> str | None:
    """The line after Tab: the last word finished to its unique keyword, else None."""
    if not text or text[-1].isspace():
        return None
    words = split_words(text)
    paths, failed = walk(root, text, words[:-1])
    if failed is not None:
        return None
    last = words[-1]
    keywords: dict[str, str] = {}
    for p in paths:
        for ch in p.node.children:
            if isinstance(ch.kind, Keyword) and not ch.hidden and ch.kind.could_become(last.text):
                keywords[ch.kind.lower] = ch.kind.text
    if last.text.lower() in keywords:
        choice = keywords[last.text.lower()]
    elif len(keywords) == 1:
        choice = next(iter(keywords.values()))
    else:
        return None
    return text[: last.start] + choice + " "
