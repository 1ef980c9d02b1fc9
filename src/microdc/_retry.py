"""When to try a request again, and how long to wait first.

One :class:`RetryPolicy` answers both questions for the client's retry loop and for
the polling helpers in ``microdc.lib``. The rules (PRODUCT.md, "Retries"):

* retried: connection errors, timeouts, 408, 409, 429 and 5xx; an ``x-should-retry:
  true|false`` header overrides that; a 422 ``idempotency_key_reused`` never is;
* the wait is the server's ``retry-after-ms``, else its ``Retry-After`` (seconds or
  an HTTP date), when that is in (0, 60] seconds; otherwise exponential backoff:
  ``min(0.5 * 2**n, 8)`` seconds for the n-th retry, minus up to 25 % jitter so that
  many clients do not retry in lock step.
"""

from __future__ import annotations

import time
import random
import contextlib
import email.utils
from typing import Optional, Generator
from dataclasses import field, dataclass

import httpx

from . import _clock
from ._clock import InstantClock, use_clock
from ._constants import MAX_RETRY_AFTER, MAX_RETRY_DELAY, DEFAULT_MAX_RETRIES, INITIAL_RETRY_DELAY

__all__ = ["RetryPolicy", "disable_retry_delays"]

_RETRY_STATUSES = frozenset({408, 409, 429})


@contextlib.contextmanager
def disable_retry_delays() -> Generator[InstantClock, None, None]:
    """Make every wait the SDK makes instant while the block runs (for tests).

    Retries, stream reconnects, ``jobs.wait`` polling, ``as_completed``, batches and
    the watcher all sleep on the SDK's one clock (:mod:`microdc._clock`); inside this
    block it is an :class:`~microdc._clock.InstantClock`, whose sleeps return at once
    and move virtual time forward, so timeouts and deadlines still expire. Delays are
    still computed and reported to hooks. The previous clock comes back on exit::

        with microdc.lib.retry.disable_retry_delays():
            await client.jobs.retrieve("job_1")  # retries at once
    """
    with use_clock(InstantClock()) as clock:
        assert isinstance(clock, InstantClock)
        yield clock


@dataclass(frozen=True)
class RetryPolicy:
    """The retry settings of a client (``client.retry_policy``), in one place.

    ``max_retries`` attempts after the first; backoff from ``initial_delay``
    doubling to ``max_delay``, less up to ``jitter`` of itself; server hints up to
    ``max_retry_after`` seconds are obeyed; ``deadline`` (seconds, optional) bounds
    the whole call: no retry starts that would sleep past it.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    jitter: float = 0.25
    max_retry_after: float = MAX_RETRY_AFTER
    deadline: Optional[float] = None
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def should_retry_response(self, response: httpx.Response) -> bool:
        """Whether an error answer is worth another attempt."""
        override = response.headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        status = response.status_code
        return status in _RETRY_STATUSES or status >= 500

    def backoff(self, retries_taken: int) -> float:
        """The wait before retry number ``retries_taken + 1`` when the server gave no hint."""
        # The exponent is bounded because 2.0**1024 overflows a float; the cap applies long before.
        base = min(self.initial_delay * 2.0 ** min(retries_taken, 64), self.max_delay)
        return base * (1 - self.jitter * self._random.random())

    def delay(self, retries_taken: int, headers: Optional[httpx.Headers] = None) -> float:
        """The wait before the next retry: the server's hint when sane, else backoff."""
        if headers is not None:
            hinted = retry_after_seconds(headers)
            if hinted is not None and 0 < hinted <= self.max_retry_after:
                return hinted
        return self.backoff(retries_taken)

    def allows(self, retries_taken: int, max_retries: int, started: float, delay: float) -> bool:
        """Whether one more retry fits: attempts left, and within the deadline if any."""
        if retries_taken >= max_retries:
            return False
        return self.deadline is None or _clock.monotonic() + delay - started <= self.deadline

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the SDK's clock (instant inside :func:`disable_retry_delays`)."""
        await _clock.sleep(seconds)


def retry_after_seconds(headers: httpx.Headers) -> Optional[float]:
    """The server's requested wait: ``retry-after-ms``, else ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    try:
        return email.utils.mktime_tz(parsed) - time.time()
    except (ValueError, OverflowError):  # a date that parses but cannot be a time, e.g. year 99999
        return None
