"""Message logging: ``logging ...``, ``service timestamps``, ``show logging``, and debugging.

Features declare their debugs with ``declare_debug``; this module gives them the
``debug``/``undebug``/``no debug`` commands, ``undebug all`` and ``show debugging``.
"""

from __future__ import annotations

from iosemu.device.logging import DEBUGGING, SEVERITIES, DebugFlag, StampStyle
from iosemu.device.router import Feature, Router
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import Ctx

DEBUG_FLAGS: dict[str, DebugFlag] = {}

_LEVEL_HELP = [
    "Immediate action needed           (severity=0)",
    "Immediate action needed           (severity=1)",
    "Critical conditions               (severity=2)",
    "Error conditions                  (severity=3)",
    "Warning conditions                (severity=4)",
    "Normal but significant conditions (severity=5)",
    "Informational messages            (severity=6)",
    "Debugging messages                (severity=7)",
]
_LEVELS = "{" + "|".join(["<0-7>$number", *SEVERITIES]) + "}$level"
_LEVELS_HELP = "Logging severity level|" + "|".join(_LEVEL_HELP)


def _stamps_line(which: str, style: StampStyle) -> str:
    if style.kind == "none":
        return f"no service timestamps {which}"
    return f"service timestamps {which} {style.config_words()}"


def _level(level: str | None, number: int | None, default: int) -> int:
    if number is not None:
        return number
    if level in SEVERITIES:
        return SEVERITIES.index(level)
    return default


class Logging(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)

    def config(self, slot: str) -> list[str]:
        log = self.router.log
        if slot == "service":
            return [_stamps_line("debug", log.debug_stamps), _stamps_line("log", log.log_stamps)]
        if slot != "logging-global":
            return []
        out = []
        if log.buffer_level is None:
            out.append("no logging buffered")
        elif (log.buffer_size, log.buffer_level) != (4096, DEBUGGING):
            words = "logging buffered"
            if log.buffer_size != 4096:
                words += f" {log.buffer_size}"
            if log.buffer_level != DEBUGGING:
                words += f" {SEVERITIES[log.buffer_level]}"
            out.append(words)
        if log.console_level is None:
            out.append("no logging console")
        elif log.console_level != DEBUGGING:
            out.append(f"logging console {SEVERITIES[log.console_level]}")
        if log.monitor_level is None:
            out.append("no logging monitor")
        elif log.monitor_level != DEBUGGING:
            out.append(f"logging monitor {SEVERITIES[log.monitor_level]}")
        return out


@command(
    CONFIG,
    f"[no] logging console [{_LEVELS}]",
    help=f"|Set console logging parameters|{_LEVELS_HELP}",
    no_syntax="logging console",
)
def logging_console(ctx: Ctx, level: str | None = None, number: int | None = None) -> None:
    log = ctx.router.log
    log.console_level = (
        (DEBUGGING if ctx.default else None) if ctx.negate else _level(level, number, DEBUGGING)
    )


@command(
    CONFIG,
    f"[no] logging monitor [{_LEVELS}]",
    help=f"|Set terminal line (monitor) logging parameters|{_LEVELS_HELP}",
    no_syntax="logging monitor",
)
def logging_monitor(ctx: Ctx, level: str | None = None, number: int | None = None) -> None:
    log = ctx.router.log
    log.monitor_level = (
        (DEBUGGING if ctx.default else None) if ctx.negate else _level(level, number, DEBUGGING)
    )


@command(
    CONFIG,
    f"[no] logging buffered [<4096-2147483647>$size] [{_LEVELS}]",
    help=f"|Set buffered logging parameters|Logging buffer size|{_LEVELS_HELP}",
    no_syntax="logging buffered",
)
def logging_buffered(
    ctx: Ctx, size: int | None = None, level: str | None = None, number: int | None = None
) -> None:
    log = ctx.router.log
    if ctx.negate:
        log.buffer_level = DEBUGGING if ctx.default else None
        log.resize_buffer(4096)
        return
    log.buffer_level = _level(level, number, DEBUGGING)
    log.resize_buffer(size if size is not None else 4096)


@command(
    CONFIG,
    "[no] service timestamps {debug|log}$which "
    "[datetime [msec|localtime|show-timezone|year]*|uptime]$style",
    help="|Timestamp debug/log messages|Timestamp debug messages|Timestamp log messages|"
    "Timestamp with date and time|Include milliseconds in timestamp|"
    "Use local time zone for timestamps|Add time zone information to timestamp|"
    "Include year in timestamp|Timestamp with system uptime",
    no_syntax="service timestamps [{debug|log}$which]",
)
def service_timestamps(ctx: Ctx, which: str | None = None, style: str | None = None) -> None:
    log = ctx.router.log
    if ctx.negate:
        # IOS without timestamps prints none; keep the 15.x default on "default".
        new = StampStyle() if ctx.default else StampStyle(kind="none")
    elif style == "uptime":
        new = StampStyle(kind="uptime")
    elif ctx.has("datetime"):
        new = StampStyle(
            msec=ctx.has("msec"),
            localtime=ctx.has("localtime"),
            show_timezone=ctx.has("show-timezone"),
            year=ctx.has("year"),
        )
    else:
        new = StampStyle(kind="uptime")
    for target in ("debug", "log") if which is None else (which,):
        if target == "debug":
            log.debug_stamps = new
        else:
            log.log_stamps = new


@command(EXEC, "show logging", help="|Show the contents of logging buffers", priv=1)
def show_logging(ctx: Ctx) -> None:
    log = ctx.router.log
    c = log.counters

    def level_text(level: int | None, count: int) -> str:
        if level is None:
            return "disabled"
        return f"level {SEVERITIES[level]}, {count} messages logged, xml disabled,"

    console = level_text(log.console_level, c.console)
    monitor = level_text(log.monitor_level, c.monitor)
    buffered = level_text(log.buffer_level, c.buffer)
    ctx.print(
        "Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, "
        "0 overruns, xml disabled, filtering disabled)",
        "",
        "No Active Message Discriminator.",
        "",
        "No Inactive Message Discriminator.",
        "",
        f"    Console logging: {console}",
    )
    if log.console_level is not None:
        ctx.print("                     filtering disabled")
    ctx.print(f"    Monitor logging: {monitor}")
    if log.monitor_level is not None:
        ctx.print("                     filtering disabled")
    ctx.print(f"    Buffer logging:  {buffered}")
    if log.buffer_level is not None:
        ctx.print("                    filtering disabled")
    ctx.print(
        "    Exception Logging: size (4096 bytes)",
        "    Count and timestamp logging messages: disabled",
        "    Persistent logging: disabled",
        "",
        "No active filter modules.",
        "",
        f"    Trap logging: level {SEVERITIES[log.trap_level]}, {c.trap} message lines logged",
        "        Logging Source-Interface:       VRF Name:",
        "",
    )
    if log.buffer_level is not None:
        ctx.print(f"Log Buffer ({log.buffer_size} bytes):", *log.buffer)


@command(EXEC, "clear logging", help="Reset functions|Clear logging buffer")
async def clear_logging(ctx: Ctx) -> None:
    if await ctx.confirm("Clear logging buffer [confirm]"):
        ctx.router.log.clear_buffer()


# --------------------------------------------------------------------------- debugging


def declare_debug(words: str, help_text: str, flag: DebugFlag) -> None:
    """Give a feature's debug flag its ``debug``, ``no debug`` and ``undebug`` commands."""
    DEBUG_FLAGS[flag.key] = flag

    @command(EXEC, f"[no] debug {words}", help=f"|{help_text}")
    def debug_on(ctx: Ctx) -> None:
        _set_debug(ctx, flag, not ctx.negate)

    @command(EXEC, f"undebug {words}", help=f"|{help_text}")
    def debug_off(ctx: Ctx) -> None:
        _set_debug(ctx, flag, False)


def _set_debug(ctx: Ctx, flag: DebugFlag, on: bool) -> None:
    debugs = ctx.router.log.debugs_on
    if on:
        debugs.add(flag.key)
    else:
        debugs.discard(flag.key)
    ctx.print(f"{flag.text} debugging is {'on' if on else 'off'}")


@command(EXEC, "undebug all", help="|Enable all debugging")
def undebug_all(ctx: Ctx) -> None:
    ctx.router.log.debugs_on.clear()
    ctx.print("All possible debugging has been turned off")


@command(EXEC, "no debug all", help="||Enable all debugging")
def no_debug_all(ctx: Ctx) -> None:
    undebug_all(ctx)


@command(EXEC, "show debugging", help="|State of each debugging option", priv=1)
def show_debugging(ctx: Ctx) -> None:
    by_group: dict[str, list[DebugFlag]] = {}
    for key in sorted(ctx.router.log.debugs_on):
        flag = DEBUG_FLAGS.get(key)
        if flag is not None:
            by_group.setdefault(flag.group, []).append(flag)
    for group, flags in by_group.items():
        ctx.print(f"{group}:")
        for flag in flags:
            ctx.print(f"  {flag.text} debugging is on")


def debug_mask(router: Router) -> int:
    """The bits that the debugs in force add to the RF debug mask."""
    mask = 0
    for key in router.log.debugs_on:
        flag = DEBUG_FLAGS.get(key)
        if flag is not None:
            mask |= flag.mask
    return mask
