"""Client-side rate limiting: ``AsyncMicroDC(rate_limit=RateLimit(...))``.

A :class:`RateLimit` is a gate every attempt of every request passes just before it
is sent (``BaseClient._send`` routes attempts through it, see ``_hooks.py``). Public
as ``microdc.RateLimit`` (and at ``microdc.lib.rate_limit``).
It combines three things:

* a token bucket: on average ``requests_per_second``, with up to ``burst`` sent at
  once after a quiet spell. It is kept as a schedule of "next free slot" times
  (the generic cell rate algorithm), so each waiter reserves its own slot when it
  arrives: waiters go in arrival order and never wake up together to race;
* a cap on requests in flight (``max_concurrency``), released as soon as an
  attempt has its response headers;
* a pause: a 429 answer carrying ``Retry-After`` / ``retry-after-ms`` holds *every*
  request of the client (and of its copies, which share the limiter) for that
  long, not only the one that was refused. Slots reserved before the pause are
  given up and reserved again after it, so the rate holds when traffic resumes.

It reads and waits on the SDK's one clock (:mod:`microdc._clock`), so
``disable_retry_delays()`` makes its pauses instant, ``FakeMicroDC.virtual_time()``
runs them on the fake's time, and a call's ``deadline`` cuts a wait for its turn.
"""

from __future__ import annotations

import math
from typing import Deque, Optional
from collections import deque

import anyio

from . import _clock

__all__ = ["RateLimit"]


class RateLimit:
    """At most ``requests_per_second`` (bursts of ``burst``) and ``max_concurrency`` in flight.

    ::

        limit = RateLimit(requests_per_second=20, burst=5, max_concurrency=10)
        client = AsyncMicroDC(rate_limit=limit)  # shared by client.with_options(...) copies

    Args:
      requests_per_second: the sustained rate; ``math.inf`` for no rate limit
        (only the concurrency cap and 429 pauses).
      burst: how many requests may go at once after the client was idle.
      max_concurrency: requests in flight at once (``None``: no cap).

    Its waits follow the SDK's clock: instant inside ``disable_retry_delays()``.
    """

    def __init__(
        self,
        requests_per_second: float,
        burst: int = 1,
        max_concurrency: Optional[int] = None,
    ) -> None:
        if not requests_per_second > 0:
            raise ValueError(f"requests_per_second must be more than 0, got {requests_per_second!r}")
        if burst < 1:
            raise ValueError(f"burst must be 1 or more, got {burst!r}")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be 1 or more (or None), got {max_concurrency!r}")
        self.requests_per_second = requests_per_second
        self.burst = burst
        self.max_concurrency = max_concurrency
        self._interval = 0.0 if math.isinf(requests_per_second) else 1.0 / requests_per_second
        # A request may go up to this long before its theoretical slot (the burst allowance).
        self._tolerance = (burst - 1) * self._interval
        self._next_slot = -math.inf  # the theoretical time of the next request
        self._paused_until = -math.inf
        self._pauses = 0  # bumped by every pause(), which voids slots reserved before it
        self._in_flight = 0
        self._waiters: Deque[anyio.Event] = deque()

    def __repr__(self) -> str:
        return (
            f"RateLimit(requests_per_second={self.requests_per_second!r}, burst={self.burst!r}, "
            f"max_concurrency={self.max_concurrency!r})"
        )

    @property
    def in_flight(self) -> int:
        """Requests holding a concurrency slot right now (0 without ``max_concurrency``)."""
        return self._in_flight

    @property
    def paused_for(self) -> float:
        """Seconds left of the current 429 pause (0.0 when not paused)."""
        return max(self._paused_until - _clock.monotonic(), 0.0)

    async def acquire(self) -> None:
        """Wait for a concurrency slot, then for this request's turn. Pair with :meth:`release`."""
        await self._enter()
        try:
            await self._wait_for_turn()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give back the concurrency slot taken by :meth:`acquire`."""
        if self.max_concurrency is None:
            return
        if self._waiters:
            # Hand the slot straight to the longest waiter: the count stays the same.
            self._waiters.popleft().set()
        else:
            self._in_flight -= 1

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (a 429's ``Retry-After`` calls this)."""
        until = _clock.monotonic() + seconds
        if until <= self._paused_until:
            return
        self._paused_until = until
        self._next_slot = until
        self._pauses += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    # ------------------------------------------------------------------ internals

    async def _enter(self) -> None:
        limit = self.max_concurrency
        if limit is None:
            return
        if self._in_flight < limit and not self._waiters:
            self._in_flight += 1
            return
        event = anyio.Event()
        self._waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():  # handed a slot as we were cancelled: pass it on
                self.release()
            else:
                self._waiters.remove(event)
            raise

    async def _wait_for_turn(self) -> None:
        while True:
            pauses = self._pauses
            now = _clock.monotonic()
            start = max(now, self._next_slot - self._tolerance, self._paused_until)
            self._next_slot = max(self._next_slot, start) + self._interval
            if start <= now:
                return
            await _clock.sleep(start - now)
            if self._pauses == pauses:
                return
            # A 429 paused the client while we waited: our slot is void; take a new one after the pause.
