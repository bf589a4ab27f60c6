"""``?`` help and Tab completion: IOS's listing format, ``word?``, and help text everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import Cli

import iosemu.api  # noqa: F401 - registers every feature's commands
from iosemu.features.interfaces import INTERFACE
from iosemu.parser.grammar import CONFIG, EXEC, REGISTRY, Command, Mode, Node, compile_mode
from iosemu.parser.help import HelpList, complete, format_help, help_for
from iosemu.parser.match import Failed
from iosemu.session import grammar

T = Mode("t-help", "")  # a test-only mode, never registered
TC = Mode("t-help-config", "(t)", parent=CONFIG)


def _noop(*_: Any, **__: Any) -> None:
    """Handlers are never run here."""


def root(*specs: tuple[str, str] | Command, mode: Mode = T, exec_root: Node | None = None) -> Node:
    cmds = [
        s if isinstance(s, Command) else Command(mode, s[0], _noop, s[1].split("|")) for s in specs
    ]
    return compile_mode(mode, 15, cmds, exec_root=exec_root).root


def listing(node: Node, text: str, width: int = 80) -> list[str]:
    result = help_for(node, text)
    assert isinstance(result, HelpList), f"{text!r}: {result}"
    return format_help(result, width)


TOY = root(
    (
        "show clock [detail]",
        "Show running system information|Display the system clock|Display detailed information",
    ),
    ("show version", "|System hardware and software status"),
    ("show ip interface brief", "|IP information|IP interface status|Brief summary"),
    (
        "standby <0-255>$group ip A.B.C.D$address",
        "HSRP interface configuration commands|"
        "group number|Enable HSRP and set the virtual IP address|Virtual IP address",
    ),
    ("standby version {1|2}", "|HSRP version|Version 1|Version 2"),
    (
        "clock timezone WORD$name <-23-23>$hours [<0-59>$minutes]",
        "Configure time-of-day clock|"
        "Configure time zone|name of time zone|Hours offset from UTC|Minutes offset from UTC",
    ),
    ("configure [terminal]", "Enter configuration mode|Configure from the terminal"),
    (
        "copy running-config startup-config",
        "Copy from one file to another|"
        "Copy from current system configuration|Copy to startup configuration",
    ),
    ("connect WORD$host", "Open a terminal connection|IP address or hostname"),
    ("description LINE$text", "Interface specific description|Up to 240 characters"),
    (
        "stamps [datetime [msec|year]*|uptime]$style",
        "Timestamps|Date and time|Milliseconds|Year|Uptime",
    ),
    ("Zulu", "An upper-case keyword sorts before lower-case ones"),
)


# --------------------------------------------------------------------------- the listing


def test_listing_has_two_leading_spaces_and_a_column_two_past_the_longest_word() -> None:
    assert listing(TOY, "") == [
        "  Zulu         An upper-case keyword sorts before lower-case ones",
        "  clock        Configure time-of-day clock",
        "  configure    Enter configuration mode",
        "  connect      Open a terminal connection",
        "  copy         Copy from one file to another",
        "  description  Interface specific description",
        "  show         Show running system information",
        "  stamps       Timestamps",
        "  standby      HSRP interface configuration commands",
    ]


def test_cr_comes_last_when_the_line_is_already_a_command() -> None:
    assert listing(TOY, "configure ") == [
        "  terminal  Configure from the terminal",
        "  <cr>",
    ]
    assert listing(TOY, "configure terminal ") == ["  <cr>"]


def test_shared_help_fills_words_left_empty() -> None:
    assert listing(TOY, "show ") == [
        "  clock    Display the system clock",
        "  ip       IP information",
        "  version  System hardware and software status",
    ]


def test_placeholders_sort_before_keywords_in_ascii_order() -> None:
    assert listing(TOY, "standby ") == [
        "  <0-255>  group number",
        "  version  HSRP version",
    ]
    assert listing(TOY, "standby 1 ") == ["  ip  Enable HSRP and set the virtual IP address"]
    assert listing(TOY, "standby 1 ip ") == ["  A.B.C.D  Virtual IP address"]
    assert listing(TOY, "standby version ") == ["  1  Version 1", "  2  Version 2"]


def test_value_placeholders() -> None:
    assert listing(TOY, "clock timezone ") == ["  WORD  name of time zone"]
    assert listing(TOY, "clock timezone PST ") == ["  <-23-23>  Hours offset from UTC"]
    assert listing(TOY, "clock timezone PST -8 ") == [
        "  <0-59>  Minutes offset from UTC",
        "  <cr>",
    ]
    assert listing(TOY, "description ") == ["  LINE  Up to 240 characters"]
    assert listing(TOY, "description some text ") == ["  <cr>"]


def test_repeat_group_offers_its_alternatives_again() -> None:
    assert listing(TOY, "stamps datetime msec ") == [
        "  msec  Milliseconds",
        "  year  Year",
        "  <cr>",
    ]
    assert listing(TOY, "stamps ") == [
        "  datetime  Date and time",
        "  uptime    Uptime",
        "  <cr>",
    ]


def test_show_commands_offer_output_modifiers() -> None:
    node = grammar(EXEC).root
    assert listing(node, "show clock ") == [
        "  detail  Display detailed information",
        "  |       Output modifiers",
        "  <cr>",
    ]
    assert listing(node, "show clock detail ") == ["  |  Output modifiers", "  <cr>"]
    assert listing(node, "show clock | ") == [
        "  begin    Begin with the line that matches",
        "  count    Count number of lines which match regexp",
        "  exclude  Exclude lines that match",
        "  include  Include lines that match",
        "  section  Filter a section of output",
    ]
    assert listing(node, "show clock | include ") == ["  LINE  Regular Expression"]
    assert "  |" not in " ".join(listing(node, "terminal length 0 "))


def test_help_after_abbreviations_and_extra_spaces() -> None:
    assert listing(TOY, "sh   ip  int ") == ["  brief  Brief summary"]


# --------------------------------------------------------------------------- word?


def test_word_question_mark_lists_completions_on_one_line() -> None:
    assert listing(TOY, "co") == ["configure  connect  copy"]
    assert listing(TOY, "CON") == ["configure  connect"]
    assert listing(TOY, "show c") == ["clock"]
    assert listing(TOY, "z") == ["Zulu"]


def test_word_question_mark_wraps_at_the_terminal_width() -> None:
    words = [f"keyword{n:02d}" for n in range(12)]
    node = root(*((w, "help") for w in words))
    lines = listing(node, "k", width=40)
    assert all(len(line) <= 39 for line in lines)
    assert "  ".join(lines).split() == words
    assert len(lines) > 1


def test_word_question_mark_on_values() -> None:
    assert listing(TOY, "standby 2") == ["<0-255>"]
    assert listing(TOY, "clock timezone PST -") == ["<-23-23>"]
    assert listing(TOY, "clock timezone PST -2") == ["<-23-23>"]
    assert listing(TOY, "connect h") == ["WORD"]
    for text in ("standby 256", "standby x", "clock timezone PST -30"):
        assert isinstance(help_for(TOY, text), Failed), text


def test_word_question_mark_on_glued_interface_names() -> None:
    node = grammar(EXEC).root
    assert listing(node, "show interfaces g") == ["GigabitEthernet"]
    assert listing(node, "show interfaces gi0/") == ["<0-0>"]
    assert listing(node, "show interfaces lo5") == ["<0-2147483647>"]
    assert isinstance(help_for(node, "show interfaces gi0/3"), Failed)


# --------------------------------------------------------------------------- errors


def test_help_on_a_bad_path_fails_where_the_matcher_does() -> None:
    bad = help_for(TOY, "show bogus ")
    assert isinstance(bad, Failed)
    assert (bad.reason, bad.column, bad.word_index) == ("invalid", 5, 1)
    amb = help_for(TOY, "co ")
    assert isinstance(amb, Failed) and amb.reason == "ambiguous"
    nothing = help_for(TOY, "xy")
    assert isinstance(nothing, Failed) and nothing.word_index == 0


def test_session_help_errors(cli: Cli) -> None:
    prompt = len("CA-server-1#")
    assert cli.help("xyz ") == ["% Unrecognized command"]
    assert cli.help("xyz") == ["% Unrecognized command"]
    assert cli.help("c ") == ['% Ambiguous command:  "c"']
    assert cli.help("show bogus ") == [
        " " * (prompt + 5) + "^",
        "% Invalid input detected at '^' marker.",
        "",
    ]


# --------------------------------------------------------------------------- Tab


@pytest.mark.parametrize(
    ("text", "completed"),
    [
        ("sh", "show "),
        ("SH", "show "),
        ("show cl", "show clock "),
        ("sh   v", "sh   version "),
        ("conf", "configure "),
        ("conf t", "conf terminal "),
        ("copy r", "copy running-config "),
        ("co", None),  # ambiguous: configure, connect, copy
        ("show ", None),  # nothing typed to complete
        ("standby 1", None),  # values do not complete
        ("connect h", None),
        ("xyz", None),
        ("bogus cl", None),
        ("", None),
    ],
)
def test_tab_completes_a_unique_keyword_prefix(text: str, completed: str | None) -> None:
    assert complete(TOY, text) == completed


def test_tab_completes_an_exact_keyword_that_prefixes_another() -> None:
    node = root(("log", "Log"), ("logging", "Logging"))
    assert complete(node, "lo") is None
    assert complete(node, "log") == "log "
    assert complete(node, "logg") == "logging "


def test_tab_in_real_modes(cli: Cli) -> None:
    assert cli.complete("sh ru") == "sh running-config "
    assert cli.complete("show run | s") == "show run | section "
    assert cli.complete("sh int g") == "sh int GigabitEthernet "
    cli.configure()
    assert cli.complete("do sh cl") == "do sh clock "
    assert cli.complete("int lo") == "int Loopback "


# --------------------------------------------------------------------------- do, no, hidden


def test_do_lists_exec_commands_and_no_lists_negatable_ones() -> None:
    exec_root = root(("show clock", "|Display the system clock"))
    node = root(
        Command(TC, "[no] shutdown", _noop, ["Shutdown the selected interface"]),
        Command(TC, "hostname WORD", _noop, ["Set system's network name", "name"]),
        mode=TC,
        exec_root=exec_root,
    )
    assert listing(node, "") == [
        "  default   Set a command to its defaults",
        "  do        To run exec commands in config mode",
        "  hostname  Set system's network name",
        "  no        Negate a command or set its defaults",
        "  shutdown  Shutdown the selected interface",
    ]
    assert listing(node, "do ") == ["  show  Show running system information"]
    assert listing(node, "no ") == ["  shutdown  Shutdown the selected interface"]
    assert listing(node, "default ") == ["  shutdown  Shutdown the selected interface"]


def test_no_forms_take_help_from_the_plain_form_at_the_same_place() -> None:
    node = root(
        ("redundancy", "Enter redundancy mode"),
        ("[no] redundancy inter-device", "|Inter-device redundancy configuration"),
    )
    assert listing(node, "no ") == ["  redundancy  Enter redundancy mode"]
    assert listing(node, "default redundancy ") == [
        "  inter-device  Inter-device redundancy configuration"
    ]


def test_hidden_commands_match_but_are_never_offered() -> None:
    node = root(
        Command(T, "ip domain lookup", _noop, ["", "IP DNS Resolver", "Enable lookup"]),
        Command(T, "ip domain-lookup", _noop, ["", "Enable lookup"], hidden=True),
        Command(T, "version WORD", _noop, ["Version", "Version number"], hidden=True),
    )
    assert listing(node, "") == ["  ip  Global IP configuration subcommands"]
    assert listing(node, "ip ") == ["  domain  IP DNS Resolver"]
    assert listing(node, "ip dom") == ["domain"]
    assert isinstance(help_for(node, "v"), Failed)
    assert complete(node, "ip domain-") is None
    assert complete(node, "ve") is None


def test_real_config_mode_hides_what_saved_configs_carry() -> None:
    words = [line.split()[0] for line in listing(grammar(CONFIG).root, "")]
    assert "version" not in words and "boot-start-marker" not in words
    assert "domain-lookup" not in " ".join(listing(grammar(CONFIG).root, "ip "))


# --------------------------------------------------------------------------- every mode


def _modes() -> list[Mode]:
    modes: list[Mode] = []
    for c in REGISTRY:
        if c.mode not in modes:
            modes.append(c.mode)
    return modes


def _missing_help(start: Node) -> list[str]:
    """Paths (as typed words) to every node that ``?`` would show without a description."""
    missing: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(start, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for child in node.children:
            assert child.kind is not None
            here = f"{path} {child.kind.display}".strip()
            if not child.help:
                missing.append(here)
            stack.append((child, here))
    return missing


@pytest.mark.parametrize("mode", _modes(), ids=lambda m: m.name)
def test_every_node_of_every_mode_has_help(mode: Mode) -> None:
    for priv in (1, 15) if mode is EXEC else (15,):
        assert _missing_help(grammar(mode, priv).root) == [], f"{mode.name} at priv {priv}"


def test_every_mode_has_commands() -> None:
    names = {m.name for m in _modes()}
    assert {"exec", "configure", "interface", "line", "control-plane"} <= names
    assert INTERFACE in _modes()
