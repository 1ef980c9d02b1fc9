"""The fake's sense of time: a :class:`Clock` that job lifecycles, idempotency keys and
download tokens are measured on.

Nothing in the fake runs in the background: a job's status is computed from the clock
whenever it is read, and an event stream that waits for the next event asks the clock
how long to wait. :class:`MonotonicClock` (the default) follows real time;
:class:`ManualClock` stands still until a test calls :meth:`ManualClock.advance`, so
lifecycles can be stepped through deterministically.

Every clock here is also a clock the SDK can wait on (``monotonic()`` and
``async sleep()``, what :mod:`microdc._clock` needs). ``FakeMicroDC.virtual_time()``
makes the fake's :class:`ManualClock` the SDK's clock: each wait the SDK makes
(retries, stream reconnects, ``jobs.wait`` polling, ``as_completed``, batches) moves
it forward instead of passing in real time, and so do the fake's own waits
(:func:`fake_sleep`: injected latency, event streams waiting for their next event).
Jobs then progress exactly as the SDK sleeps, and a one-hour wait takes no real time.
"""

from __future__ import annotations

import time
from typing import List, Callable, Optional
from datetime import UTC, datetime, timedelta

import anyio
import anyio.lowlevel

from .. import _clock as _sdk_clock

__all__ = ["Clock", "ManualClock", "MonotonicClock", "fake_sleep", "is_sdk_clock"]

_MANUAL_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    """Where the fake reads the time.

    ``now()`` is a monotonic number of seconds; ``wall_time(t)`` turns such a number
    into the UTC datetime that answers show. Subclass it to drive time your own way.
    """

    def __init__(self, *, wall_start: Optional[datetime] = None) -> None:
        self._origin = self.now()
        self._wall_start = wall_start if wall_start is not None else datetime.now(UTC)
        self._listeners: List[Callable[[], None]] = []

    def now(self) -> float:
        """Seconds on this clock (monotonic)."""
        raise NotImplementedError

    def monotonic(self) -> float:
        """``now()``, under the name the SDK's clock seam reads."""
        return self.now()

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock (in real time, unless a subclass moves itself)."""
        if seconds > 0:
            await anyio.sleep(seconds)
        else:
            await anyio.lowlevel.checkpoint()

    def wall_time(self, t: float) -> datetime:
        """The UTC datetime of clock time ``t``."""
        return self._wall_start + timedelta(seconds=t - self._origin)

    def real_seconds_until(self, t: float) -> Optional[float]:
        """How many real seconds pass before this clock reads ``t``; None if only a
        listener notification (e.g. :meth:`ManualClock.advance`) can bring it there."""
        return max(0.0, t - self.now())

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the clock jumps (not for real time passing)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback`` when the clock jumps (no error if it was not registered)."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()


class MonotonicClock(Clock):
    """Real time: ``time.monotonic()``, shown as the wall time since construction."""

    def now(self) -> float:
        return time.monotonic()


class ManualClock(Clock):
    """A clock that moves only when told to; its wall time starts at 2025-01-01T00:00:00Z.

    ::

        clock = ManualClock()
        fake = FakeMicroDC(clock=clock, job_duration=10)
        ...
        clock.advance(10)  # or fake.advance(10): every job submitted before is now done
    """

    def __init__(self, start: float = 0.0, *, wall_start: Optional[datetime] = None) -> None:
        self._now = float(start)
        super().__init__(wall_start=wall_start if wall_start is not None else _MANUAL_EPOCH)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` and wake whatever waits on it."""
        if seconds < 0:
            raise ValueError(f"A clock cannot go back: advance({seconds!r})")
        self._now += seconds
        self._notify()

    def real_seconds_until(self, t: float) -> Optional[float]:
        return 0.0 if t <= self._now else None

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass at once: move the clock to ``now + seconds`` and wake what waits on it.

        Waits that start together overlap rather than add up: each target is taken
        when the wait starts, and the clock only moves if no other wait moved it
        that far already (it never goes back).
        """
        target = self._now + max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()  # lets waits started at the same moment take the same start
        if target > self._now:
            self.advance(target - self._now)


def is_sdk_clock(clock: Clock) -> bool:
    """Whether ``clock`` is the one the SDK waits on now (inside ``FakeMicroDC.virtual_time()``)."""
    return _sdk_clock.current_clock() is clock


async def fake_sleep(clock: Clock, seconds: float) -> None:
    """How the fake waits (injected latency): on ``clock`` while it is the SDK's clock, else in real time.

    Outside ``virtual_time()`` a test that sees a slow answer (a read timeout, a
    request still in flight) needs real time to pass, whatever the fake's clock.
    """
    if is_sdk_clock(clock):
        await clock.sleep(seconds)
    elif seconds > 0:
        await anyio.sleep(seconds)


def isoformat(moment: datetime) -> str:
    """``2025-01-01T00:00:00.000Z``: ISO 8601 UTC with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
