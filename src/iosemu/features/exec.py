"""EXEC housekeeping: ``configure``, leaving a session, ``terminal`` settings, who is here.

Automation clients rely on these: netmiko and scrapli send ``terminal length 0`` and
``terminal width 511|512``, Ansible also ``terminal width 0`` and ``show privilege``.
"""

from __future__ import annotations

from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CONFIG_BANNER, Ctx, SessionEnded


@command(
    EXEC,
    "configure [terminal]",
    help="Enter configuration mode|Configure from the terminal",
)
async def configure(ctx: Ctx) -> None:
    if not ctx.has("terminal"):
        answer = await ctx.ask("Configuring from terminal, memory, or network [terminal]? ")
        answer = answer.strip().lower()
        if answer and not "terminal".startswith(answer):
            ctx.print('?Must be "terminal", "memory" or "network"')  # invented for memory/network
            return
    ctx.print(CONFIG_BANNER)
    ctx.enter(CONFIG)


def _leave(ctx: Ctx) -> None:
    raise SessionEnded("logout")


for _word, _help in (
    ("exit", "Exit from the EXEC"),
    ("logout", "Exit from the EXEC"),
    ("quit", "Exit from the EXEC"),
):
    command(EXEC, _word, help=_help, priv=1)(_leave)


@command(
    EXEC,
    "terminal length <0-512>$lines",
    help="|Set number of lines on a screen|Number of lines on screen (0 for no pausing)",
    priv=1,
)
def terminal_length(ctx: Ctx, lines: int) -> None:
    ctx.session.settings.length = lines


@command(
    EXEC,
    "terminal width <0-512>$columns",
    help="|Set width of the display terminal|Number of characters on a screen line",
    priv=1,
)
def terminal_width(ctx: Ctx, columns: int) -> None:
    ctx.session.settings.width = columns


@command(
    EXEC,
    "terminal history size <0-256>$size",
    help="|Enable and control the command history function|Set history buffer size|"
    "Size of history buffer",
    priv=1,
)
def terminal_history_size(ctx: Ctx, size: int) -> None:
    ctx.session.settings.history_size = size


@command(EXEC, "terminal monitor", help="|Copy debug output to the current terminal line", priv=1)
def terminal_monitor(ctx: Ctx) -> None:
    ctx.session.settings.monitor = True


@command(
    EXEC,
    "terminal no {monitor|length|width}$what",
    help="|Negate a command or set its defaults|Copy debug output to the current terminal line|"
    "Set number of lines on a screen|Set width of the display terminal",
    priv=1,
)
def terminal_no(ctx: Ctx, what: str) -> None:
    settings = ctx.session.settings
    if what == "monitor":
        settings.monitor = False
    elif what == "length":
        settings.length = 24
    else:
        settings.width = 80


@command(EXEC, "show privilege", help="|Show current privilege level", priv=1)
def show_privilege(ctx: Ctx) -> None:
    ctx.print(f"Current privilege level is {ctx.session.privilege}")


@command(EXEC, "show history", help="|Display the session command history", priv=1)
def show_history(ctx: Ctx) -> None:
    session = ctx.session
    history = (
        session.exec_history
        if ctx.frame is None or ctx.frame.mode is EXEC
        else session.config_history
    )
    for line in history:
        ctx.print(f"  {line}")


@command(EXEC, "show users", help="|Display information about terminal lines", priv=1)
def show_users(ctx: Ctx) -> None:
    ctx.print("    Line       User       Host(s)              Idle       Location")
    for session in ctx.router.sessions:
        if not session.alive:
            continue
        mark = "*" if session is ctx.session else " "
        number, name = _line_label(session.line)
        location = session.source.split("(")[-1].rstrip(")") if "(" in session.source else ""
        user = f"{session.user:<10} " if session.user else " " * 11
        ctx.print(f"{mark}{number:>3} {name:<10}{user}idle{'':17}00:00:00 {location}".rstrip())
    ctx.print("", "  Interface    User               Mode         Idle     Peer Address", "")


def _line_label(line: str) -> tuple[int, str]:
    """``con 0`` is absolute line 0; vty lines follow the console and the aux line."""
    kind, number = line.split()
    base = {"con": 0, "aux": 1, "vty": 2}[kind]
    return base + int(number), line
