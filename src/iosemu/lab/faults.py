"""Faults a lab can inject: power, cables, partitions. Their two spellings, and nothing else.

A fault is said two ways, one per place where people inject them:

* a **command**, for the rich console's fault prompt (F5) and ``Lab.inject``::

      power-off CA-server-2            power-on CA-server-2
      unplug CA-server-1 Gi0/0         plug CA-server-1 Gi0/0
      partition CA-server-1 | CA-server-2 Host
      heal

* **prose**, for transcript directives (``[... CA-server-2 loses power ...]``)::

      CA-server-2 loses power          CA-server-2 is powered on
      the cable of CA-server-1 Gi0/0 is pulled
      the cable of CA-server-1 Gi0/0 is plugged back [in]
      the segment splits: CA-server-1 | CA-server-2 Host
      the segment heals

Both parse to the same ``Fault``. This module only reads the words: whether the router,
the interface or the segment exist is the lab's business (``Lab.inject``), which raises
``FaultError`` with a message meant for a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["power-off", "power-on", "unplug", "plug", "partition", "heal"]

# Command words, with what follows them (for help and error messages).
COMMANDS: dict[FaultKind, str] = {
    "power-off": "ROUTER",
    "power-on": "ROUTER",
    "unplug": "ROUTER INTERFACE",
    "plug": "ROUTER INTERFACE",
    "partition": "MEMBER... | MEMBER... [| ...]",
    "heal": "",
}
PROSE_FORMS = [
    "ROUTER loses power",
    "ROUTER is powered on",
    "the cable of ROUTER INTERFACE is pulled",
    "the cable of ROUTER INTERFACE is plugged back [in]",
    "the segment splits: MEMBER... | MEMBER...",
    "the segment heals",
]


class FaultError(ValueError):
    """A fault that is malformed or cannot be injected; the message is for a person."""


@dataclass(frozen=True)
class Fault:
    """One fault. ``groups`` (partition) hold members: ``ROUTER`` or ``ROUTER:INTERFACE``."""

    kind: FaultKind
    router: str = ""
    interface: str = ""
    groups: tuple[tuple[str, ...], ...] = ()

    def command(self) -> str:
        """The fault as typed at the rich console's fault prompt."""
        if self.kind in ("power-off", "power-on"):
            return f"{self.kind} {self.router}"
        if self.kind in ("unplug", "plug"):
            return f"{self.kind} {self.router} {self.interface}"
        if self.kind == "partition":
            return "partition " + _groups_text(self.groups)
        return "heal"

    def prose(self) -> str:
        """The fault as a transcript directive says it (between ``[...`` and ``...]``)."""
        if self.kind == "power-off":
            return f"{self.router} loses power"
        if self.kind == "power-on":
            return f"{self.router} is powered on"
        if self.kind == "unplug":
            return f"the cable of {self.router} {self.interface} is pulled"
        if self.kind == "plug":
            return f"the cable of {self.router} {self.interface} is plugged back in"
        if self.kind == "partition":
            return "the segment splits: " + _groups_text(self.groups)
        return "the segment heals"

    def __str__(self) -> str:
        return self.command()


def _groups_text(groups: tuple[tuple[str, ...], ...]) -> str:
    return " | ".join(" ".join(group) for group in groups)


def parse_groups(text: str) -> tuple[tuple[str, ...], ...]:
    """``A | B C`` -> ``(("A",), ("B", "C"))``: at least two groups, none empty."""
    groups = tuple(tuple(part.split()) for part in text.split("|"))
    if len(groups) < 2:
        raise FaultError("a partition needs at least two groups separated by '|'")
    if any(not group for group in groups):
        raise FaultError("a group of the partition is empty (two '|' in a row, or one at an end)")
    return groups


def usage() -> str:
    return ", ".join(f"{word} {args}".rstrip() for word, args in COMMANDS.items())


def parse_command(text: str) -> Fault:
    """A fault command (``power-off CA-server-2``); raises ``FaultError`` for a bad one."""
    words = text.split()
    if not words:
        raise FaultError("no fault given; the faults are: " + usage())
    word, args = words[0].lower(), words[1:]
    if word not in COMMANDS:
        raise FaultError(f"unknown fault {words[0]!r}; the faults are: " + usage())
    kind: FaultKind = word  # type: ignore[assignment]
    if kind == "partition":
        return Fault(kind, groups=parse_groups(text.split(None, 1)[1] if args else ""))
    wanted = len(COMMANDS[kind].split())
    if len(args) != wanted:
        form = f"{kind} {COMMANDS[kind]}".rstrip()
        got = "nothing" if not args else " ".join(args)
        raise FaultError(f"{kind} takes {COMMANDS[kind] or 'nothing'} ({form}), not {got}")
    if kind in ("power-off", "power-on"):
        return Fault(kind, router=args[0])
    if kind in ("unplug", "plug"):
        return Fault(kind, router=args[0], interface=args[1])
    return Fault(kind)


_NAME = r"(?P<router>[^\s|:]+)"
_PROSE: list[tuple[FaultKind, re.Pattern[str]]] = [
    ("power-off", re.compile(rf"{_NAME} loses power")),
    ("power-on", re.compile(rf"{_NAME} is powered on")),
    ("unplug", re.compile(rf"the cable of {_NAME} (?P<interface>\S+) is pulled")),
    ("plug", re.compile(rf"the cable of {_NAME} (?P<interface>\S+) is plugged back(?: in)?")),
    ("partition", re.compile(r"the segment splits: (?P<groups>.+)")),
    ("heal", re.compile(r"the segment heals")),
]


def parse_prose(text: str) -> Fault | None:
    """The fault a directive's words describe; None if they describe no fault.

    Raises ``FaultError`` for words that are a fault but malformed (an empty group).
    """
    text = " ".join(text.split())
    for kind, pattern in _PROSE:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        found = m.groupdict()
        if kind == "partition":
            return Fault(kind, groups=parse_groups(found["groups"]))
        return Fault(kind, router=found.get("router") or "", interface=found.get("interface") or "")
    return None
