"""Syslog and debug output of one router: stamps, severities, the buffer and delivery.

A message goes to the logging buffer and to every attached line that wants it: the console
(``logging console``) and vty lines that asked with ``terminal monitor`` (``logging
monitor``). Delivery happens on the next turn of the event loop, as IOS's logger process
prints after the command that caused a message has returned.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from iosemu.device.clock import MONTHS, RouterClock, uptime_stamp

SEVERITIES = [
    "emergencies",
    "alerts",
    "critical",
    "errors",
    "warnings",
    "notifications",
    "informational",
    "debugging",
]
DEBUGGING = 7


@dataclass
class StampStyle:
    """One ``service timestamps log|debug ...`` setting."""

    kind: str = "datetime"  # "datetime", "uptime" or "none"
    msec: bool = True
    localtime: bool = False
    show_timezone: bool = False
    year: bool = False

    def config_words(self) -> str:
        if self.kind == "uptime":
            return "uptime"
        words = ["datetime"]
        if self.msec:
            words.append("msec")
        if self.localtime:
            words.append("localtime")
        if self.show_timezone:
            words.append("show-timezone")
        if self.year:
            words.append("year")
        return " ".join(words)


class LogSink(Protocol):
    """A terminal line that can show log messages."""

    def wants_log(self, severity: int, is_debug: bool) -> bool: ...

    def show_log(self, text: str) -> None: ...


@dataclass
class DebugFlag:
    key: str  # what the router records: "standby.events"
    group: str  # heading in show debugging: "HSRP"
    text: str  # "HSRP Events debugging is on"
    mask: int = 0  # bits it adds to the RF debug mask, where it has any


@dataclass
class LogCounters:
    console: int = 0
    monitor: int = 0
    buffer: int = 0
    trap: int = 0


class Logger:
    def __init__(self, clock: RouterClock, uptime: Callable[[], float]) -> None:
        self.clock = clock
        self.uptime = uptime
        self.sinks: list[LogSink] = []
        self.reset()

    def reset(self) -> None:
        """Back to power-on defaults: RAM is cleared (the terminals stay attached)."""
        self.console_level: int | None = DEBUGGING
        self.monitor_level: int | None = DEBUGGING
        self.buffer_level: int | None = DEBUGGING
        self.buffer_size = 4096
        self.trap_level = 6
        self.log_stamps = StampStyle()
        self.debug_stamps = StampStyle()
        self.buffer: deque[str] = deque()
        self._buffer_bytes = 0
        self.counters = LogCounters()
        self.debugs_on: set[str] = set()

    # --- stamps ------------------------------------------------------------------

    def stamp(self, style: StampStyle) -> str:
        if style.kind == "uptime":
            return uptime_stamp(self.uptime())
        t = self.clock.local() if style.localtime else self.clock.utc().replace(tzinfo=None)
        text = f"{self.clock.flag}{MONTHS[t.month - 1]} {t.day:2d}"
        if style.year:
            text += f" {t.year}"
        text += f" {t:%H:%M:%S}"
        if style.msec:
            text += f".{t.microsecond // 1000:03d}"
        if style.show_timezone:
            text += " " + (self.clock.zone.name if style.localtime else "UTC")
        return text

    # --- messages ----------------------------------------------------------------

    def log(self, facility: str, severity: int, mnemonic: str, text: str) -> None:
        """A system message: ``%FACILITY-SEVERITY-MNEMONIC: text``."""
        line = self._stamped(self.log_stamps, f"%{facility}-{severity}-{mnemonic}: {text}")
        self._emit(line, severity, is_debug=False)

    def debug(self, text: str) -> None:
        """A line of debug output (shown only while its debug flag is on)."""
        self._emit(self._stamped(self.debug_stamps, text), DEBUGGING, is_debug=True)

    def _stamped(self, style: StampStyle, text: str) -> str:
        if style.kind == "none":
            return text
        return f"{self.stamp(style)}: {text}"

    def _emit(self, line: str, severity: int, is_debug: bool) -> None:
        if self.buffer_level is not None and severity <= self.buffer_level:
            self._to_buffer(line)
        if severity <= self.trap_level:
            self.counters.trap += 1
        if self.console_level is not None and severity <= self.console_level:
            self.counters.console += 1
        if self.monitor_level is not None and severity <= self.monitor_level:
            self.counters.monitor += 1
        for sink in list(self.sinks):
            if sink.wants_log(severity, is_debug):
                self._deliver(sink, line)

    def _deliver(self, sink: LogSink, line: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            sink.show_log(line)
            return
        loop.call_soon(sink.show_log, line)

    def _to_buffer(self, line: str) -> None:
        self.counters.buffer += 1
        self.buffer.append(line)
        self._buffer_bytes += len(line) + 1
        self._trim_buffer()

    def resize_buffer(self, size: int) -> None:
        self.buffer_size = size
        self._trim_buffer()

    def _trim_buffer(self) -> None:
        while self._buffer_bytes > self.buffer_size and self.buffer:
            self._buffer_bytes -= len(self.buffer.popleft()) + 1

    def clear_buffer(self) -> None:
        self.buffer.clear()
        self._buffer_bytes = 0

    # --- debug flags -------------------------------------------------------------

    def debugging(self, key: str) -> bool:
        return key in self.debugs_on
