"""Token kinds of the IOS command language.

A syntax string such as ``standby <0-255> ip A.B.C.D`` is made of tokens. Each token has a
kind that knows how to recognise input text, how far a wrong input got before going wrong
(for the ``^`` caret), how to show itself in ``?`` help, and how strongly it binds
compared with its siblings (a keyword beats a number, a number beats ``WORD``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, ClassVar

# Match strength, highest wins when several siblings accept the same input word.
EXACT = 5  # the whole keyword was typed
PREFIX = 4  # an abbreviation of a keyword
TYPED = 3  # a value of a specific shape: number in range, address, hex, time
WORD = 2  # any word
LINE = 1  # the rest of the line


@dataclass(frozen=True)
class Accepted:
    """The outcome of matching one input word against a token kind."""

    strength: int
    value: Any


class TokenKind:
    """Base class: a kind of token in a syntax string."""

    # How the token appears in ``?`` help and in syntax strings.
    display: str = ""
    # Tokens that bind a value (everything but keywords) are arguments of the handler.
    binds: ClassVar[bool] = True
    default_name: ClassVar[str] = "value"

    def accept(self, text: str) -> Accepted | None:
        raise NotImplementedError

    def partial(self, text: str) -> int:
        """How many leading characters of ``text`` could start a valid input."""
        return 0

    def could_become(self, text: str) -> bool:
        """True if ``text`` is a prefix of some acceptable input (for ``word?`` help)."""
        return self.partial(text) == len(text)

    def key(self) -> tuple[Any, ...]:
        """Identity used to merge equal tokens of different commands into one graph node."""
        return (type(self).__name__, self.display)


class Keyword(TokenKind):
    """A literal word, matched case-insensitively by any unique prefix."""

    binds = False

    def __init__(self, text: str, *, glue: bool = False) -> None:
        self.text = text
        self.display = text
        self.lower = text.lower()
        # A glued keyword may be typed with its following number in the same word,
        # as interface types are (``gi0/0``).
        self.glue = glue

    def accept(self, text: str) -> Accepted | None:
        low = text.lower()
        if low == self.lower:
            return Accepted(EXACT, self.text)
        if self.lower.startswith(low):
            return Accepted(PREFIX, self.text)
        return None

    def partial(self, text: str) -> int:
        low = text.lower()
        n = 0
        for a, b in zip(low, self.lower, strict=False):
            if a != b:
                break
            n += 1
        return n

    def could_become(self, text: str) -> bool:
        return self.lower.startswith(text.lower())

    def key(self) -> tuple[Any, ...]:
        return ("Keyword", self.lower)


class Word(TokenKind):
    display = "WORD"
    default_name = "word"

    def accept(self, text: str) -> Accepted | None:
        return Accepted(WORD, text)

    def partial(self, text: str) -> int:
        return len(text)


class Line(TokenKind):
    """The rest of the input line, spaces included (the matcher hands it the raw text)."""

    display = "LINE"
    default_name = "line"

    def accept(self, text: str) -> Accepted | None:
        return Accepted(LINE, text)

    def partial(self, text: str) -> int:
        return len(text)


_INTEGER = re.compile(r"-?\d+")


def _integer(text: str) -> int | None:
    """``int(text)`` for a string of digits; None when it is too long to be in any range.

    Python refuses to convert strings of more than 4300 digits; a pasted line can hold them.
    """
    digits = text.lstrip("-").lstrip("0") or "0"
    if len(digits) > 30:
        return None
    return -int(digits) if text.startswith("-") else int(digits)


class Range(TokenKind):
    default_name = "number"

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        self.display = f"<{lo}-{hi}>"

    def accept(self, text: str) -> Accepted | None:
        if not _INTEGER.fullmatch(text):
            return None
        value = _integer(text)
        if value is not None and self.lo <= value <= self.hi:
            return Accepted(TYPED, value)
        return None

    def partial(self, text: str) -> int:
        sign = 1 if text[:1] == "-" and self.lo < 0 else 0
        digits = len(text) - sign - len(text[sign:].lstrip("0123456789"))
        if not digits:
            return 0
        value = _integer(text[: sign + digits])
        if value is None or not self.lo <= value <= self.hi:
            return 0
        return sign + digits

    def could_become(self, text: str) -> bool:
        if text == "-":
            return self.lo < 0
        if not _INTEGER.fullmatch(text):
            return False
        value = _integer(text)
        if value is None:
            return False
        # More digits only move a number away from zero.
        return value >= self.lo if text.startswith("-") else value <= self.hi


_IPV4_PREFIX = re.compile(r"^(\d{1,3})(\.(\d{1,3})){0,3}\.?$")


def _ipv4_partial(text: str) -> int:
    """Length of the longest prefix of ``text`` that can start a dotted-quad address."""
    octets = 0
    digits = ""
    for i, ch in enumerate(text):
        if ch.isdigit():
            digits += ch
            if len(digits) > 3 or int(digits) > 255:
                return i - len(digits) + 1
        elif ch == "." and digits and octets < 3:
            octets += 1
            digits = ""
        else:
            return i
    return len(text)


class IPv4(TokenKind):
    display = "A.B.C.D"
    default_name = "address"

    def accept(self, text: str) -> Accepted | None:
        if text.count(".") != 3:
            return None
        try:
            parts = [int(p) for p in text.split(".")]
        except ValueError:
            return None
        if any(not 0 <= p <= 255 for p in parts) or any(not p.isdigit() for p in text.split(".")):
            return None
        return Accepted(TYPED, ipaddress.IPv4Address(".".join(str(p) for p in parts)))

    def partial(self, text: str) -> int:
        return _ipv4_partial(text)


class IPv4Prefix(TokenKind):
    """An address with a prefix length, ``A.B.C.D/nn``."""

    display = "A.B.C.D/nn"
    default_name = "prefix"

    def accept(self, text: str) -> Accepted | None:
        address, slash, length = text.partition("/")
        bits = _integer(length) if re.fullmatch(r"[0-9]+", length) else None
        if not slash or bits is None or bits > 32:
            return None
        ip = IPv4().accept(address)
        if ip is None:
            return None
        return Accepted(TYPED, ipaddress.IPv4Interface(f"{ip.value}/{bits}"))

    def partial(self, text: str) -> int:
        address, slash, length = text.partition("/")
        n = _ipv4_partial(address)
        if n < len(address) or not slash:
            return n
        digits = len(length) - len(length.lstrip("0123456789"))
        bits = _integer(length[:digits]) if digits else 0
        if bits is None or bits > 32:
            return len(address) + 1
        return len(address) + 1 + digits


class Hex(TokenKind):
    display = "HEX"
    default_name = "hex"

    def accept(self, text: str) -> Accepted | None:
        body = text[2:] if text[:2].lower() == "0x" else text
        if body and all(c in "0123456789abcdefABCDEF" for c in body):
            return Accepted(TYPED, body.upper())
        return None

    def partial(self, text: str) -> int:
        skip = 2 if text[:2].lower() == "0x" else 0
        body = text[skip:]
        n = len(body) - len(body.lstrip("0123456789abcdefABCDEF"))
        return skip + n


class Choice(TokenKind):
    """One word out of a fixed list, shown as a placeholder (``MONTH``)."""

    def __init__(self, display: str, words: list[str], name: str) -> None:
        self.display = display
        self.words = words
        self.default_name = name  # type: ignore[misc]

    def accept(self, text: str) -> Accepted | None:
        low = text.lower()
        hits = [i for i, w in enumerate(self.words) if w.lower().startswith(low)]
        exact = [i for i in hits if self.words[i].lower() == low]
        if exact:
            return Accepted(TYPED, exact[0])
        if len(hits) == 1:
            return Accepted(TYPED, hits[0])
        return None

    def partial(self, text: str) -> int:
        return max((Keyword(w).partial(text) for w in self.words), default=0)


class Pattern(TokenKind):
    """A value of a fixed textual shape, checked by a regular expression."""

    def __init__(self, display: str, regex: str, name: str, convert: Any = str) -> None:
        self.display = display
        self.regex = re.compile(regex)
        self.default_name = name  # type: ignore[misc]
        self.convert = convert

    def accept(self, text: str) -> Accepted | None:
        if not self.regex.fullmatch(text):
            return None
        try:
            return Accepted(TYPED, self.convert(text))
        except ValueError:
            return None

    def partial(self, text: str) -> int:
        for n in range(len(text), 0, -1):
            if self.regex.fullmatch(text[:n]) or self._prefix_ok(text[:n]):
                return n
        return 0

    def _prefix_ok(self, text: str) -> bool:
        # A prefix is fine if some completion of it matches; try a few cheap fillers.
        return any(
            self.regex.fullmatch(text + tail) for tail in ("", "0", "00", ":00", "0:00", ":00:00")
        )


# Kinds that syntax strings name by a fixed spelling. Features register more (INTERFACE).
NAMED_KINDS: dict[str, TokenKind] = {
    "WORD": Word(),
    "LINE": Line(),
    "A.B.C.D": IPv4(),
    "A.B.C.D/nn": IPv4Prefix(),
    "HEX": Hex(),
}


def register_kind(spelling: str, kind: TokenKind) -> None:
    """Make ``spelling`` usable in syntax strings as a token of ``kind``."""
    NAMED_KINDS[spelling] = kind


_RANGE = re.compile(r"^<(-?\d+)-(-?\d+)>$")


def kind_for(spelling: str) -> TokenKind:
    """The token kind that a word of a syntax string stands for."""
    if spelling in NAMED_KINDS:
        return NAMED_KINDS[spelling]
    m = _RANGE.match(spelling)
    if m:
        return Range(int(m.group(1)), int(m.group(2)))
    return Keyword(spelling)
