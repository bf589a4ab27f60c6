"""Output modifiers: ``| include``, ``| exclude``, ``| begin``, ``| section``, ``| count``.

Filters see output line by line as a command writes it, so streaming output (ping) stays
streaming where the filter allows. IOS regular expressions are POSIX-like; ``_`` also
matches a delimiter (start, end, space, comma, braces, parentheses).
"""

from __future__ import annotations

import re

_UNDERSCORE = r"(?:^|$|[ ,{}()])"


def ios_regex(pattern: str) -> re.Pattern[str] | None:
    """Compile an IOS regular expression; None when it is malformed."""
    out = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "_":
            out.append(_UNDERSCORE)
        else:
            out.append(ch)
    if escaped:
        out.append("\\\\")
    try:
        return re.compile("".join(out))
    except re.error:
        return None


class OutputFilter:
    """Feeds text in, gives the filtered text out."""

    def __init__(self, kind: str, regex: re.Pattern[str]) -> None:
        self.kind = kind
        self.regex = regex
        self._partial = ""
        self._begun = False
        self._in_section = False
        self._count = 0

    def feed(self, text: str) -> str:
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()
        return "".join(line + "\n" for line in lines if self._keep(line))

    def finish(self) -> str:
        out = ""
        if self._partial:
            if self._keep(self._partial):
                out = self._partial + "\n"
            self._partial = ""
        if self.kind == "count":
            out += f"Number of lines which match regexp = {self._count}\n"
        return out

    def _keep(self, line: str) -> bool:
        hit = self.regex.search(line) is not None
        if self.kind == "include":
            return hit
        if self.kind == "exclude":
            return not hit
        if self.kind == "begin":
            self._begun = self._begun or hit
            return self._begun
        if self.kind == "count":
            self._count += hit
            return False
        # section: a matching top-level line opens a section that takes its indented
        # children; a matching indented line is shown on its own.
        if line[:1] not in (" ", ""):
            self._in_section = hit
            return hit
        if line == "":
            return False
        return self._in_section or hit
