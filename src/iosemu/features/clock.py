"""The calendar: ``clock set``, ``clock timezone`` and ``show clock``.

Each router's clock is the lab clock plus its own offset; ``clock set`` moves only this
router's clock and makes it authoritative (no ``*`` in front of times any more).
"""

from __future__ import annotations

from datetime import UTC, datetime

from iosemu.device.clock import MONTHS, TimeZone
from iosemu.device.router import Feature
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.parser.tokens import Choice, Pattern, register_kind
from iosemu.session import CommandError, Ctx

_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _time(text: str) -> tuple[int, int, int]:
    h, m, s = (int(p) for p in text.split(":"))
    if h > 23 or m > 59 or s > 59:
        raise ValueError(text)
    return h, m, s


register_kind("hh:mm:ss", Pattern("hh:mm:ss", r"\d{1,2}:\d{1,2}:\d{1,2}", "time", _time))
register_kind("MONTH", Choice("MONTH", _MONTH_NAMES, "month"))


class Clock(Feature):
    """Clock settings that belong in the configuration (the time itself does not)."""

    def config(self, slot: str) -> list[str]:
        zone = self.router.clock.zone
        if slot == "clock" and (zone.name, zone.hours, zone.minutes) != ("UTC", 0, 0):
            return [f"clock timezone {zone.name} {zone.hours} {zone.minutes}"]
        return []


@command(
    EXEC,
    "clock set hh:mm:ss$time {<1-31>$day MONTH$month|MONTH$month <1-31>$day} <1993-2035>$year",
    help="Manage the system clock|Set the time and date|Current Time|Day of the month|"
    "Month of the year|Month of the year|Day of the month|Year",
)
def clock_set(ctx: Ctx, time: tuple[int, int, int], day: int, month: int, year: int) -> None:
    clock = ctx.router.clock
    try:
        local = datetime(year, month + 1, day, *time)
    except ValueError:
        raise CommandError("% Invalid date") from None  # invented
    before = clock.config_stamp(clock.utc())
    # The message is stamped at the new time but still as unset (the guide's '*').
    clock.set_utc((local - clock.zone.offset).replace(tzinfo=UTC), authoritative=False)
    after = clock.config_stamp(clock.utc())
    ctx.router.log.log(
        "SYS",
        6,
        "CLOCKUPDATE",
        f"System clock has been updated from {before} to {after}, "
        f"configured from console by {ctx.session.source}.",
    )
    clock.authoritative = True
    for feature in ctx.router.features.values():
        feature.clock_set()


@command(
    CONFIG,
    "[no] clock timezone WORD$name <-23-23>$hours [<0-59>$minutes]",
    help="|Configure time zone|name of time zone|Hours offset from UTC|Minutes offset from UTC",
)
def clock_timezone(ctx: Ctx, name: str = "UTC", hours: int = 0, minutes: int = 0) -> None:
    ctx.router.clock.zone = TimeZone() if ctx.negate else TimeZone(name, hours, minutes)


@command(
    EXEC,
    "show clock [detail]",
    help="|Display the system clock|Display detailed information",
    priv=1,
)
def show_clock(ctx: Ctx) -> None:
    clock = ctx.router.clock
    ctx.print(clock.show_clock())
    if ctx.has("detail"):
        source = "user configuration" if clock.authoritative else "hardware calendar"
        ctx.print(f"Time source is {source}")


assert len(MONTHS) == len(_MONTH_NAMES)
