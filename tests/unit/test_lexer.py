"""The IOS Pygments lexer on real IOS text: sessions, configurations, logs.

The samples are taken from the captures quoted in the project's IOS reference (whitespace
kept, including the TAB before a certificate's ``quit``).
"""

from __future__ import annotations

import pygments.lexers
import pytest
from pygments.token import (
    Comment,
    Error,
    Generic,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    _TokenType,
)

from iosemu.console.lexer import IosCommandLexer, IosLexer

LAST_HEX_LINE = "6B475AC5 9F5B03D9 84F4D29E 44BDC380 5F8FBE7B 3193A64C D949A7BE F87ADE"
RUNNING_CONFIG = """\
CA-server-2#show running-config
Building configuration...

Current configuration : 2915 bytes
!
! Last configuration change at 04:01:59 UTC Thu Jun 3 2010
version 15.1
service timestamps debug datetime msec
service timestamps log datetime msec
no service password-encryption
!
hostname CA-server-2
!
boot-start-marker
boot-end-marker
!
crypto pki server PKI-HA
 redundancy
crypto pki token default removal timeout 0
!
crypto pki trustpoint PKI-HA
 redundancy
 revocation-check crl
 rsakeypair PKI-HA
!
!
crypto pki certificate chain PKI-HA
 certificate ca 01
  308201FB 30820164 A0030201 02020101 300D0609 2A864886 F70D0101 04050030\x20
  11310F30 0D060355 04031306 504B492D 4841301E 170D3130 30363033 30343031\x20
  6B475AC5 9F5B03D9 84F4D29E 44BDC380 5F8FBE7B 3193A64C D949A7BE F87ADE
  \tquit
!
redundancy inter-device
 scheme standby SB
!
ipc zone default
 association 1
  no shutdown
  protocol sctp
   local-port 5000
    local-ip 10.1.32.84
   remote-port 5000
    remote-ip 10.1.32.83
!
interface GigabitEthernet0/0
 ip address 10.1.32.84 255.255.255.0
 standby delay minimum 30 reload 60
 standby 0 ip 10.1.32.86
 standby 0 priority 50
 standby 0 name SB
 duplex auto
 speed auto
 media-type rj45
!
line con 0
line vty 0 4
 login
!
scheduler allocate 20000 1000
end

CA-server-2#
"""

SESSION_WITH_ERRORS = """\
R1(config)#logging 0255.255.1
                   ^
% Invalid input detected at '^' marker.

R1(config)#logging
% Incomplete command.

R1(config)#i
% Ambiguous command:  "i"
R1(config)#logging buffered 20010
R1(config-if)#^Z
R1#
router#ls
Translating "ls"...domain server (255.255.255.255)
% Unknown command or computer name, or unable to find computer address
R15#show run | include hostname
R15#sh int gigabitEthernet 0/0
CA-server-1(cs-server)#no shutdown
% Start certificate enrollment ..\x20
R15#ping 10.15.18.1
!!!!!
"""

SYSLOG = """\
*Jun  3 01:41:02.791: %HSRP-5-STATECHANGE: GigabitEthernet0/0 Grp 0 state Standby -> Active
Jun  3 06:53:44.691: %PKI-6-CS_ENABLED: Certificate server now enabled.
*Apr  2 18:15:11.756: %SYS-5-CONFIG_I: Configured from console by console
02:16:23: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.100)
*Jun  3 01:41:00.439: REDUNDANCY INTERDEV: event: RF_INTERDEV_EVENT_HSRP_STDBY state: X -> Y
*Jun  3 04:01:15.735: PKI: pki_send_ha_peer_request: "+crypto pki server PKI-HA"
*Apr  3 20:24:40.508: CRYPTO_PKI:  Certificate Request Fingerprint MD5: 5D24B05C 5837285A 1326C28F B4FDA15C
"""  # noqa: E501

SHOW_OUTPUT = """\
GigabitEthernet0/0 - Group 0
  State is Active
  Virtual IP address is 10.1.32.86
  Active virtual MAC address is 0000.0c07.ac00
    Local virtual MAC address is 0000.0c07.ac00 (v1 default)
  Hello time 3 sec, hold time 10 sec
Processor board ID FTX1234A5BC
  Hardware is CN Gigabit Ethernet, address is 0013.19ca.6350 (bia 0013.19ca.6350)
*01:41:02.791 UTC Thu Jun 3 2010
 --More--\x20
"""

Tokens = list[tuple[_TokenType, str]]


def lex(text: str, lexer: IosLexer | None = None) -> Tokens:
    lexer = lexer or IosLexer(stripnl=False)
    return [(t, v) for t, v in lexer.get_tokens(text) if v]


def token_of(tokens: Tokens, value: str, occurrence: int = 0) -> _TokenType:
    """The token type of the ``occurrence``-th token whose text is exactly ``value``."""
    found = [t for t, v in tokens if v == value]
    assert len(found) > occurrence, f"{value!r} is not a token; tokens: {tokens}"
    return found[occurrence]


def line_tokens(tokens: Tokens, line_no: int) -> Tokens:
    """The non-blank tokens of one line (0-based) of the lexed text."""
    out: list[list[tuple[_TokenType, str]]] = [[]]
    for t, v in tokens:
        parts = v.split("\n")
        for i, part in enumerate(parts):
            if i:
                out.append([])
            if part.strip():
                out[-1].append((t, part))
    return out[line_no]


def line_starting(text: str, tokens: Tokens, start: str) -> Tokens:
    """The tokens of the first line of ``text`` that starts with ``start``."""
    lines = text.splitlines()
    return line_tokens(tokens, next(i for i, line in enumerate(lines) if line.startswith(start)))


@pytest.mark.parametrize("text", [RUNNING_CONFIG, SESSION_WITH_ERRORS, SYSLOG, SHOW_OUTPUT])
def test_samples_lex_without_errors_and_keep_every_character(text: str) -> None:
    tokens = lex(text)
    assert [v for t, v in tokens if t in Error] == []
    assert "".join(v for _, v in tokens) == text


def test_running_config() -> None:
    tokens = lex(RUNNING_CONFIG)
    assert line_tokens(tokens, 0) == [
        (Generic.Prompt, "CA-server-2#"),
        (Keyword, "show"),
        (Name.Builtin, "running-config"),
    ]
    assert token_of(tokens, "!") in Comment
    assert token_of(tokens, "! Last configuration change at 04:01:59 UTC Thu Jun 3 2010") in (
        Comment
    )
    assert token_of(tokens, "version") is Keyword
    assert token_of(tokens, "15.1") in Number
    assert token_of(tokens, "hostname") is Keyword
    assert token_of(tokens, "crypto") is Keyword
    assert token_of(tokens, "interface") is Keyword
    assert token_of(tokens, "GigabitEthernet0/0") is Name.Variable
    assert token_of(tokens, "10.1.32.84") is Number.IPv4
    assert token_of(tokens, "255.255.255.0") is Number.IPv4
    assert line_starting(RUNNING_CONFIG, tokens, " standby delay")[0] == (Keyword, "standby")
    assert token_of(tokens, "no") is Keyword.Reserved
    assert token_of(tokens, "end") is Keyword
    assert token_of(tokens, "2915") is Number.Integer


def test_certificate_hex_block_and_its_quit() -> None:
    tokens = lex(RUNNING_CONFIG)
    lines = RUNNING_CONFIG.splitlines()
    hex_line = line_tokens(tokens, lines.index("  " + LAST_HEX_LINE))
    assert [t for t, _ in hex_line] == [Number.Hex] * 8
    assert hex_line[-1] == (Number.Hex, "F87ADE")  # the short last group too
    quit_line = line_tokens(tokens, lines.index("  \tquit"))
    assert quit_line == [(Keyword, "quit")]
    assert line_starting(RUNNING_CONFIG, tokens, " certificate")[:3] == [
        (Keyword, "certificate"),
        (Text, "ca"),
        (Number.Integer, "01"),
    ]


def test_hex_typed_at_the_hex_prompt() -> None:
    tokens = lex("CA-server-1(config-pubkey)#308201FB 30820164 A0030201\n")
    assert tokens[0] == (Generic.Prompt, "CA-server-1(config-pubkey)#")
    assert [t for t, v in tokens[1:] if v.strip()] == [Number.Hex] * 3


def test_prompts_of_every_mode() -> None:
    for prompt in ("R1>", "R1#", "R1(config)#", "R1(config-if)#", "CA-server-1(cs-server)#",
                   "CA-server-1(ca-trustpoint)#", "R1(config-ipc-protocol-sctp)#"):  # fmt: skip
        tokens = lex(f"{prompt}exit\n")
        assert tokens[0] == (Generic.Prompt, prompt)
        assert tokens[1] == (Keyword, "exit")


def test_session_with_errors() -> None:
    tokens = lex(SESSION_WITH_ERRORS)
    assert line_tokens(tokens, 1) == [(Generic.Error, "                   ^")]
    assert token_of(tokens, "% Invalid input detected at '^' marker.") is Generic.Error
    assert token_of(tokens, "% Incomplete command.") is Generic.Error
    assert token_of(tokens, '% Ambiguous command:  "i"') is Generic.Error
    assert token_of(tokens, "% Start certificate enrollment .. ") is Generic.Emph
    assert token_of(tokens, "^Z") is String.Escape
    assert token_of(tokens, '"ls"') is String.Double
    assert token_of(tokens, "255.255.255.255") is Number.IPv4
    assert token_of(tokens, "|") is Operator
    assert token_of(tokens, "include") is Keyword
    assert token_of(tokens, "gigabitEthernet 0/0") is Name.Variable
    assert line_starting(SESSION_WITH_ERRORS, tokens, "CA-server-1")[:3] == [
        (Generic.Prompt, "CA-server-1(cs-server)#"),
        (Keyword.Reserved, "no"),
        (Keyword, "shutdown"),
    ]
    assert token_of(tokens, "!!!!!") is Generic.Strong
    assert token_of(tokens, "10.15.18.1") is Number.IPv4


def test_syslog_and_debug_lines() -> None:
    tokens = lex(SYSLOG)
    assert line_tokens(tokens, 0)[:5] == [
        (Literal.Date, "*Jun  3 01:41:02.791"),
        (Punctuation, ":"),
        (Name.Exception, "%HSRP-5-STATECHANGE"),
        (Punctuation, ":"),
        (Name.Variable, "GigabitEthernet0/0"),
    ]
    assert line_tokens(tokens, 1)[0] == (Literal.Date, "Jun  3 06:53:44.691")
    assert line_tokens(tokens, 1)[2] == (Name.Exception, "%PKI-6-CS_ENABLED")
    assert line_tokens(tokens, 3)[0] == (Literal.Date, "02:16:23")
    assert token_of(tokens, "10.0.0.100") is Number.IPv4
    assert line_tokens(tokens, 4)[2] == (Name.Label, "REDUNDANCY INTERDEV")
    assert line_tokens(tokens, 5)[2] == (Name.Label, "PKI")
    assert token_of(tokens, '"+crypto pki server PKI-HA"') is String.Double
    assert token_of(tokens, "5D24B05C") is Number.Hex
    assert token_of(tokens, "B4FDA15C") is Number.Hex


def test_show_output_values() -> None:
    tokens = lex(SHOW_OUTPUT)
    assert token_of(tokens, "GigabitEthernet0/0") is Name.Variable
    assert token_of(tokens, "10.1.32.86") is Number.IPv4
    assert token_of(tokens, "0000.0c07.ac00") is Number.Mac
    assert token_of(tokens, "0013.19ca.6350") is Number.Mac
    assert token_of(tokens, "3") is Number.Integer
    assert token_of(tokens, "State") is not Keyword  # output words are not keywords
    assert token_of(tokens, "01:41:02.791") is Literal.Date
    assert token_of(tokens, " --More-- ") is Generic.Subheading


def test_command_lexer_starts_after_the_prompt() -> None:
    lexer = IosCommandLexer(stripnl=False, ensurenl=False)
    tokens = [(t, v) for t, v in lexer.get_tokens("sh ip int brief | i Gi0/0") if v.strip()]
    assert tokens == [
        (Keyword, "sh"),
        (Name.Builtin, "ip"),
        (Text, "int"),  # an abbreviation: only whole words are known
        (Name.Builtin, "brief"),
        (Operator, "|"),
        (Keyword, "i"),
        (Name.Variable, "Gi0/0"),
    ]
    assert lex("no standby 0 ip 10.1.1.1", lexer)[0] == (Keyword.Reserved, "no")


def test_guessing_is_modest() -> None:
    assert IosLexer.analyse_text(RUNNING_CONFIG) > 0
    assert IosLexer.analyse_text("def f(x):\n    return x  # hostname\n") == 0


def test_found_by_name_through_the_entry_point() -> None:
    for alias in ("ios", "cisco-ios", "iosemu"):
        assert isinstance(pygments.lexers.get_lexer_by_name(alias), IosLexer)
    assert isinstance(pygments.lexers.get_lexer_for_filename("lab.ios"), IosLexer)
