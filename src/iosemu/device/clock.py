"""A router's calendar: the lab's time plus the router's own offset and time zone.

Formats used everywhere IOS prints time live here, so that ``show clock``, log stamps and
``show running-config`` comments agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class TimeZone:
    name: str = "UTC"
    hours: int = 0
    minutes: int = 0

    @property
    def offset(self) -> timedelta:
        sign = -1 if self.hours < 0 else 1
        return timedelta(hours=self.hours, minutes=sign * self.minutes)


class RouterClock:
    """The software clock of one router."""

    def __init__(self, lab_now: Callable[[], datetime]) -> None:
        self._lab_now = lab_now
        self.offset = timedelta(0)
        # Not authoritative until set by hand or by NTP: IOS prints '*' in front.
        self.authoritative = False
        self.zone = TimeZone()

    def utc(self) -> datetime:
        return self._lab_now() + self.offset

    def local(self) -> datetime:
        return (self.utc() + self.zone.offset).replace(tzinfo=None)

    def set_utc(self, when: datetime, authoritative: bool = True) -> None:
        self.offset = when.replace(tzinfo=UTC) - self._lab_now()
        self.authoritative = authoritative

    @property
    def flag(self) -> str:
        return "" if self.authoritative else "*"

    # --- formats -----------------------------------------------------------------

    def show_clock(self) -> str:
        """``*18:57:38.347 UTC Mon Oct 19 2015``"""
        t = self.local()
        return (
            f"{self.flag}{t:%H:%M:%S}.{t.microsecond // 1000:03d} {self.zone.name} {stamp_date(t)}"
        )

    def config_stamp(self, when_utc: datetime) -> str:
        """``21:12:47 UTC Wed Apr 16 2025`` as in running-config comments."""
        t = (when_utc + self.zone.offset).replace(tzinfo=None)
        return f"{t:%H:%M:%S} {self.zone.name} {stamp_date(t)}"

    def short_stamp(self, when_utc: datetime) -> str:
        """``06:32:59 UTC Jun 2 2013`` as in PKI show output (no weekday)."""
        t = (when_utc + self.zone.offset).replace(tzinfo=None)
        return f"{t:%H:%M:%S} {self.zone.name} {MONTHS[t.month - 1]} {t.day} {t.year}"


def stamp_date(t: datetime) -> str:
    """``Wed Apr 16 2025``: weekday, month, unpadded day, year."""
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day} {t.year}"


def uptime_text(seconds: float) -> str:
    """``2 weeks, 2 days, 18 hours, 23 minutes`` as ``show version`` prints uptime."""
    minutes = int(seconds // 60)
    units = [("year", 525600), ("week", 10080), ("day", 1440), ("hour", 60), ("minute", 1)]
    parts = []
    for name, size in units:
        n, minutes = divmod(minutes, size)
        if n:
            parts.append(f"{n} {name}{'s' if n != 1 else ''}")
    return ", ".join(parts) if parts else "0 minutes"


def uptime_stamp(seconds: float) -> str:
    """The uptime form of log stamps: ``00:01:23``, ``1d02h``, ``2w3d``."""
    s = int(seconds)
    days, rem = divmod(s, 86400)
    if days >= 7:
        return f"{days // 7}w{days % 7}d"
    if days:
        return f"{days}d{rem // 3600:02d}h"
    return f"{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}"
