"""The router: hostname, clock, file systems, logger, and the features that make it up.

The device layer knows nothing of particular features: the lab hands each router the list
of feature classes and the procedure that boots it (which needs the parser and sessions,
one layer up). A reload cancels everything the router's features scheduled, builds them
afresh and boots again from NVRAM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from iosemu.device.clock import RouterClock
from iosemu.device.filesystem import FileEntry, FileSystem
from iosemu.device.logging import Logger
from iosemu.lab.clock import LabEventLoop

log = logging.getLogger("iosemu.router")

IMAGE_NAME = "c3825-adventerprisek9-mz.151-3.T.bin"
IMAGE_SIZE = 48416964
NVRAM_SIZE = 491512
FLASH_SIZE = 64012288


class Feature:
    """A part of a router that owns state, the commands that change it and its config."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def config(self, slot: str) -> list[str]:
        """The running-config lines of this feature in ``slot`` (see features.running_config)."""
        return []

    def virtual_addresses(self, interface: str) -> list[tuple[Any, str]]:
        """(IPv4 address, MAC) pairs this feature makes the interface answer for now."""
        return []

    def interface_config(self, name: str) -> list[str]:
        """Lines this feature adds inside the block of interface ``name``."""
        return []

    def clock_set(self) -> None:
        """Called after ``clock set`` changed the router's calendar."""

    def saved(self) -> None:
        """Called when the running configuration is written to NVRAM (``write memory``)."""

    def started(self) -> None:
        """Called once the startup configuration is loaded (start timers here)."""

    def stopped(self) -> None:
        """Called before a reload or power-off."""


F = TypeVar("F", bound=Feature)


class Router:
    def __init__(
        self,
        name: str,
        loop: LabEventLoop,
        state_dir: Path,
        feature_classes: list[type[Feature]],
        booter: Callable[[Router], Awaitable[None]] | None = None,
        mac_base: int = 0x001319CA6350,
        durable: bool = True,
    ) -> None:
        self.name = name  # the lab's name for it; the hostname may change
        self.hostname = name
        self.mac_base = mac_base  # burnt-in address of the first Ethernet port
        # Sessions on the router's lines (show users) and the console line, set by the lab.
        self.sessions: list[Any] = []
        self.console: Any = None
        # Interface name -> its port on the lab fabric (lab.fabric.Port), set by the lab.
        self.ports: dict[str, Any] = {}
        # True while the configuration is rendered for NVRAM (certificates become file names).
        self.saving = False
        # A 3825 has a battery-backed calendar: IOS trusts it enough to start a CA server.
        self.has_calendar = True
        self.loop = loop
        self.state_dir = state_dir
        self.clock = RouterClock(loop.now)
        self.boot_time = loop.time()
        self.log = Logger(self.clock, self.uptime)
        # durable=False: the state directory is temporary, so writes skip fsync (filesystem.py).
        self.nvram = FileSystem("nvram", state_dir / "nvram", NVRAM_SIZE, durable=durable)
        image = FileEntry(IMAGE_NAME, IMAGE_SIZE, datetime(2010, 11, 18, 4, 7), builtin=True)
        self.flash = FileSystem(
            "flash", state_dir / "flash", FLASH_SIZE, builtin=[image], durable=durable
        )
        self.feature_classes = feature_classes
        self.features: dict[type[Feature], Feature] = {}
        self.booter = booter
        self.state = "off"  # off, booting, running
        self.reload_reason = "power-on"
        self.returned_to_rom_at: datetime | None = None
        self.config_changed_at: datetime | None = None
        self.config_changed_by = ""
        self.config_saved_at: datetime | None = None
        self.config_modified = False  # running-config differs from NVRAM
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self.build_features()

    # --- features ------------------------------------------------------------------

    def build_features(self) -> None:
        self.features = {}
        for cls in self.feature_classes:
            self.features[cls] = cls(self)

    def feature(self, cls: type[F]) -> F:
        return self.features[cls]  # type: ignore[return-value]

    # --- time ------------------------------------------------------------------------

    def uptime(self) -> float:
        return self.loop.time() - self.boot_time

    def mark_config_changed(self, by: str) -> None:
        self.config_changed_at = self.clock.utc()
        self.config_changed_by = by
        self.config_modified = True

    # --- background work, cancelled by reload ------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        task = self.loop.create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: background task failed", self.name, exc_info=task.exception())

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        def run() -> None:
            self._timers.discard(handle)
            try:
                fn(*args)
            except Exception:
                log.exception("%s: timer failed", self.name)

        handle = self.loop.call_later(delay, run)
        self._timers.add(handle)
        return handle

    def cancel_all(self) -> None:
        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()
        current = asyncio.current_task(self.loop) if self.loop.is_running() else None
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    # --- life cycle --------------------------------------------------------------------

    def power_on(self) -> asyncio.Task[Any]:
        return self.spawn(self._boot(), "boot")

    async def _boot(self) -> None:
        self.state = "booting"
        self.boot_time = self.loop.time()
        self.log.reset()
        self.clock.authoritative = False  # the calendar is not trusted until set again
        if self.booter is not None:
            await self.booter(self)
        self.state = "running"

    def stop_features(self) -> None:
        for feature in self.features.values():
            with contextlib.suppress(Exception):
                feature.stopped()

    def reload(self, reason: str) -> asyncio.Task[Any]:
        """Stop everything and boot again from NVRAM."""
        self.returned_to_rom_at = self.clock.utc()
        self.reload_reason = reason
        self.stop_features()
        self.cancel_all()
        self.state = "off"
        # The boot task must outlive cancel_all of the task that asked for the reload.
        task = self.loop.create_task(self._boot(), name=f"{self.name}:boot")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def power_off(self) -> None:
        self.stop_features()
        self.cancel_all()
        self.state = "off"
