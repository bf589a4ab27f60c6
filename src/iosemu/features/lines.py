"""Terminal lines: ``line con 0``, ``line aux 0``, ``line vty 0 4`` and their settings.

The console's settings are read by the console session: ``login``/``password`` ask for a
password, ``exec-timeout`` ends an idle exec, ``logging synchronous`` reprints the prompt
after a log message. Telnet and SSH connections to the router take a vty line each: the
first free one whose ``transport input`` lets their protocol in (vty_line.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from iosemu.device.router import Feature, Router
from iosemu.features.access import parse_password, render_password
from iosemu.parser.grammar import CONFIG, command
from iosemu.session import CommandError, Ctx, config_mode


@dataclass
class LineSettings:
    kind: str  # con, aux, vty
    number: int
    login: str = ""  # "", "login", "local"
    password: str | None = None
    exec_timeout: tuple[int, int] = (10, 0)
    logging_synchronous: bool = False
    privilege: int | None = None
    transport_input: str | None = None  # None: the platform default (all on 15.1)

    def accepts(self, protocol: str) -> bool:
        """Whether ``transport input`` lets a ``telnet`` or ``ssh`` connection in."""
        allowed = self.transport_input or "all"
        return allowed == "all" or protocol in allowed.split()

    def rendered(self, router: Router) -> list[str]:
        out = []
        if self.exec_timeout != (10, 0):
            out.append(" exec-timeout {} {}".format(*self.exec_timeout))
        if self.privilege is not None:
            out.append(f" privilege level {self.privilege}")
        if self.password is not None:
            out.append(f" password {render_password(router, self.password)}")
        if self.logging_synchronous:
            out.append(" logging synchronous")
        if self.login == "login":
            out.append(" login")
        elif self.login == "local":
            out.append(" login local")
        if self.transport_input is not None:
            out.append(f" transport input {self.transport_input}")
        return out


class Lines(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.lines: dict[tuple[str, int], LineSettings] = {}
        self.lines[("con", 0)] = LineSettings("con", 0)
        self.lines[("aux", 0)] = LineSettings("aux", 0)
        for n in range(5):
            self.lines[("vty", n)] = LineSettings("vty", n, login="login")
        # vty lines taken by a connection, from its arrival (SSH logs in on the line) to its end.
        self.busy: set[int] = set()

    def get(self, kind: str, number: int) -> LineSettings:
        return self.lines[(kind, number)]

    def take_vty(self, protocol: str) -> int | None:
        """The first free vty line that accepts ``protocol``, now taken; None if none is."""
        for kind, number in sorted(self.lines):
            line = self.lines[(kind, number)]
            if kind == "vty" and number not in self.busy and line.accepts(protocol):
                self.busy.add(number)
                return number
        return None

    def free_vty(self, number: int) -> None:
        self.busy.discard(number)

    def config(self, slot: str) -> list[str]:
        if slot != "lines":
            return []
        out: list[str] = []
        for kind in ("con", "aux", "vty"):
            group: list[LineSettings] = []
            for line in sorted(
                (s for s in self.lines.values() if s.kind == kind), key=lambda s: s.number
            ):
                if group and (
                    line.rendered(self.router) != group[0].rendered(self.router)
                    or line.number != group[-1].number + 1
                ):
                    out += _render_group(self.router, group)
                    group = []
                group.append(line)
            if group:
                out += _render_group(self.router, group)
        return out


def _render_group(router: Router, group: list[LineSettings]) -> list[str]:
    first, last = group[0], group[-1]
    head = f"line {first.kind} {first.number}"
    if last.number != first.number:
        head += f" {last.number}"
    return [head, *first.rendered(router)]


LINE = config_mode("line", "(config-line)")


@command(
    CONFIG,
    "line {console|aux|vty}$kind <0-15>$first [<1-15>$last]",
    help="Configure a terminal line|Primary terminal line|Auxiliary line|Virtual terminal|"
    "First Line number|Last Line number",
)
def line_cmd(ctx: Ctx, kind: str, first: int, last: int | None = None) -> None:
    short = {"console": "con", "aux": "aux", "vty": "vty"}[kind]
    lines = ctx.feature(Lines)
    numbers = range(first, (last if last is not None else first) + 1)
    if not numbers:
        raise CommandError("%Invalid line range")  # invented
    targets = []
    for n in numbers:
        if (short, n) not in lines.lines:
            if short != "vty":
                raise CommandError("% Invalid input detected at '^' marker.")
            lines.lines[(short, n)] = LineSettings(short, n, login="login")
        targets.append(lines.lines[(short, n)])
    if ctx.session.booting:
        # Saved configurations show "login" but never "no login": a line block being loaded
        # starts without it, as IOS's startup-config does.
        for line in targets:
            line.login = ""
    ctx.enter(LINE, targets)


@command(LINE, "[no] login [local]", help="Enable password checking|Local password checking")
def login(ctx: Ctx) -> None:
    for line in ctx.context:
        line.login = "" if ctx.negate else ("local" if ctx.has("local") else "login")


@command(
    LINE,
    "[no] password [0|7]$level LINE$password",
    help="Set a password|Specifies an UNENCRYPTED password will follow|"
    "Specifies a HIDDEN password will follow|The UNENCRYPTED (cleartext) line password",
    no_syntax="password [LINE$password]",
)
def password(ctx: Ctx, level: str | None = None, password: str = "") -> None:
    clear = None if ctx.negate else parse_password(int(level) if level else None, password)
    for line in ctx.context:
        line.password = clear


@command(
    LINE,
    "[no] exec-timeout <0-35791>$minutes [<0-2147483>$seconds]",
    help="Set the EXEC timeout|Timeout in minutes|Timeout in seconds",
)
def exec_timeout(ctx: Ctx, minutes: int = 10, seconds: int = 0) -> None:
    value = (10, 0) if ctx.negate else (minutes, seconds)
    for line in ctx.context:
        line.exec_timeout = value


@command(
    LINE,
    "[no] logging synchronous",
    help="Modify message logging facilities|Synchronized message output",
)
def logging_synchronous(ctx: Ctx) -> None:
    for line in ctx.context:
        line.logging_synchronous = not ctx.negate


@command(
    LINE,
    "[no] privilege level <0-15>$level",
    help="Change privilege level for line|Assign default privilege level for line|"
    "Default privilege level for line",
)
def privilege_level(ctx: Ctx, level: int | None = None) -> None:
    for line in ctx.context:
        line.privilege = None if ctx.negate else level


@command(
    LINE,
    "[no] transport input {all|none|ssh [telnet]|telnet [ssh]}",
    help="Define transport protocols for line|Define which protocols to use when connecting to the "
    "terminal server|All protocols|No protocols|TCP/IP SSH protocol|TCP/IP Telnet protocol|"
    "TCP/IP Telnet protocol|TCP/IP SSH protocol",
)
def transport_input(ctx: Ctx) -> None:
    if ctx.negate:
        value = None
    elif ctx.has("all") or ctx.has("none"):
        value = "all" if ctx.has("all") else "none"
    else:
        # IOS lists the protocols in its own order, whatever order they were typed in.
        value = " ".join(p for p in ("telnet", "ssh") if ctx.has(p))
    for line in ctx.context:
        line.transport_input = value
