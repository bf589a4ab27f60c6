"""The lab clock: one asyncio event loop whose time is virtual, scaled or real.

Everything in a lab that waits (HSRP timers, reload, dialogs, CRL timers) waits on this
loop with the ordinary asyncio calls (``asyncio.sleep``, ``loop.call_later``), so it runs
unchanged in all three modes:

* ``virtual``: time stands still while anything is runnable and jumps to the next timer
  when nothing is (as trio's ``MockClock(autojump_threshold=0)``). Tests and transcript
  replays run as fast as the CPU allows and the same way every time.
* ``scaled``: real time multiplied by a speed factor.
* ``real``: wall-clock time.

``loop.idle()`` resolves once everything due now has run, which is how a driver knows
the lab has settled after it typed a line.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

ClockMode = Literal["virtual", "scaled", "real"]

# Where the calendar of a virtual lab starts: reproducible runs need a fixed instant.
VIRTUAL_EPOCH = datetime(2010, 6, 3, 1, 38, 0, tzinfo=UTC)


class _LabSelector(selectors.BaseSelector):
    """Wraps the real selector so that a blocking wait becomes a jump in virtual time."""

    def __init__(self, inner: selectors.BaseSelector, loop: LabEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        loop = self._loop
        about_to_block = timeout is None or timeout > 0
        if about_to_block and loop._idle_waiters:
            loop._wake_idle_waiters()
            return self._inner.select(0)
        if loop.mode == "virtual":
            if timeout is not None and timeout > 0:
                loop._virtual_now += timeout
                timeout = 0
            if timeout == 0 and loop._only_internal_fds():
                # Nothing to poll but the loop's self-pipe, and no signal handler reads it:
                # a callback from another thread is on the ready queue already, so polling
                # (one syscall per loop turn, most of a virtual lab's turns) finds nothing
                # that matters before the loop blocks, which still polls.
                return []
            return self._inner.select(timeout)
        if loop.mode == "scaled" and timeout is not None:
            timeout = timeout / loop.speed
        return self._inner.select(timeout)

    # The rest is plain delegation.
    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()


class LabEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is the lab's time."""

    def __init__(
        self,
        mode: ClockMode = "virtual",
        speed: float = 1.0,
        epoch: datetime | None = None,
    ) -> None:
        super().__init__()
        if mode not in ("virtual", "scaled", "real"):
            raise ValueError(f"unknown clock mode {mode!r}")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.mode: ClockMode = mode
        self.speed = speed if mode == "scaled" else 1.0
        self._virtual_now = 0.0
        self._mono0 = time.monotonic()
        self._idle_waiters: list[asyncio.Future[None]] = []
        if epoch is None:
            epoch = VIRTUAL_EPOCH if mode == "virtual" else datetime.now(UTC)
        # Lab time 0 is this calendar instant.
        self.epoch = epoch
        self._selector = _LabSelector(self._selector, self)  # type: ignore[has-type]

    def time(self) -> float:
        if self.mode == "virtual":
            return self._virtual_now
        return (time.monotonic() - self._mono0) * self.speed

    def _only_internal_fds(self) -> bool:
        """True when the selector watches only the loop's own self-pipe."""
        internal: int = getattr(self, "_internal_fds", 1)
        signals = getattr(self, "_signal_handlers", None)  # add_signal_handler's, on Unix
        return len(self._selector.get_map()) <= internal and not signals

    def now(self) -> datetime:
        """The lab's calendar time (routers add their own offsets)."""
        return self.epoch + timedelta(seconds=self.time())

    def idle(self) -> asyncio.Future[None]:
        """A future that resolves when nothing more is runnable at the current time."""
        fut: asyncio.Future[None] = self.create_future()
        self._idle_waiters.append(fut)
        return fut

    def _wake_idle_waiters(self) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


async def settle() -> None:
    """Wait until everything due at the current lab time has run."""
    loop = asyncio.get_running_loop()
    if isinstance(loop, LabEventLoop):
        await loop.idle()
    else:
        for _ in range(5):
            await asyncio.sleep(0)


def lab_loop() -> LabEventLoop:
    loop = asyncio.get_running_loop()
    if not isinstance(loop, LabEventLoop):
        raise RuntimeError("not running in a lab event loop")
    return loop
