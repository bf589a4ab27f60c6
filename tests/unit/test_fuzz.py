"""Random and mutated lines in every mode: no crash, only IOS's errors, no change on rejection.

Architecture decision 8: a user error is an IOS message and an internal error never reaches
the terminal as a traceback. Every mode the grammar knows is reached by typing (modes are
discovered from ``REGISTRY``: a sample line of every command of a mode is tried, and the
modes they enter are fuzzed in turn), then fed real commands from random walks over the
mode's graph, mutations of them, random tokens and raw garbage (control characters,
Unicode, 10k-character lines). A line that is rejected must leave the running
configuration as it was.

``IOSEMU_FUZZ_EXAMPLES`` sets the number of examples per property (200 by default).
"""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address

import pytest
from helpers import Cli, fresh_lab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iosemu.api import Lab
from iosemu.parser.grammar import CONFIG, EXEC, REGISTRY, Mode, Node
from iosemu.parser.match import Failed, Matched, match, split_words
from iosemu.parser.tokens import Choice, Hex, IPv4, IPv4Prefix, Keyword, Line, Range, TokenKind
from iosemu.session import FALLBACKS, Session, grammar

EXAMPLES = int(os.environ.get("IOSEMU_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- modes


@dataclass(frozen=True)
class Place:
    """A mode and the lines that reach it from a fresh privileged (or user) EXEC."""

    name: str
    mode: Mode
    entry: tuple[str, ...] = ()
    privilege: int = 15


def _registered_modes() -> list[Mode]:
    modes: list[Mode] = []
    for c in REGISTRY:
        if c.mode not in modes:
            modes.append(c.mode)
    return modes


def _sample_value(kind: TokenKind) -> str:
    """A plausible word for ``kind``: the first of a few usual shapes that it accepts."""
    if isinstance(kind, Keyword):
        return kind.text
    for text in ("0", "1", "0/0", "10.0.0.1", "10.0.0.0/8", "00:00:00", "FUZZ", "January"):
        if kind.accept(text) is not None:
            return text
    return "FUZZ"


def sample_lines(root: Node) -> list[str]:
    """One line per command ending in ``root``'s graph (shortest path, sample values)."""
    seen = {id(root)}
    queue: deque[tuple[Node, list[str]]] = deque([(root, [])])
    lines: list[str] = []
    while queue:
        node, words = queue.popleft()
        if node.end is not None and words:
            lines.append(" ".join(words))
        for child in node.children:
            if child.marker is not None or id(child) in seen:
                continue
            seen.add(id(child))
            assert child.kind is not None
            queue.append((child, [*words, _sample_value(child.kind)]))
    return lines


@cache
def places() -> tuple[Place, ...]:
    """Every mode of the grammar with a way to reach it, found by trying sample lines."""
    found: dict[Mode, Place] = {
        EXEC: Place("exec", EXEC),
        CONFIG: Place("configure", CONFIG, ("configure terminal",)),
    }
    with fresh_lab() as lab:
        queue = deque([CONFIG])
        while queue:
            parent = found[queue.popleft()]
            for line in sample_lines(grammar(parent.mode).root):
                cli = enter(lab, parent)
                cli(line)
                mode = cli.mode
                if mode not in found:
                    found[mode] = Place(mode.name, mode, (*parent.entry, line))
                    if not mode.raw:
                        queue.append(mode)
    return (Place("user", EXEC, privilege=1), *found.values())


def enter(lab: Lab, place: Place, router: str = "CA-server-1") -> Cli:
    """A new session on ``router`` in ``place``'s mode; dialogs are declined."""
    cli = Cli(lab, router, privilege=place.privilege)
    cli.terminal.default_answer = "n"
    for line in place.entry:
        cli(line)
    assert cli.mode is place.mode, f"{place.entry} did not reach {place.name}"
    return cli


def test_every_registered_mode_is_reachable() -> None:
    reached = {p.mode for p in places()}
    missing = [m.name for m in _registered_modes() if m not in reached and not m.raw]
    assert missing == []


# --------------------------------------------------------------------------- checking

# Commands with effects outside the configuration, or that take long: not fuzzed.
SIDE_EFFECTS = ("reload", "write", "erase", "copy", "delete", "clock set")


def resolve(session: Session, line: str) -> Matched | Failed | None:
    """What the session will make of ``line`` (walk-up included); None in raw modes."""
    mode = session.mode
    if mode.raw or line.lstrip().startswith("!") or not line.strip() or line == "\x1a":
        return None
    grammar_of = session._grammar_for
    result = match(grammar_of(mode).root, line)
    if isinstance(result, Failed) and mode.is_config and mode is not CONFIG:
        for ancestor in mode.ancestors():
            up = match(grammar_of(ancestor).root, line)
            if isinstance(up, Matched):
                return up
            if (up.word_index, up.column) > (result.word_index, result.column):
                result = up
            if ancestor is CONFIG:
                break
    return result


def harmless(result: Matched | Failed | None) -> bool:
    if not isinstance(result, Matched):
        return True
    syntax = result.ref.command.syntax.removeprefix("[no] ")
    if syntax.startswith(SIDE_EFFECTS):
        return False
    # ping waits per echo; a huge repeat count is a long loop even in virtual time.
    return not (syntax.startswith("ping") and result.args.get("repeat", 5) > 20)


# What a rejected line may print: IOS's parser messages, the host-name fallback, or an
# error a handler raises (IOS writes those with a leading '%', a few without).
INVALID = re.compile(r"(?P<caret> *)\^\n% Invalid input detected at '\^' marker\.\n\n")
SHOW_ALONE = '% Type "show ?" for a list of subcommands\n'
INCOMPLETE = "% Incomplete command.\n\n"
AMBIGUOUS = re.compile(r'% Ambiguous command:  ".*"\n', re.DOTALL)
FALLBACK = re.compile(
    r'(Translating ".*"(\.\.\.domain server( \(\d+\.\d+\.\d+\.\d+\))+)?\n'
    r"% Unknown command or computer name, or unable to find computer address\n"
    r"|Trying .*\n% Connection timed out; remote host not responding\n\n)",
    re.DOTALL,
)
HANDLER_ERROR = re.compile(
    r"^(%|\?Must be|ERROR: |Bad mask |Invalid encrypted password)", re.MULTILINE
)


class _Errors(logging.Handler):
    """Collects what the lab logs at ERROR: a handler or a timer that raised."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_logged_errors() -> Iterator[_Errors]:
    errors = _Errors()
    logger = logging.getLogger("iosemu")
    logger.addHandler(errors)
    try:
        yield errors
    finally:
        logger.removeHandler(errors)
    assert [r.getMessage() for r in errors.records] == []


@dataclass
class Outcome:
    line: str
    output: str
    rejected: bool
    notes: list[str] = field(default_factory=list)


def check_line(cli: Cli, line: str) -> Outcome | None:
    """Type ``line``, hold the output to IOS's rules; None when the line was not run."""
    session = cli.session
    result = resolve(session, line)
    if not harmless(result):
        return None
    prompt = session.prompt()
    before = cli.body()  # with its "! Last configuration change" line
    output = cli(line)
    where = f"{prompt}{line[:200]!r} printed {output[:600]!r}"
    assert "Traceback" not in output, where
    assert "Internal error" not in output, where
    parser_failed = isinstance(result, Failed)
    rejected = parser_failed or bool(HANDLER_ERROR.match(output.lstrip("\n")))
    if parser_failed:
        assert isinstance(result, Failed)
        words = split_words(line)
        via_do = session.mode.is_config and len(words) == 2 and words[0].text.lower() == "do"
        first = 1 if via_do else 0
        fallback_mode = EXEC if via_do else cli.mode
        if (
            result.reason == "invalid"
            and result.word_index == first
            and len(words) == first + 1
            and fallback_mode in FALLBACKS
        ):
            assert FALLBACK.fullmatch(output), where
        elif result.reason == "incomplete":
            assert output in (INCOMPLETE, SHOW_ALONE), where
        elif result.reason == "ambiguous":
            assert AMBIGUOUS.fullmatch(output), where
            assert output == f'% Ambiguous command:  "{line.strip()}"\n', where
        else:
            m = INVALID.fullmatch(output)
            assert m, where
            assert len(m.group("caret")) == len(prompt) + result.column, where
            assert 0 <= result.column <= len(line.rstrip()), where
    if rejected:
        assert cli.body() == before, f"{where}; the configuration changed"
    return Outcome(line, output, rejected)


def run_lines(lab: Lab, place: Place, lines: list[str], one_session: bool = False) -> list[Outcome]:
    """Each line in a fresh session in ``place``'s mode, or all in one (modes may change)."""
    outcomes = []
    cli: Cli | None = None
    for line in lines:
        if cli is None or not one_session or not cli.session.alive:
            cli = enter(lab, place)
        outcome = check_line(cli, line)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


# --------------------------------------------------------------------------- lines

# Whatever a console could pass on as one line: no CR/LF (they end it), no Tab or '?'
# (the line discipline acts on them), no lone surrogates (not text).
safe_char = st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\t?")
control = st.sampled_from([chr(c) for c in range(32) if chr(c) not in "\r\n\t"] + ["\x7f"])
unicode_word = st.text(
    st.characters(exclude_categories=("Cs", "Zs", "Cc"), min_codepoint=0x80),
    min_size=1,
    max_size=8,
)
junk_word = st.one_of(
    st.from_regex(r"[A-Za-z0-9./:_-]{1,12}", fullmatch=True),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["|", "||", "-", "0", "00", "-0", "0x", "1.", "1.1.1.1.", "a.b.c.d", "$", "!"]),
    unicode_word,
    st.text(control, min_size=1, max_size=3),
)
LONG_LINES = [
    "a" * 10_000,
    "1" * 10_000,
    "show " + "x" * 10_000,
    "show " + "9" * 10_000,
    "terminal length " + "9" * 10_000,
    "1." * 5_000,
    " ".join(["no"] * 3_000),
    "| " * 5_000,
    "hostname " + "H" * 10_000,
    "interface Loopback" + "7" * 10_000,
    "ip address " + "255." * 2_500,
    "do " * 3_000,
    "é" * 10_000,
    "\x00" * 10_000,
]


def token_text(data: st.DataObject, kind: TokenKind) -> str:
    """A random word that ``kind`` accepts (or one close to it)."""
    if isinstance(kind, Keyword):
        return kind.text
    if isinstance(kind, Range):
        return str(data.draw(st.integers(kind.lo, kind.hi)))
    if isinstance(kind, IPv4Prefix):
        ip = data.draw(st.integers(0, 2**32 - 1).map(IPv4Address))
        return f"{ip}/{data.draw(st.integers(0, 32))}"
    if isinstance(kind, IPv4):
        return str(data.draw(st.integers(0, 2**32 - 1).map(IPv4Address)))
    if isinstance(kind, Hex):
        return data.draw(st.from_regex(r"(0x)?[0-9a-fA-F]{1,16}", fullmatch=True))
    if isinstance(kind, Choice):
        return data.draw(st.sampled_from(kind.words))
    if isinstance(kind, Line):
        return data.draw(st.text(safe_char, max_size=30)).strip() or "text"
    regex = getattr(kind, "regex", None)  # Pattern, interface numbers
    if isinstance(regex, re.Pattern):
        return data.draw(st.from_regex(regex, fullmatch=True))
    return data.draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,10}", fullmatch=True))


def random_command(data: st.DataObject, root: Node) -> str:
    """A random walk over a mode's graph (``do`` and ``|`` included) to a command's end."""
    node, words = root, []
    for _ in range(16):
        if not node.children or (node.end is not None and data.draw(st.booleans())):
            break
        child = data.draw(st.sampled_from(node.children))
        assert child.kind is not None
        words.append(token_text(data, child.kind))
        if isinstance(child.kind, Line):
            break
        node = child
    return " ".join(words)


def mutate(data: st.DataObject, line: str) -> str:
    """One of the ways people (and scripts) get a line wrong."""
    words = line.split(" ")
    how = data.draw(
        st.sampled_from(
            [
                "as is",
                "abbreviate",
                "case",
                "truncate",
                "delete",
                "insert",
                "replace",
                "drop word",
                "repeat word",
                "swap words",
                "append",
                "spaces",
            ]
        )
    )
    i = data.draw(st.integers(0, max(len(words) - 1, 0)))
    j = data.draw(st.integers(0, len(line)))
    if how == "abbreviate" and words[i]:
        words[i] = words[i][: data.draw(st.integers(1, len(words[i])))]
    elif how == "case":
        words[i] = words[i].swapcase()
    elif how == "truncate":
        return line[:j]
    elif how == "delete":
        return line[:j] + line[j + 1 :]
    elif how == "insert":
        return line[:j] + data.draw(safe_char) + line[j:]
    elif how == "replace":
        return line[:j] + data.draw(safe_char) + line[j + 1 :]
    elif how == "drop word":
        del words[i]
    elif how == "repeat word":
        words.insert(i, words[i])
    elif how == "swap words" and len(words) > 1:
        words[i], words[-1] = words[-1], words[i]
    elif how == "append":
        words.append(data.draw(junk_word))
    elif how == "spaces":
        return "  ".join(words) + "   "
    return " ".join(words)


def vocabulary(place: Place) -> list[str]:
    """Every keyword of the mode's graph, for lines of random real words."""
    words: set[str] = set()
    stack, seen = [grammar(place.mode, place.privilege).root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.kind, Keyword):
            words.add(node.kind.text)
        stack.extend(node.children)
    return sorted(words)


PLACES = places()
place_strategy = st.sampled_from(PLACES)


@st.composite
def real_lines(draw: st.DrawFn, place: Place) -> str:
    data = draw(st.data())
    if place.mode.raw:
        return draw(st.text(safe_char, max_size=80))
    line = random_command(data, grammar(place.mode, place.privilege).root)
    return mutate(data, line) if draw(st.booleans()) else line


@st.composite
def token_lines(draw: st.DrawFn, place: Place) -> str:
    words = vocabulary(place) or ["x"]
    pieces = draw(st.lists(st.one_of(st.sampled_from(words), junk_word), min_size=1, max_size=8))
    separator = draw(st.sampled_from([" ", "  ", " \x0b "]))
    return separator.join(pieces)


garbage_lines = st.one_of(
    st.text(safe_char, max_size=60),
    st.text(control, min_size=1, max_size=10),
    st.lists(unicode_word, min_size=1, max_size=5).map(" ".join),
    st.sampled_from(
        [
            "|",
            " | ",
            "| include x",
            "do",
            "do |",
            "no",
            "default",
            "!",
            "  !x",
            "\x1a",
            "\x03",
            "\x00",
            " ",
            "\x1b[A",
            "exit |",
            "end end",
        ]
    ),
)


# --------------------------------------------------------------------------- properties


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_real_and_mutated_commands(data: st.DataObject) -> None:
    place = data.draw(place_strategy, label="place")
    lines = data.draw(st.lists(real_lines(place), min_size=1, max_size=6), label="lines")
    one_session = data.draw(st.booleans(), label="one session")
    with fresh_lab() as lab:
        run_lines(lab, place, lines, one_session)


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_random_tokens(data: st.DataObject) -> None:
    place = data.draw(place_strategy, label="place")
    lines = data.draw(st.lists(token_lines(place), min_size=1, max_size=4), label="lines")
    with fresh_lab() as lab:
        run_lines(lab, place, lines)


@pytest.mark.slow
@SETTINGS
@given(place=place_strategy, lines=st.lists(garbage_lines, min_size=1, max_size=4))
def test_garbage(place: Place, lines: list[str]) -> None:
    with fresh_lab() as lab:
        for outcome in run_lines(lab, place, lines):
            if place.mode.raw or outcome.line.lstrip().startswith("!"):
                continue
            if not outcome.line.strip() or outcome.line == "\x1a":
                assert outcome.output == ""


# --------------------------------------------------------------------------- exhaustive


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.name)
def test_every_command_and_its_prefixes(place: Place) -> None:
    """Every command of the mode as a sample line, and every word-prefix of it."""
    if place.mode.raw:
        pytest.skip("raw modes take data, not commands")
    lines: list[str] = []
    for line in sample_lines(grammar(place.mode, place.privilege).root):
        words = line.split()
        lines += [" ".join(words[:n]) for n in range(1, len(words) + 1)]
        lines.append(line + " extra")
    with fresh_lab() as lab:
        outcomes = run_lines(lab, place, list(dict.fromkeys(lines)))
    assert outcomes


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.name)
def test_long_lines(place: Place) -> None:
    with fresh_lab() as lab:
        outcomes = run_lines(lab, place, LONG_LINES)
    if not place.mode.raw:
        assert all(o.rejected for o in outcomes if not o.line.startswith(("do", "no")))


def test_rejected_lines_leave_state_alone_after_handler_errors(config: Cli) -> None:
    """Lines the parser takes but a handler refuses: the configuration is as before."""
    lines = [
        "hostname 1router",
        "hostname bad_name!",
        "enable secret 5 not-a-hash",
        "enable password 7 ZZ",
        "line vty 9 3",
        "no interface GigabitEthernet0/0",
        "interface Loopback1",
        "ip address 10.0.0.0 255.255.255.0",
        "ip address 10.0.0.1 255.0.255.0",
        "ip address 10.0.0.255 255.255.255.0",
    ]
    for line in lines:
        outcome = check_line(config, line)
        assert outcome is not None
        assert outcome.rejected or line == "interface Loopback1", outcome


def test_file_names_cannot_leave_the_state_directory(cli: Cli) -> None:
    for url in ("flash:../../../../etc/passwd", "nvram:/../startup-config", "flash:..", "x:y"):
        assert cli(f"more {url}").startswith("%Error opening"), url


def test_sample_values_are_accepted_by_their_kinds() -> None:
    """The discovery relies on these shapes; a new kind might need one more."""
    assert IPv4().accept(_sample_value(IPv4())) is not None
    assert IPv4Prefix().accept(_sample_value(IPv4Prefix())) is not None
    assert Range(-5, 5).accept(_sample_value(Range(-5, 5))) is not None
    assert Range(7, 9).accept(_sample_value(Range(7, 9))) is None  # falls back to a word
