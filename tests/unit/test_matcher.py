"""The matcher against IOS's rules, on small hand-made grammars and on the real modes.

Hand-made grammars are compiled from explicit command lists into test-only modes, so these
tests pin the parser's rules independently of what features happen to declare.
"""

from __future__ import annotations

import inspect
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

import pytest
from helpers import Cli, DialogExhausted

import iosemu.api  # noqa: F401 - registers every feature's commands
from iosemu.features.interfaces import INTERFACE
from iosemu.parser.grammar import (
    CONFIG,
    EXEC,
    REGISTRY,
    Command,
    Mode,
    Node,
    compile_mode,
    parse_syntax,
)
from iosemu.parser.match import Failed, Matched, match
from iosemu.session import grammar

T = Mode("t-exec", "")  # test-only modes, never registered
TC = Mode("t-config", "(t)", parent=CONFIG)


def _noop(*_: Any, **__: Any) -> None:
    """Handlers are never run here: only which command matched matters."""


def cmd(syntax: str, help: str = "", mode: Mode = T, **kw: Any) -> Command:
    return Command(mode, syntax, _noop, help.split("|"), **kw)


def root(*commands: Command | str, mode: Mode = T, exec_root: Node | None = None) -> Node:
    cmds = [c if isinstance(c, Command) else cmd(c, mode=mode) for c in commands]
    return compile_mode(mode, 15, cmds, exec_root=exec_root).root


def ok(node: Node, line: str) -> Matched:
    result = match(node, line)
    assert isinstance(result, Matched), f"{line!r}: {result}"
    return result


def fail(node: Node, line: str) -> Failed:
    result = match(node, line)
    assert isinstance(result, Failed), f"{line!r} matched {result}"
    return result


def syntax_of(m: Matched) -> str:
    return m.ref.command.syntax


# --------------------------------------------------------------------------- syntax


def test_parse_syntax_rejects_unbalanced_brackets() -> None:
    with pytest.raises(SyntaxError):
        parse_syntax("show [clock")
    with pytest.raises(SyntaxError):
        parse_syntax("show clock}")


def test_two_commands_cannot_share_one_syntax() -> None:
    with pytest.raises(ValueError, match="share one syntax"):
        root("show clock", "show clock")


# --------------------------------------------------------------------------- keywords

SHOWS = root("show clock [detail]", "show version", "show clients", "configure terminal")


@pytest.mark.parametrize(
    ("line", "syntax"),
    [
        ("show clock", "show clock [detail]"),
        ("sh clo", "show clock [detail]"),
        ("s clo d", "show clock [detail]"),
        ("sh v", "show version"),
        ("conf t", "configure terminal"),
        ("c t", "configure terminal"),
        ("SHOW CLOCK", "show clock [detail]"),
        ("Sh ClO DeTaIl", "show clock [detail]"),
        ("  show    clock   ", "show clock [detail]"),
    ],
)
def test_unique_prefixes_and_any_case_match_keywords(line: str, syntax: str) -> None:
    assert syntax_of(ok(SHOWS, line)) == syntax


def test_keywords_are_reported_in_their_declared_spelling() -> None:
    assert ok(SHOWS, "SH CLO DET").keywords == ("show", "clock", "detail")


def test_exact_keyword_beats_a_longer_keyword_it_prefixes() -> None:
    node = root("log", "logging", "ip domain lookup", "ip domain-lookup")
    assert syntax_of(ok(node, "log")) == "log"
    assert syntax_of(ok(node, "LOG")) == "log"
    assert syntax_of(ok(node, "logg")) == "logging"
    assert syntax_of(ok(node, "ip domain lookup")) == "ip domain lookup"
    assert syntax_of(ok(node, "ip domain-l")) == "ip domain-lookup"


@pytest.mark.parametrize(
    ("line", "column", "index"),
    [("cl", 0, 0), ("show cl", 5, 1), ("show  c", 6, 1), ("sh c d", 3, 1)],
)
def test_ambiguous_prefix_fails_at_the_word(line: str, column: int, index: int) -> None:
    node = root("clock", "clear", "show clock", "show clients")
    f = fail(node, line)
    assert (f.reason, f.column, f.word_index) == ("ambiguous", column, index)


def test_a_prefix_of_one_keyword_is_not_ambiguous_with_a_value() -> None:
    node = root("set all", "set WORD$w")
    assert ok(node, "set a").keywords == ("set", "all")


# --------------------------------------------------------------------------- strengths

STRENGTHS = root(
    "set all",
    "set <1-10>$n",
    "set A.B.C.D$a",
    "set WORD$w",
)


@pytest.mark.parametrize(
    ("line", "args", "keywords"),
    [
        ("set all", {}, ("set", "all")),
        ("set al", {}, ("set", "all")),
        ("set ALL", {}, ("set", "all")),
        ("set 5", {"n": 5}, ("set",)),
        ("set 10", {"n": 10}, ("set",)),
        ("set 11", {"w": "11"}, ("set",)),
        ("set 0", {"w": "0"}, ("set",)),
        ("set 10.0.0.1", {"a": IPv4Address("10.0.0.1")}, ("set",)),
        ("set 10.0.0", {"w": "10.0.0"}, ("set",)),
        ("set alle", {"w": "alle"}, ("set",)),
        ("set MyName", {"w": "MyName"}, ("set",)),
    ],
)
def test_keyword_beats_typed_value_beats_word(
    line: str, args: dict[str, Any], keywords: tuple[str, ...]
) -> None:
    m = ok(STRENGTHS, line)
    assert (m.args, m.keywords) == (args, keywords)


def test_word_values_keep_their_case() -> None:
    node = root("hostname WORD$name", "ip host WORD$name A.B.C.D")
    assert ok(node, "HOSTNAME MyRouter").args == {"name": "MyRouter"}
    assert ok(node, "ip host SB 1.2.3.4").args == {
        "name": "SB",
        "address": IPv4Address("1.2.3.4"),
    }


def test_equal_typed_values_keep_every_path_until_one_ends() -> None:
    node = root("x <1-10>$a foo", "x <5-20>$b bar")
    assert ok(node, "x 7 foo").args == {"a": 7}
    assert ok(node, "x 7 bar").args == {"b": 7}
    assert ok(node, "x 3 foo").args == {"a": 3}
    assert fail(node, "x 3 bar").column == 4


def test_arguments_bind_to_dollar_names_or_default_names() -> None:
    node = root("standby <0-255>$group ip A.B.C.D$address", "x <1-9> WORD A.B.C.D HEX LINE")
    assert ok(node, "standby 1 ip 10.1.32.86").args == {
        "group": 1,
        "address": IPv4Address("10.1.32.86"),
    }
    assert ok(node, "x 3 w 1.2.3.4 0xbeef rest  of line").args == {
        "number": 3,
        "word": "w",
        "address": IPv4Address("1.2.3.4"),
        "hex": "BEEF",
        "line": "rest  of line",
    }


def test_line_takes_the_rest_of_the_line_verbatim_but_trailing_space() -> None:
    node = root("description LINE$text")
    assert ok(node, "description   two  words | x  ").args == {"text": "two  words | x"}
    assert fail(node, "description").reason == "incomplete"


def test_prefix_token_binds_an_interface_value() -> None:
    node = root("route A.B.C.D/nn$net")
    assert ok(node, "route 10.1.0.0/16").args == {"net": IPv4Interface("10.1.0.0/16")}
    assert fail(node, "route 10.1.0.0/33").column == 15


# --------------------------------------------------------------------------- failures


def test_incomplete_when_the_line_stops_before_a_command_ends() -> None:
    node = root("show clock", "ip address A.B.C.D A.B.C.D")
    for line in ("show", "ip", "ip address", "ip address 1.2.3.4", "ip address 1.2.3.4   "):
        f = fail(node, line)
        assert f.reason == "incomplete"
        assert f.column == len(line.rstrip())


def test_empty_line_is_incomplete_at_the_root() -> None:
    assert fail(root("show clock"), "").reason == "incomplete"


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("hostnane S1", 6),  # the second n: 'hostna' matched 'hostname'
        ("hostname", None),
        ("xyz", 0),
        ("hosx", 3),
        ("show clocc", 9),
        ("show clxx", 7),  # as far as the best of 'clock' and 'clients' got
        ("show clock extra", 11),
        ("show clock detail more", 18),
        ("show  clock  bogus", 13),
    ],
)
def test_caret_goes_under_the_first_character_that_could_not_match(
    line: str, column: int | None
) -> None:
    node = root("hostname WORD", "show clock [detail]", "show clients")
    f = fail(node, line)
    if column is None:
        assert f.reason == "incomplete"
    else:
        assert (f.reason, f.column) == ("invalid", column)


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("ip address 10.1.1.300 255.0.0.0", 18),  # under the octet that went past 255
        ("ip address 10.1.1.1 255.0.0.x", 28),
        ("ip address 10.1.1.1.5 255.0.0.0", 19),  # the fifth part
        ("ip address 10..1.1 255.0.0.0", 14),
        ("ip address abc 255.0.0.0", 11),
        ("ip address 1.2.3 255.0.0.0", 11),  # a good start but not an address
        ("ip address 1.2.3.4 255.0.0.0 9", 29),
        ("standby 256 ip 1.1.1.1", 8),  # out of range: the number as a whole
        ("standby 25x ip 1.1.1.1", 10),
        ("standby -1 ip 1.1.1.1", 8),
        ("standby 1 ipx 1.1.1.1", 12),
    ],
)
def test_caret_inside_typed_values(line: str, column: int) -> None:
    node = root("ip address A.B.C.D A.B.C.D", "standby <0-255> ip A.B.C.D")
    f = fail(node, line)
    assert (f.reason, f.column) == ("invalid", column)


def test_huge_numbers_are_rejected_not_crashed_on() -> None:
    node = root("terminal length <0-512>", "route A.B.C.D/nn")
    digits = "9" * 5000
    assert fail(node, f"terminal length {digits}").column == 16
    assert fail(node, f"terminal length -{digits}").column == 16
    assert fail(node, f"route 1.2.3.4/{digits}").column == 14
    assert ok(node, f"route 1.2.3.4/{'0' * 5000}7").args == {"prefix": IPv4Interface("1.2.3.4/7")}
    assert fail(node, f"route {digits}.1.1.1/8").column == 6


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ("tz PST -8", {"hours": -8}),
        ("tz PST -23", {"hours": -23}),
        ("tz PST 23 30", {"hours": 23, "minutes": 30}),
        ("tz PST 0", {"hours": 0}),
        ("tz PST -0", {"hours": 0}),
    ],
)
def test_negative_ranges(line: str, args: dict[str, int]) -> None:
    node = root("tz WORD$name <-23-23>$hours [<0-59>$minutes]")
    assert ok(node, line).args == {"name": "PST", **args}


@pytest.mark.parametrize("line", ["tz PST -24", "tz PST 24", "tz PST --1", "tz PST -"])
def test_out_of_negative_range(line: str) -> None:
    node = root("tz WORD$name <-23-23>$hours")
    assert fail(node, line).column == 7


# --------------------------------------------------------------------------- groups


def test_optional_group() -> None:
    node = root("show clock [detail]")
    assert ok(node, "show clock").keywords == ("show", "clock")
    assert ok(node, "show clock detail").keywords == ("show", "clock", "detail")


def test_required_choice_binds_the_keyword_to_the_group_name() -> None:
    node = root("duplex {auto|full|half}$value")
    assert ok(node, "duplex f").args == {"value": "full"}
    assert ok(node, "DUPLEX HALF").args == {"value": "half"}
    assert fail(node, "duplex").reason == "incomplete"
    assert fail(node, "duplex x").column == 7


def test_optional_choice() -> None:
    node = root("dir [nvram:|flash:]$fs")
    assert ok(node, "dir").args == {}
    assert ok(node, "dir nv").args == {"fs": "nvram:"}


def test_choice_of_sequences() -> None:
    node = root("line {console|vty}$kind <0-15>$first [<1-15>$last]")
    assert ok(node, "line vty 0 4").args == {"kind": "vty", "first": 0, "last": 4}
    assert ok(node, "line con 0").args == {"kind": "console", "first": 0}


def test_repeat_group_takes_its_alternatives_any_number_of_times_in_any_order() -> None:
    node = root("stamps [datetime [msec|localtime|year]*|uptime]$style")
    assert ok(node, "stamps").keywords == ("stamps",)
    assert ok(node, "stamps uptime").args == {"style": "uptime"}
    m = ok(node, "stamps datetime year msec localtime")
    assert m.keywords == ("stamps", "datetime", "year", "msec", "localtime")
    assert ok(node, "stamps d m m y").keywords[-1] == "year"
    assert fail(node, "stamps uptime msec").column == 14
    assert fail(node, "stamps msec").column == 7


def test_repeat_group_of_sequences_binds_each_value() -> None:
    node = root("ping WORD$target [repeat <1-100>$repeat|size <36-18024>$size]*")
    m = ok(node, "ping h size 100 repeat 3")
    assert m.args == {"target": "h", "size": 100, "repeat": 3}
    assert fail(node, "ping h size").reason == "incomplete"


# --------------------------------------------------------------------------- no / default

NEGATABLE = root(
    cmd("[no] shutdown"),
    cmd("[no] description LINE$text"),
    cmd("[no] standby <0-255>$group ip A.B.C.D$address"),
    cmd("[no] exec-timeout <0-35791>$minutes [<0-2147483>$seconds]"),
    cmd("[no] ip address A.B.C.D$a A.B.C.D$m", no_syntax="ip address [A.B.C.D$a A.B.C.D$m]"),
    cmd("[no] logging console [<0-7>$level]", no_syntax="logging console"),
)


@pytest.mark.parametrize(
    ("line", "negate", "default", "args"),
    [
        ("shutdown", False, False, {}),
        ("no shutdown", True, False, {}),
        ("default shutdown", True, True, {}),
        ("no shut", True, False, {}),
        ("NO SH", True, False, {}),
        ("def sh", True, True, {}),
        ("description a b", False, False, {"text": "a b"}),
        ("no description", True, False, {}),
        ("no description a b", True, False, {"text": "a b"}),
        ("no standby 1 ip", True, False, {"group": 1}),
        ("no standby 1 ip 1.2.3.4", True, False, {"group": 1, "address": IPv4Address("1.2.3.4")}),
        ("no exec-timeout", True, False, {}),
        ("no exec-timeout 5", True, False, {"minutes": 5}),
        ("no exec-timeout 5 6", True, False, {"minutes": 5, "seconds": 6}),
        ("no ip address", True, False, {}),
        ("default ip address", True, True, {}),
        ("no logging console", True, False, {}),
    ],
)
def test_no_and_default_forms(line: str, negate: bool, default: bool, args: dict[str, Any]) -> None:
    m = ok(NEGATABLE, line)
    assert (m.ref.negate, m.ref.default, m.args) == (negate, default, args)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("no", "incomplete"),
        ("default", "incomplete"),
        ("no standby 1", "incomplete"),  # only the arguments after the last keyword go
        ("no ip address 1.2.3.4", "incomplete"),  # no_syntax wants both or neither
        ("no logging console 3", "invalid"),  # no_syntax has no level
        ("no standby", "incomplete"),
        ("exec-timeout", "incomplete"),
    ],
)
def test_no_forms_follow_their_syntax(line: str, reason: str) -> None:
    assert fail(NEGATABLE, line).reason == reason


def test_commands_without_no_have_no_no_form() -> None:
    node = root("show clock", "[no] shutdown")
    assert fail(node, "no show clock").column == 5  # 'sh' fits 'shutdown'
    assert fail(node, "no clock").column == 3


# --------------------------------------------------------------------------- do, filters

EXEC_ROOT = root(cmd("show clock", pipe=True), "ping WORD$target")
CONFIG_ROOT = root(cmd("hostname WORD$name", mode=TC), mode=TC, exec_root=EXEC_ROOT)


def test_do_runs_exec_commands_from_config_modes() -> None:
    m = ok(CONFIG_ROOT, "do show clock")
    assert m.via_do and syntax_of(m) == "show clock"
    assert ok(CONFIG_ROOT, "DO sh cl | i x").filter == ("include", "x")
    assert not ok(CONFIG_ROOT, "hostname do").via_do
    assert fail(CONFIG_ROOT, "do").reason == "incomplete"
    assert fail(CONFIG_ROOT, "do hostname x").column == 3


def test_there_is_no_do_in_exec() -> None:
    assert fail(EXEC_ROOT, "do show clock").column == 0


@pytest.mark.parametrize(
    ("line", "kind", "regex"),
    [
        ("show clock | include UTC", "include", "UTC"),
        ("show clock | i UTC", "include", "UTC"),
        ("show clock | inc a b  c", "include", "a b  c"),
        ("show clock | e ^x", "exclude", "^x"),
        ("show clock | b .", "begin", "."),
        ("show clock | s crypto", "section", "crypto"),
        ("show clock | sec pki", "section", "pki"),
        ("show clock | c .*", "count", ".*"),
        ("show clock|include x", None, None),  # '|' glued to a word is no pipe
        ("show clock | include x | y", "include", "x | y"),
        ("show clock | include Gig.*(up|down) $", "include", "Gig.*(up|down) $"),
    ],
)
def test_output_filters(line: str, kind: str | None, regex: str | None) -> None:
    result = match(EXEC_ROOT, line)
    if kind is None:
        assert isinstance(result, Failed)
    else:
        assert isinstance(result, Matched)
        assert result.filter == (kind, regex)
        assert syntax_of(result) == "show clock"


@pytest.mark.parametrize(
    ("line", "reason", "column"),
    [
        ("|", "invalid", 0),
        ("show clock |", "incomplete", 12),
        ("show clock | include", "incomplete", 20),
        ("show clock | bogus", "invalid", 14),  # 'b' fits 'begin'
        ("show clock | xyz", "invalid", 13),
        ("show clock | x y", "invalid", 13),
        ("ping h | include x", "invalid", 7),  # ping has no pipe
        ("show | include x", "invalid", 5),
    ],
)
def test_output_filter_errors(line: str, reason: str, column: int) -> None:
    f = fail(EXEC_ROOT, line)
    assert (f.reason, f.column) == (reason, column)


def test_filter_keeps_the_command_arguments() -> None:
    m = ok(grammar(EXEC).root, "sh run int g0/1 | i ip")
    assert m.args == {"name": "GigabitEthernet0/1"}
    assert m.filter == ("include", "ip")


# --------------------------------------------------------------------------- real modes


@pytest.mark.parametrize(
    "spelling",
    [
        "GigabitEthernet0/0",
        "gigabitethernet0/0",
        "GIGABITETHERNET 0/0",
        "gi0/0",
        "Gi0/0",
        "g0/0",
        "g 0/0",
        "Gig0/0",
        "gig 0/0",
        "GigabitEthernet 0/0",
    ],
)
def test_interface_spellings(spelling: str) -> None:
    m = ok(grammar(CONFIG).root, f"interface {spelling}")
    assert m.args == {"name": "GigabitEthernet0/0"}


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("Loopback5", "Loopback5"),
        ("lo5", "Loopback5"),
        ("l 5", "Loopback5"),
        ("LOOPBACK 0", "Loopback0"),
        ("loopback007", "Loopback7"),
        ("lo2147483647", "Loopback2147483647"),
        ("gi0/1", "GigabitEthernet0/1"),
    ],
)
def test_interface_names_are_canonical(spelling: str, name: str) -> None:
    assert ok(grammar(CONFIG).root, f"interface {spelling}").args == {"name": name}


@pytest.mark.parametrize(
    ("line", "reason", "column"),
    [
        ("interface gi0/2", "invalid", 14),
        ("interface gi 0/2", "invalid", 15),
        ("interface gi", "incomplete", 12),
        ("interface Loopback", "incomplete", 18),
        ("interface lo2147483648", "invalid", 12),
        ("interface lo-1", "invalid", 12),
        ("interface x0/0", "invalid", 10),
        ("interface gi0/0 x", "invalid", 16),
    ],
)
def test_bad_interface_names(line: str, reason: str, column: int) -> None:
    f = fail(grammar(CONFIG).root, line)
    assert (f.reason, f.column) == (reason, column)


@pytest.mark.parametrize(
    ("mode", "line", "syntax"),
    [
        (EXEC, "sh run", "show running-config [interface INTERFACE$name]"),
        (EXEC, "sh ip int br", "show ip interface brief"),
        (EXEC, "conf t", "configure [terminal]"),
        (EXEC, "conf", "configure [terminal]"),
        (EXEC, "term len 0", "terminal length <0-512>$lines"),
        (CONFIG, "no ip domain lookup", "[no] ip domain lookup"),
        (CONFIG, "ip domain-lookup", "[no] ip domain-lookup"),  # hidden, still accepted
        (
            CONFIG,
            "clock timezone PST -8 0",
            "[no] clock timezone WORD$name <-23-23>$hours [<0-59>$minutes]",
        ),
        (CONFIG, "line vty 0 4", "line {console|aux|vty}$kind <0-15>$first [<1-15>$last]"),
        (INTERFACE, "no shut", "[no] shutdown"),
        (
            INTERFACE,
            "ip add 10.1.32.83 255.255.255.0",
            "[no] ip address A.B.C.D$address A.B.C.D$mask",
        ),
    ],
)
def test_real_modes(mode: Mode, line: str, syntax: str) -> None:
    assert syntax_of(ok(grammar(mode).root, line)) == syntax


@pytest.mark.parametrize(
    ("mode", "line", "reason"),
    [
        (EXEC, "sh i", "ambiguous"),
        (EXEC, "c", "ambiguous"),
        (EXEC, "show", "incomplete"),
        (CONFIG, "i", "ambiguous"),
        (CONFIG, "logging", "incomplete"),
        (INTERFACE, "s", "ambiguous"),
    ],
)
def test_real_mode_failures(mode: Mode, line: str, reason: str) -> None:
    assert fail(grammar(mode).root, line).reason == reason


def test_user_exec_lacks_privileged_commands() -> None:
    user = grammar(EXEC, 1).root
    assert fail(user, "configure terminal").column == 0
    assert fail(user, "show running-config").word_index == 1
    assert syntax_of(ok(user, "show clock")) == "show clock [detail]"
    assert syntax_of(ok(user, "en")) == "enable [<0-15>$level]"


# --------------------------------------------------------------------------- in a session


def test_session_prints_ios_errors(config: Cli) -> None:
    prompt = "CA-server-1(config)#"
    assert config("hostnane S1") == (
        " " * (len(prompt) + 6) + "^\n% Invalid input detected at '^' marker.\n\n"
    )
    assert config("logging") == "% Incomplete command.\n\n"
    assert config("i") == '% Ambiguous command:  "i"\n'
    assert config("  s  ") == '% Ambiguous command:  "s"\n'


def test_walk_up_runs_a_global_command_from_a_sub_mode(config: Cli) -> None:
    config("interface Loopback1")
    assert config.mode is INTERFACE
    assert config("hostname R2") == ""
    assert config.mode is CONFIG
    assert config.router.hostname == "R2"


def test_walk_up_reports_the_error_that_got_furthest(config: Cli) -> None:
    """An error in a global command typed in a sub-mode is shown where IOS shows it."""
    config("interface Loopback1")
    prompt = len("CA-server-1(config-if)#")
    assert config("hostname") == "% Incomplete command.\n\n"
    assert config("hostnane S1").startswith(" " * (prompt + 6) + "^\n")
    assert config("hostname a b").startswith(" " * (prompt + 11) + "^\n")
    assert config("ip address 10.1.1.300 255.0.0.0").startswith(" " * (prompt + 18) + "^\n")
    assert config.mode is INTERFACE  # failures leave the mode alone


def test_do_with_an_unknown_word_tries_it_as_a_host(config: Cli) -> None:
    config("no ip domain lookup")
    assert config("do foo") == (
        'Translating "foo"\n% Unknown command or computer name, or unable to find computer '
        "address\n"
    )
    assert config("do foo bar").endswith("% Invalid input detected at '^' marker.\n\n")


def test_unknown_exec_word_waits_for_dns_on_the_lab_clock(cli: Cli) -> None:
    before = cli.lab.loop.time()
    out = cli("foo")
    assert out == (
        'Translating "foo"...domain server (255.255.255.255)\n'
        "% Unknown command or computer name, or unable to find computer address\n"
    )
    assert cli.lab.loop.time() - before >= 3.0


def test_output_filters_in_a_session(cli: Cli) -> None:
    assert cli("show running-config | include ^interface|^line") == (
        "interface GigabitEthernet0/0\ninterface GigabitEthernet0/1\n"
        "line con 0\nline aux 0\nline vty 0 4\n"
    )
    assert cli("sh run | i line vty 0 4") == "line vty 0 4\n"  # the regex has spaces
    assert cli("show running-config | count ^interface") == (
        "Number of lines which match regexp = 2\n"
    )
    section = cli("show running-config | section GigabitEthernet0/1").splitlines()
    assert section[0] == "interface GigabitEthernet0/1"
    assert " media-type rj45" in section and "interface GigabitEthernet0/0" not in section
    assert cli("show running-config | begin ^line").startswith("line con 0\n")
    assert "!" not in cli("show running-config | exclude !")
    assert cli.configure()("do show running-config | i ^hostname") == "hostname CA-server-1\n"


def test_dialogs_are_answered_from_the_queue(cli: Cli) -> None:
    assert cli("clear logging", "n") == "Clear logging buffer [confirm]"
    assert cli.terminal.questions == ["Clear logging buffer [confirm]"]
    with pytest.raises(DialogExhausted):
        cli("clear logging")


def test_interface_mode_binds_the_interface(config: Cli) -> None:
    config("int lo007")
    config("ip address 10.9.9.9 255.255.255.255")
    assert "interface Loopback7" in config.body()
    assert " ip address 10.9.9.9 255.255.255.255" in config.body()
    config("exit")
    config("no interface Loopback7")
    assert "interface Loopback7" not in config.body()


# --------------------------------------------------------------------------- handlers


def _negatable() -> list[Command]:
    return [c for c in REGISTRY if c.syntax.startswith("[no] ")]


def _no_form_names(command: Command) -> set[str]:
    """Argument names the ``no`` form may leave out (bound only inside optional groups)."""
    root_node = compile_mode(command.mode, 15, [command]).root
    no_node = next(c for c in root_node.children if c.kind and c.kind.key() == ("Keyword", "no"))
    always: set[str] | None = None
    all_names: set[str] = set()
    # Every path from 'no' to an end: the names bound on it.
    stack: list[tuple[Node, frozenset[str], frozenset[int]]] = [(no_node, frozenset(), frozenset())]
    while stack:
        node, names, seen = stack.pop()
        if node.end is not None and node.end.negate:
            always = set(names) if always is None else always & names
        for child in node.children:
            if id(child) in seen or child.marker is not None:
                continue
            bound = {n for n in (child.name, child.group) if n}
            all_names |= bound
            stack.append((child, names | bound, seen | {id(child)}))
    return all_names - (always or set())


@pytest.mark.parametrize("command", _negatable(), ids=lambda c: f"{c.mode.name}: {c.syntax}")
def test_handlers_default_what_the_no_form_may_leave_out(command: Command) -> None:
    """``[no] x <n>`` also matches ``no x``: the handler must not need ``n`` then."""
    params = inspect.signature(command.handler).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for name in sorted(_no_form_names(command)):
        if takes_any and name not in params:
            continue
        assert name in params, f"{command.handler.__name__} does not take {name!r}"
        assert params[name].default is not inspect.Parameter.empty, (
            f"'no' form of {command.syntax!r} may leave out {name!r}, but "
            f"{command.handler.__module__}.{command.handler.__name__} has no default for it"
        )
