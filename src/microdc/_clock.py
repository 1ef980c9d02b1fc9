"""The SDK's one clock: every wait it makes sleeps here, and every deadline reads it.

Retries, stream reconnects, ``jobs.wait`` polling, ``as_completed``, batches and the
watcher all call :func:`sleep` and :func:`monotonic` from this module, never
``asyncio.sleep``/``time.monotonic`` directly. That gives tests one switch for all
of them:

* :func:`microdc.lib.retry.disable_retry_delays` installs an :class:`InstantClock`:
  a sleep returns at once (after one checkpoint, so other tasks run) and moves a
  virtual offset forward, so timeouts and deadlines still expire — in no real time.
* :func:`use_clock` installs any object with ``monotonic()`` and ``async sleep()``,
  e.g. ``microdc.testing.ManualClock``, whose sleep advances the fake's own time.

:func:`cancel_at` bounds a block by a moment on this clock (a call's ``deadline``):
it expires after the same span of real time, and at once when the clock jumps past
the moment. A clock that jumps tells :func:`cancel_at` through
``add_listener(callback)``/``remove_listener(callback)`` (both clocks above have
them), so under virtual time a deadline cuts an attempt in no real time too.

The current clock is process-wide (like stamina's testing switch), because the waits
it governs run in tasks the caller did not start.
"""

from __future__ import annotations

import time
import contextlib
from typing import List, Callable, Protocol, Generator, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["Clock", "InstantClock", "SystemClock", "cancel_at", "current_clock", "monotonic", "sleep", "use_clock"]


@runtime_checkable
class Clock(Protocol):
    """What the SDK needs of a clock: seconds that only go forward, and a way to wait."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: ``time.monotonic`` and ``anyio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await anyio.sleep(seconds)
        else:
            await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return "SystemClock()"


class InstantClock:
    """Virtual time on top of real time: a sleep returns at once and moves the clock forward.

    Deadlines computed from :meth:`monotonic` still pass, so a ``timeout=`` or a
    retry ``deadline`` behaves as in production, only without the waiting.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._listeners: List[Callable[[], None]] = []

    @property
    def skipped(self) -> float:
        """Seconds of sleeping skipped so far."""
        return self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._offset += seconds
            for callback in list(self._listeners):
                callback()
        await anyio.lowlevel.checkpoint()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever a sleep moves the clock forward."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def __repr__(self) -> str:
        return f"InstantClock(skipped={self._offset:g})"


_SYSTEM = SystemClock()
_current: Clock = _SYSTEM


def current_clock() -> Clock:
    """The clock every SDK wait uses right now."""
    return _current


def monotonic() -> float:
    """Seconds on the current clock (for deadlines and elapsed times of waits)."""
    return _current.monotonic()


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` on the current clock; a wait of zero or less still yields once."""
    await _current.sleep(seconds)


@contextlib.contextmanager
def use_clock(clock: Clock) -> Generator[Clock, None, None]:
    """Make ``clock`` the one every SDK wait uses while the block runs; restore the old one after."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous


@contextlib.contextmanager
def cancel_at(deadline: float) -> Generator[anyio.CancelScope, None, None]:
    """A cancel scope that ends the block when the current clock reaches ``deadline``.

    Check ``scope.cancelled_caught`` after the block to tell the deadline from a
    normal end. The scope also expires after the same span of real time (the SDK's
    clocks never run slower than real time, except a ``ManualClock``, which stands
    still between jumps: there real time is the upper bound).
    """
    clock = _current
    scope = anyio.CancelScope(deadline=anyio.current_time() + (deadline - clock.monotonic()))
    add_listener = getattr(clock, "add_listener", None)
    remove_listener = getattr(clock, "remove_listener", None)
    if add_listener is None or remove_listener is None:
        with scope:
            yield scope
        return

    def jumped() -> None:
        left = deadline - clock.monotonic()
        if left <= 0:
            scope.cancel()
            return
        # Told from outside an event loop, the real-time deadline stays as it was.
        with contextlib.suppress(RuntimeError):
            scope.deadline = min(scope.deadline, anyio.current_time() + left)

    add_listener(jumped)
    try:
        with scope:
            yield scope
    finally:
        remove_listener(jumped)
