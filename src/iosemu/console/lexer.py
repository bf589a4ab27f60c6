"""A Pygments lexer for Cisco IOS: CLI sessions, configurations and log output.

One lexer serves the rich console (the line being typed, and everything the router prints
above it) and ``pygmentize`` on saved sessions and configs, so it has to cope with a mix:
prompts and the commands typed after them, configuration lines, show output, syslog and
debug lines, certificate hex blocks. It works line by line: the start of a line says what
kind of line it is, the rest is lexed for values (addresses, interfaces, numbers, strings).
It must never fail on text it does not know, so every state ends in a catch-all rule and
nothing ever produces an ``Error`` token.

Token types, so that styles and tests can rely on them:

* prompt (``R1(config-if)#``): ``Generic.Prompt``; the command after it: ``Keyword``
* configuration keyword at the start of a line: ``Keyword``; ``no``/``default``/``do``:
  ``Keyword.Reserved``; known words later on the line: ``Name.Builtin``
* ``!`` lines: ``Comment.Single``; ``% ...`` errors: ``Generic.Error``, other ``%`` notes:
  ``Generic.Emph``; ping's ``!!!!!``: ``Generic.Strong``; ``--More--``: ``Generic.Subheading``
* syslog/debug timestamp and any time of day: ``Literal.Date``; ``%HSRP-5-STATECHANGE``:
  ``Name.Exception``; a debug tag (``PKI:``): ``Name.Label``
* IPv4 address, mask or prefix: ``Number.IPv4``; MAC address: ``Number.Mac``; hex groups
  of certificates and fingerprints, ``0x..``: ``Number.Hex``; other numbers:
  ``Number.Integer`` / ``Number.Float``
* interface names (``GigabitEthernet0/0``, ``gi0/0``, ``Lo0``): ``Name.Variable``
* quoted strings: ``String.Double``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from pygments.lexer import Lexer, RegexLexer, default, include
from pygments.token import (
    Comment,
    Generic,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
    _TokenType,
)

__all__ = ["CONFIG_KEYWORDS", "IosCommandLexer", "IosLexer"]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that start a configuration line (top level and sub-modes) or an EXEC command.
CONFIG_KEYWORDS = _word_set(
    """
    aaa access-list address-family alias archive association authentication auto-enroll
    banner boot boot-end-marker boot-start-marker bridge cdp cdp-url certificate class-map
    clock control-plane crl crypto database default description dial-peer dot11 duplex
    enable encapsulation end enrollment exec-timeout exit fingerprint grant hash hostname
    interface ip ip-address ipc ipv6 issuer-name key key-string license lifetime line
    local-ip local-port logging login mac-address media-type mtu multilink neighbor network
    no ntp password policy-map privilege protocol quit redundancy remote-ip remote-port
    revocation-check route-map router rsakeypair scheduler scheme serial-number service
    shutdown snmp-server speed standby subject-name transport username version vrf vtp
    """
)

# Further words worth showing as part of the command language when they follow one.
_MORE_WORDS = _word_set(
    """
    access-class accounting active address all authenticate brief buffered certificates chain
    clear clock configure console copy counters crl debug delay detail dir disable domain
    enroll exec export generate general-keys hsrp http import include inter-device
    interfaces label lookup memory minimum mode modulus monitor mypubkey name nvram pki
    ping preempt priority pubkey-chain reload rsa running-config secret secure-server
    server show source-route standby startup-config state states status synchronous
    terminal timers timestamps timezone trustpoint trustpoints undebug url verbose write
    zone
    """
)
_KNOWN_WORDS = CONFIG_KEYWORDS | _MORE_WORDS

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# `*Jun  3 01:41:02.791: `, `Jun  3 2010 01:41:02.791 UTC: `, `00:01:23: `, `1d02h: `.
_TIMESTAMP = (
    rf"[*.]?(?:(?:{_MONTHS})[ ]+\d{{1,2}}(?:[ ]+\d{{4}})?[ ]+\d{{1,2}}:\d\d:\d\d(?:\.\d+)?"
    r"(?:[ ][A-Z]{2,5})?|\d{1,2}:\d\d:\d\d|\d+[wd]\d+[dh])"
)
_TIME = r"\d{1,2}:\d\d:\d\d(?:\.\d+)?(?!\d)"
_IPV4 = r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?![\w/]|\.\d)"
_MAC = r"(?<![\w.])[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}(?![\w.])"
_IFACE_FULL = (
    "GigabitEthernet|FastEthernet|TenGigabitEthernet|Ethernet|Serial|Loopback|Tunnel|Vlan|"
    "Port-channel|Dialer|Virtual-Template|Virtual-Access|BVI|Null|Async|Cellular|Multilink|"
    "Embedded-Service-Engine|NVI"
)
_IFACE_NUMBER = r"\d+(?:/\d+)*(?:\.\d+)?(?![\w/])"
_INTERFACE = (
    rf"(?i:(?:{_IFACE_FULL})[ ]?{_IFACE_NUMBER}"
    rf"|(?:gi|fa|te|eth?|se|lo|tu|vl|po|di|nu){_IFACE_NUMBER}"
    rf"|(?:gi|fa|te)[ ]\d+/{_IFACE_NUMBER}"
    rf"|[gfes]\d+/{_IFACE_NUMBER})"
)
# A certificate or key hex line: groups of up to 8 hex digits, the first one full.
_HEX_LINE = r"(?=[ \t]*[0-9A-Fa-f]{8}(?:[ \t]+[0-9A-Fa-f]{1,8})*[ \t]*$)"
# An 8-digit hex group standing alone (fingerprints), with at least one digit in it.
_HEX_GROUP = r"(?<![\w.])(?=[A-Fa-f]*\d)[0-9A-Fa-f]{8}(?![\w.])"
_ERROR_WORDS = re.compile(
    r"\b(?:Invalid|Incomplete|Ambiguous|Unrecognized|Unknown|Bad|Error|Failed|failed|"
    r"not|cannot|Cannot|denied|refused|unable|Unable)\b"
)

Token = tuple[int, _TokenType, str]

_keyword_alternatives = "|".join(
    re.escape(w) for w in sorted(CONFIG_KEYWORDS, key=lambda w: (-len(w), w))
)


def _groups(*types: _TokenType) -> Callable[[Lexer, re.Match[str]], Iterator[Token]]:
    """Like Pygments' ``bygroups``, but without empty tokens for groups that matched nothing."""

    def callback(lexer: Lexer, match: re.Match[str]) -> Iterator[Token]:
        for index, token_type in enumerate(types, start=1):
            text = match.group(index)
            if text:
                yield match.start(index), token_type, text

    return callback


def _nothing(lexer: Lexer, match: re.Match[str]) -> Iterator[Token]:
    """For a look-ahead that only switches state."""
    return iter(())


def _percent_line(lexer: Lexer, match: re.Match[str]) -> Iterator[Token]:
    """``% ...``: an error when it says something went wrong, otherwise a notice."""
    text = match.group(0)
    yield match.start(), Generic.Error if _ERROR_WORDS.search(text) else Generic.Emph, text


def _word(lexer: Lexer, match: re.Match[str]) -> Iterator[Token]:
    """A word of a command line: part of the command language, or the user's own name."""
    text = match.group(0)
    yield match.start(), Name.Builtin if text.lower() in _KNOWN_WORDS else Text, text


class IosLexer(RegexLexer):
    """Cisco IOS CLI sessions and configurations."""

    name = "Cisco IOS"
    aliases: ClassVar[list[str]] = ["ios", "cisco-ios", "iosemu"]
    filenames: ClassVar[list[str]] = ["*.ios"]
    mimetypes: ClassVar[list[str]] = ["text/x-cisco-ios"]
    url = "https://www.cisco.com/c/en/us/support/ios-nx-os-software/index.html"
    flags = re.MULTILINE

    tokens: ClassVar[dict[str, list]] = {  # type: ignore[type-arg]
        # At the start of a line: decide what kind of line it is.
        "root": [
            (r"\n", Whitespace),
            (r"[ \t]*\^[ \t]*$", Generic.Error),  # the caret under a bad character
            (r"[A-Za-z][\w.-]*(?:\([\w-]+\))?[>#]", Generic.Prompt, "command"),
            (r"(?=[!.]*!)(?=[!.]{2,}$)[!.]+", Generic.Strong),  # ping results
            (r"[ \t]*!.*", Comment.Single),
            (r"%.*", _percent_line),
            (r"[ \t]*--More--[ \t]*", Generic.Subheading),
            (
                rf"({_TIMESTAMP})(:)",
                _groups(Literal.Date, Punctuation),
                "logmsg",
            ),
            (_HEX_LINE, _nothing, "hexline"),
            (
                rf"([ \t]*)((?:no|default)(?=[ \t]))?([ \t]*)({_keyword_alternatives})"
                r"(?![\w-])",
                _groups(Whitespace, Keyword.Reserved, Whitespace, Keyword),
                "args",
            ),
            default("output"),
        ],
        # After a prompt: what was typed.
        "command": [
            (r"[ \t]+", Whitespace),
            (r"(?=[0-9A-Fa-f]{8}(?:[ \t]|$))", _nothing, ("#pop", "hexline")),
            (r"(?:no|default|do)(?=[ \t])", Keyword.Reserved),
            (r"\^[A-Z@\[\\\]^_]", String.Escape),  # ^Z, ^C echoed by the line
            (r"[A-Za-z][\w-]*", Keyword, ("#pop", "args")),
            default(("#pop", "args")),
        ],
        # The rest of a command or configuration line.
        "args": [
            (r"\n", Whitespace, "#pop"),
            (r"(\|)([ \t]*)([A-Za-z]+)?", _groups(Operator, Whitespace, Keyword)),
            (r"\^[A-Z@\[\\\]^_]", String.Escape),
            include("values"),
            (r"[A-Za-z_][\w-]*", _word),
            include("rest"),
        ],
        # Output: values stand out, words are plain.
        "output": [
            (r"\n", Whitespace, "#pop"),
            (r"[ \t]*--More--[ \t]*", Generic.Subheading),
            include("values"),
            (r"[A-Za-z_][\w-]*", Text),
            include("rest"),
        ],
        # After a log timestamp: the message's tag, then the message.
        "logmsg": [
            (
                r"([ \t]*)(%[A-Z][A-Z0-9_]*-\d-[A-Z0-9_]+)(:?)",
                _groups(Whitespace, Name.Exception, Punctuation),
                ("#pop", "output"),
            ),
            (
                r"([ \t]*)([A-Z][A-Z0-9_]*(?:[ ][A-Z][A-Z0-9_]*)?)(:)",
                _groups(Whitespace, Name.Label, Punctuation),
                ("#pop", "output"),
            ),
            default(("#pop", "output")),
        ],
        # A line of certificate or key hex (in a config or typed at a hex prompt).
        "hexline": [
            (r"\n", Whitespace, "#pop"),
            (r"[ \t]+", Whitespace),
            (r"[0-9A-Fa-f]+", Number.Hex),
            include("rest"),
        ],
        "values": [
            (r"[ \t]+", Whitespace),
            (r'"[^"\n]*"', String.Double),
            (_TIME, Literal.Date),
            (_MAC, Number.Mac),
            (_IPV4, Number.IPv4),
            (_INTERFACE, Name.Variable),
            (r"(?<![\w.])%[A-Z][A-Z0-9_]*-\d-[A-Z0-9_]+", Name.Exception),
            (r"0x[0-9A-Fa-f]+(?!\w)", Number.Hex),
            (_HEX_GROUP, Number.Hex),
            (r"\d+\.\d+(?![\d.])", Number.Float),
            (r"\d+", Number.Integer),
        ],
        # Anything else, one character at a time: never an Error token.
        "rest": [
            (r"->", Operator),
            (r"[()\[\]{},:;=<>/#.@|?*+]", Punctuation),
            (r"[^\n]", Text),
        ],
    }

    @staticmethod
    def analyse_text(text: str) -> float:
        """Recognise saved sessions and configurations, modestly (other lexers guess too)."""
        score = 0.0
        if re.search(r"^[A-Za-z][\w.-]*(?:\(config[\w-]*\))?#(?:show|sh|conf)", text, re.M):
            score += 0.3
        if re.search(r"^hostname \S+$", text, re.M) and re.search(r"^interface \S+", text, re.M):
            score += 0.3
        if "Building configuration..." in text:
            score += 0.2
        return min(score, 0.8)


class IosCommandLexer(IosLexer):
    """A command line as typed after the prompt, without it: the rich console's input line.

    Not registered by name: it is ``IosLexer`` started in the state that follows a prompt.
    """

    name = "Cisco IOS command line"
    aliases: ClassVar[list[str]] = []
    filenames: ClassVar[list[str]] = []
    mimetypes: ClassVar[list[str]] = []

    def get_tokens_unprocessed(
        self, text: str, stack: Iterable[str] = ("root", "command")
    ) -> Iterator[Token]:
        return super().get_tokens_unprocessed(text, stack)
