"""Commands declared as IOS syntax strings, compiled into one graph per mode.

A command is written once, beside its handler::

    @command(INTERFACE, "[no] standby <0-255>$group ip A.B.C.D$address",
             help="HSRP interface configuration commands|group number|"
                  "Enable HSRP and set the virtual IP address|Virtual IP address")
    def standby_ip(ctx, group: int, address: IPv4Address) -> None: ...

Syntax: words are keywords unless they name a kind (``WORD``, ``LINE``, ``A.B.C.D``,
``<lo-hi>``, ``HEX``, ``INTERFACE``, ...). ``[x]`` is optional, ``{a|b}`` a required
choice, ``[a|b]*`` any number of the alternatives in any order. ``$name`` after a token
or a group names the handler argument that receives it. ``[no]`` in front gives the
command its ``no`` and ``default`` forms; in those forms the trailing arguments may be left
out unless ``no_syntax`` spells the form out.

``help`` holds one text per token in the order the tokens appear, separated by ``|``. An
empty text reuses the help already given for the same word at the same place, or the
shared help of common words (``show``, ``no``, ``ip`` ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from iosemu.parser.tokens import Keyword, TokenKind, kind_for

# --------------------------------------------------------------------------- modes


@dataclass(eq=False)
class Mode:
    """A command mode: its own command graph and its prompt."""

    name: str  # our name, also IOS's internal parser mode name where known
    prompt: str  # what goes between the hostname and '#': "(config-if)"
    parent: Mode | None = None
    # A raw mode takes whole lines as data (certificate hex) instead of commands.
    raw: bool = False

    def __repr__(self) -> str:
        return f"Mode({self.name})"

    def ancestors(self) -> list[Mode]:
        out = []
        mode = self.parent
        while mode is not None:
            out.append(mode)
            mode = mode.parent
        return out

    @property
    def is_config(self) -> bool:
        return self is CONFIG or CONFIG in self.ancestors()


EXEC = Mode("exec", "")
CONFIG = Mode("configure", "(config)", parent=None)

# --------------------------------------------------------------------------- syntax AST


@dataclass
class Tok:
    kind: TokenKind
    name: str | None
    help: str = ""


@dataclass
class Group:
    alts: list[list[Elem]]
    optional: bool
    repeat: bool = False
    name: str | None = None


Elem = Tok | Group

_LEX = re.compile(r"\]\*|[\[\]{}|]|[^\s\[\]{}|]+")


def parse_syntax(syntax: str) -> list[Elem]:
    """Parse a syntax string into a list of elements."""
    words = _LEX.findall(syntax)
    pos = 0

    def seq(stop: set[str]) -> list[Elem]:
        nonlocal pos
        out: list[Elem] = []
        while pos < len(words) and words[pos] not in stop:
            w = words[pos]
            pos += 1
            if w in ("[", "{"):
                close = "]" if w == "[" else "}"
                alts = [seq({"|", "]", "]*", "}"})]
                while pos < len(words) and words[pos] == "|":
                    pos += 1
                    alts.append(seq({"|", "]", "]*", "}"}))
                if pos >= len(words) or words[pos] not in (close, close + "*"):
                    raise SyntaxError(f"unbalanced {w!r} in {syntax!r}")
                repeat = words[pos] == "]*"
                pos += 1
                group = Group(alts, optional=(w == "["), repeat=repeat)
                if pos < len(words) and words[pos].startswith("$"):
                    group.name = words[pos][1:]
                    pos += 1
                out.append(group)
            elif w in ("]", "]*", "}", "|"):
                raise SyntaxError(f"unexpected {w!r} in {syntax!r}")
            else:
                spelling, _, name = w.partition("$")
                out.append(Tok(kind_for(spelling), name or None))
        return out

    result = seq(set())
    if pos != len(words):
        raise SyntaxError(f"unexpected {words[pos]!r} in {syntax!r}")
    return result


def tokens_of(elems: Iterable[Elem]) -> Iterable[Tok]:
    for e in elems:
        if isinstance(e, Tok):
            yield e
        else:
            for alt in e.alts:
                yield from tokens_of(alt)


# --------------------------------------------------------------------------- commands


@dataclass(eq=False)
class Command:
    mode: Mode
    syntax: str
    handler: Callable[..., Any]
    help: list[str]
    priv: int = 15
    pipe: bool = False
    no_syntax: str | None = None
    hidden: bool = False

    def __repr__(self) -> str:
        return f"Command({self.mode.name}: {self.syntax!r})"


@dataclass(frozen=True)
class CommandRef:
    """What a graph node that ends a command runs, and in which form."""

    command: Command
    negate: bool = False
    default: bool = False


REGISTRY: list[Command] = []

# Help of words that many commands share, written once.
SHARED_HELP: dict[str, str] = {
    "show": "Show running system information",
    "no": "Negate a command or set its defaults",
    "default": "Set a command to its defaults",
    "ip": "Global IP configuration subcommands",
    "crypto": "Encryption module",
    "pki": "Public Key components",
    "debug": "Debugging functions (see also 'undebug')",
    "undebug": "Disable debugging functions (see also 'debug')",
    "interface": "Select an interface to configure",
    "line": "Configure a terminal line",
    "logging": "Modify message logging facilities",
    "service": "Modify use of network based services",
    "clock": "Configure time-of-day clock",
    "terminal": "Set terminal line parameters",
    "all": "Enable all debugging",
}

_SHOW_LIKE = {"show", "more", "dir"}


def command(
    mode: Mode,
    syntax: str,
    *,
    help: str | list[str] = "",
    priv: int = 15,
    pipe: bool | None = None,
    no_syntax: str | None = None,
    hidden: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a command of ``mode`` with an IOS syntax string and per-token help."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        helps = help.split("|") if isinstance(help, str) else list(help)
        first = syntax.split()[0].strip("[]").split("|")[0]
        REGISTRY.append(
            Command(
                mode,
                syntax,
                handler,
                helps,
                priv=priv,
                pipe=(first in _SHOW_LIKE) if pipe is None else pipe,
                no_syntax=no_syntax,
                hidden=hidden,
            )
        )
        return handler

    return register


# --------------------------------------------------------------------------- graph


@dataclass(eq=False)
class Node:
    kind: TokenKind | None
    help: str = ""
    name: str | None = None  # argument bound by this node
    group: str | None = None  # argument bound to the keyword of an alternative group
    children: list[Node] = field(default_factory=list)
    end: CommandRef | None = None
    # Set on the ``|`` node that starts output filters, and on the ``do`` node.
    marker: str | None = None
    # Only hidden commands pass here: it matches, but ``?`` and Tab do not offer it.
    hidden: bool = False

    def __repr__(self) -> str:
        label = self.kind.display if self.kind else "ROOT"
        return f"Node({label})"

    def child_like(self, kind: TokenKind, name: str | None, group: str | None) -> Node | None:
        for ch in self.children:
            if (
                ch.kind is not None
                and ch.marker is None
                and ch.kind.key() == kind.key()
                and ch.name == name
                and ch.group == group
            ):
                return ch
        return None


class Composite(TokenKind):
    """A token that stands for several graph steps, such as an interface name.

    ``alternatives`` gives, per way of spelling it, the sequence of (kind, help) steps; the
    last step binds the value.
    """

    def alternatives(self) -> list[list[tuple[TokenKind, str]]]:
        raise NotImplementedError

    def accept(self, text: str) -> None:  # never matched directly
        return None


class GraphBuilder:
    def __init__(self, root: Node) -> None:
        self.root = root
        # Whether the command being attached is hidden (its new nodes are).
        self.hidden = False

    def attach(self, elems: list[Elem], starts: list[Node], group: str | None = None) -> list[Node]:
        ends = starts
        for e in elems:
            ends = self._attach_one(e, ends, group)
        return ends

    def _attach_one(self, e: Elem, starts: list[Node], group: str | None) -> list[Node]:
        if isinstance(e, Tok):
            if isinstance(e.kind, Composite):
                return self._attach_composite(e, starts)
            name = (e.name or e.kind.default_name) if e.kind.binds else None
            return self._attach_token(e.kind, name, group, e.help, starts)
        ends: list[Node] = []
        firsts: list[Node] = []
        for alt in e.alts:
            if not alt:
                continue
            keyword_group = e.name if len(alt) == 1 and isinstance(alt[0], Tok) else None
            head = self._attach_one(alt[0], starts, keyword_group)
            firsts += [n for n in head if n not in firsts]
            alt_ends = self.attach(alt[1:], head, keyword_group)
            ends += [n for n in alt_ends if n not in ends]
        if e.repeat:
            # Any number of the alternatives: every end may start another one.
            for n in ends:
                n.children += [f for f in firsts if f not in n.children]
        if e.optional:
            ends += [s for s in starts if s not in ends]
        return ends

    def _attach_token(
        self,
        kind: TokenKind,
        name: str | None,
        group: str | None,
        help_text: str,
        starts: list[Node],
    ) -> list[Node]:
        out: list[Node] = []
        for s in starts:
            node = s.child_like(kind, name, group)
            if node is None:
                node = Node(kind, help_text, name=name, group=group, hidden=self.hidden)
                s.children.append(node)
            elif not node.help:
                node.help = help_text
            if not self.hidden:
                node.hidden = False
            if node not in out:
                out.append(node)
        return out

    def _attach_composite(self, e: Tok, starts: list[Node]) -> list[Node]:
        assert isinstance(e.kind, Composite)
        ends: list[Node] = []
        for steps in e.kind.alternatives():
            cur = starts
            for i, (kind, help_text) in enumerate(steps):
                last = i == len(steps) - 1
                name = (e.name or e.kind.default_name) if last else None
                cur = self._attach_token(kind, name, None, help_text, cur)
            ends += [n for n in cur if n not in ends]
        return ends


def _assign_help(cmd: Command, elems: list[Elem]) -> None:
    toks = list(tokens_of(elems))
    for i, tok in enumerate(toks):
        text = cmd.help[i] if i < len(cmd.help) else ""
        if not text and isinstance(tok.kind, Keyword):
            text = SHARED_HELP.get(tok.kind.lower, "")
        tok.help = text


def _optional_tail(elems: list[Elem]) -> list[Elem]:
    """The ``no`` form's default syntax: trailing arguments become optional."""
    cut = len(elems)
    while cut > 0:
        e = elems[cut - 1]
        if isinstance(e, Tok) and isinstance(e.kind, Keyword):
            break
        cut -= 1
    if cut == len(elems):
        return elems
    tail: list[Elem] = []
    for e in reversed(elems[cut:]):
        tail = [Group([[e, *tail]], optional=True)]
    return elems[:cut] + tail


@dataclass
class Grammar:
    """The compiled graph of one mode at one privilege level."""

    mode: Mode
    root: Node
    pipe: Node | None = None


def build_filters() -> Node:
    """The shared ``| include|exclude|begin|section|count LINE`` subgraph."""
    pipe = Node(Keyword("|"), "Output modifiers", marker="pipe")
    b = GraphBuilder(pipe)
    filters = [
        ("begin", "Begin with the line that matches"),
        ("count", "Count number of lines which match regexp"),
        ("exclude", "Exclude lines that match"),
        ("include", "Include lines that match"),
        ("section", "Filter a section of output"),
    ]
    for word, text in filters:
        elems = parse_syntax(f"{word} LINE$regex")
        toks = list(tokens_of(elems))
        toks[0].help = text
        toks[1].help = "Regular Expression"
        for end in b.attach(elems, [pipe], group=None):
            end.end = _FILTER_END
    for ch in pipe.children:
        ch.group = "filter"
    return pipe


def _filter_handler(*_: Any, **__: Any) -> None:  # pragma: no cover - never called
    raise AssertionError("filters are applied by the session, not run")


_FILTER_END = CommandRef(Command(EXEC, "| filter", _filter_handler, []))


def compile_mode(
    mode: Mode,
    priv: int,
    commands: Iterable[Command] | None = None,
    exec_root: Node | None = None,
) -> Grammar:
    """Compile the commands of ``mode`` visible at privilege ``priv`` into a graph."""
    root = Node(None)
    builder = GraphBuilder(root)
    pipe = build_filters()
    no_node: Node | None = None
    default_node: Node | None = None
    for cmd in commands if commands is not None else REGISTRY:
        if cmd.mode is not mode or cmd.priv > priv:
            continue
        elems = parse_syntax(cmd.syntax)
        has_no = bool(elems) and isinstance(elems[0], Group) and _is_no_group(elems[0])
        if has_no:
            elems = elems[1:]
        _assign_help(cmd, elems)
        builder.hidden = cmd.hidden
        for end in builder.attach(elems, [root]):
            _set_end(end, CommandRef(cmd))
            if cmd.pipe and pipe not in end.children:
                end.children.append(pipe)
        if has_no:
            if no_node is None or default_node is None:
                no_node = _keyword_child(root, "no")
                default_node = _keyword_child(root, "default")
            if cmd.no_syntax is not None:
                no_elems = parse_syntax(cmd.no_syntax)
                _assign_help(cmd, no_elems)
                _copy_help(no_elems, elems)
            else:
                no_elems = _optional_tail(elems)
            for end in builder.attach(no_elems, [no_node]):
                _set_end(end, CommandRef(cmd, negate=True))
            for end in builder.attach(no_elems, [default_node]):
                _set_end(end, CommandRef(cmd, negate=True, default=True))
    for form in (no_node, default_node):
        if form is not None:
            _inherit_help(form, root, set())
    if exec_root is not None and mode.is_config:
        do = Node(Keyword("do"), "To run exec commands in config mode", marker="do")
        do.children = exec_root.children
        root.children.append(do)
    return Grammar(mode, root, pipe)


def _keyword_child(parent: Node, word: str) -> Node:
    """The child of ``parent`` for keyword ``word``, made if missing."""
    kind = Keyword(word)
    node = parent.child_like(kind, None, None)
    if node is None:
        node = Node(kind, SHARED_HELP.get(word, ""))
        parent.children.append(node)
    return node


def _inherit_help(target: Node, source: Node, seen: set[int]) -> None:
    """Words of ``no``/``default`` forms left without help take it from the plain form."""
    if id(target) in seen:
        return
    seen.add(id(target))
    for child in target.children:
        assert child.kind is not None
        twin = source.child_like(child.kind, child.name, child.group)
        if twin is None:
            continue
        if not child.help:
            child.help = twin.help
        _inherit_help(child, twin, seen)


def _is_no_group(g: Group) -> bool:
    return (
        g.optional
        and len(g.alts) == 1
        and len(g.alts[0]) == 1
        and isinstance(g.alts[0][0], Tok)
        and isinstance(g.alts[0][0].kind, Keyword)
        and g.alts[0][0].kind.lower == "no"
    )


def _copy_help(target: list[Elem], source: list[Elem]) -> None:
    """Give the tokens of an explicit ``no`` syntax the help of the same words."""
    known = {}
    for t in tokens_of(source):
        known.setdefault(t.kind.key(), t.help)
    for t in tokens_of(target):
        if not t.help:
            t.help = known.get(t.kind.key(), "")


def _set_end(node: Node, ref: CommandRef) -> None:
    if node.end is not None and node.end.command is not ref.command:
        raise ValueError(
            f"{ref.command!r} ends where {node.end.command!r} already ends; "
            "two commands cannot share one syntax"
        )
    node.end = ref


def iter_nodes(root: Node) -> Iterable[Node]:
    """Every node reachable from ``root`` once (graphs may share nodes and loop)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        yield n
        stack.extend(n.children)
