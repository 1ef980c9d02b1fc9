"""When to try a request again, and how long to wait first.

One :class:`RetryPolicy` (``AsyncMicroDC(retry=...)``, public as ``microdc.RetryPolicy``)
answers both questions for the client's retry loop and for the waiting helpers in
``microdc.lib``. The rules (PRODUCT.md, "Retries"), with the default settings:

* retried: connection errors, timeouts, 408, 409, 429 and 5xx; an ``x-should-retry:
  true|false`` header overrides that; a 422 ``idempotency_key_reused`` never is;
  ``retry_if`` can override the decision for any failed attempt;
* the wait is the server's ``retry-after-ms``, else its ``Retry-After`` (seconds or
  an HTTP date), when that is in (0, 60] seconds; otherwise exponential backoff:
  ``min(0.5 * 2**n, 8)`` seconds for the n-th retry, minus up to 25 % jitter so that
  many clients do not retry in lock step;
* with a ``deadline``, no attempt starts and no wait runs past it.

Every wait sleeps on the SDK clock (:mod:`microdc._clock`), so
:func:`disable_retry_delays` makes them instant in tests.
"""

from __future__ import annotations

import time
import random
import contextlib
import dataclasses
import email.utils
from typing import Union, Callable, Optional, FrozenSet, Generator
from dataclasses import field, dataclass

import httpx
from typing_extensions import TypeAlias

from . import _clock
from ._clock import InstantClock, use_clock
from ._constants import MAX_RETRY_AFTER, MAX_RETRY_DELAY, DEFAULT_MAX_RETRIES, INITIAL_RETRY_DELAY
from ._exceptions import APIError, APIStatusError, APIConnectionError, error_code, decode_body

__all__ = ["NEVER_RETRIED_CODES", "RetryOutcome", "RetryPolicy", "disable_retry_delays", "retry_after_seconds"]

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


RetryOutcome: TypeAlias = Union[httpx.Response, APIError]
"""What ``retry_if`` is shown of a failed attempt: the error answer (read), or the
``APIConnectionError``/``APITimeoutError`` the attempt raised."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries: ``AsyncMicroDC(retry=RetryPolicy(...))``, also on ``with_options``.

    * ``max_retries``: attempts after the first (a ``max_retries=`` argument of the
      client or of one call overrides it);
    * ``initial_delay``, ``max_delay``, ``jitter``: without a server hint, retry n
      waits ``min(initial_delay * 2**n, max_delay)``, less a random share of up to
      ``jitter`` of it (so many clients do not retry in lock step);
    * ``deadline``: seconds for the whole call, every attempt and wait included: no
      attempt starts and no wait runs past it (``None``: no deadline);
    * ``retry_if(outcome)``: called with each failed attempt's outcome (the error
      answer as an ``httpx.Response``, or the ``APIConnectionError``/``APITimeoutError``);
      ``True``/``False`` overrides the built-in decision, ``None`` keeps it. It cannot
      make an upload from a stream that cannot be rewound, or a 422
      ``idempotency_key_reused``, retryable; the count and the deadline still apply.

    Server hints (``retry-after-ms``, ``Retry-After``) up to ``max_retry_after``
    seconds are obeyed instead of the backoff. ``client.retry_policy`` is a client's
    policy, with its ``max_retries`` in effect.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    jitter: float = 0.25
    deadline: Optional[float] = None
    retry_if: Optional[Callable[[RetryOutcome], Optional[bool]]] = field(default=None, compare=False)
    max_retry_after: float = MAX_RETRY_AFTER
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"RetryPolicy(max_retries=...) must be an int of 0 or more, got {self.max_retries!r}")
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"RetryPolicy({name}=...) must be 0 or more seconds, got {getattr(self, name)!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(
                f"RetryPolicy(jitter=...) must be between 0 and 1 (a share of the delay), got {self.jitter!r}"
            )
        if self.deadline is not None and not self.deadline > 0:
            raise ValueError(f"RetryPolicy(deadline=...) must be more than 0 seconds, or None, got {self.deadline!r}")
        if self.retry_if is not None and not callable(self.retry_if):
            raise TypeError(f"RetryPolicy(retry_if=...) must be callable, got {self.retry_if!r}")

    def with_max_retries(self, max_retries: int) -> RetryPolicy:
        """This policy with another count (the same object when the count is unchanged)."""
        if max_retries == self.max_retries:
            return self
        return dataclasses.replace(self, max_retries=max_retries)

    def next_delay(
        self,
        outcome: RetryOutcome,
        *,
        retries_taken: int,
        started: float,
        max_retries: Optional[int] = None,
    ) -> Optional[float]:
        """The one retry decision: seconds to wait before the next attempt, or ``None`` to stop.

        ``outcome`` is what the failed attempt gave: its error answer (an
        ``httpx.Response``, already read) or the ``APIError`` it raised.
        ``retries_taken`` counts the retries made so far (for an event stream: the
        reconnections that failed in a row), ``started`` is when the call began on
        the SDK clock (:func:`microdc._clock.monotonic`; read only with a
        ``deadline``), and ``max_retries``, when given, overrides this policy's count.

        In order: what can never succeed on a retry stops (a code in
        :data:`NEVER_RETRIED_CODES`, an ``APIConnectionError`` whose ``retryable`` is
        False); otherwise the built-in rules, unless ``retry_if`` says otherwise
        (it sees an ``httpx.Response`` for an error answer); then the count; the wait
        is the server's hint when sane, else the backoff; a wait that would end past
        the ``deadline`` stops.
        """
        response: Optional[httpx.Response]
        if isinstance(outcome, httpx.Response):
            response, code = outcome, _error_code(outcome)
        elif isinstance(outcome, APIStatusError):
            response, code = outcome.response, outcome.code
        else:
            response, code = None, outcome.code
        if response is not None:
            shown: RetryOutcome = response
            never = code in NEVER_RETRIED_CODES
            built_in = _retryable_answer(response)
        else:
            shown = outcome
            never = isinstance(outcome, APIConnectionError) and not outcome.retryable
            built_in = isinstance(outcome, APIConnectionError)
        retry_if = self.retry_if
        if retry_if is not None:
            verdict = retry_if(shown)
            if verdict is not None:
                built_in = bool(verdict)
        if never or not built_in:
            return None
        if retries_taken >= (self.max_retries if max_retries is None else max_retries):
            return None
        delay = None if response is None else self._hint(response.headers)
        if delay is None:
            delay = self.backoff(retries_taken)
        if self.deadline is not None and _clock.monotonic() + delay - started > self.deadline:
            return None
        return delay

    def backoff(self, retries_taken: int) -> float:
        """The wait before retry number ``retries_taken + 1`` when the server gave no hint."""
        # The exponent is bounded because 2.0**1024 overflows a float; the cap applies long before.
        base = min(self.initial_delay * 2.0 ** min(retries_taken, 64), self.max_delay)
        return base * (1 - self.jitter * self._random.random())

    def _hint(self, headers: httpx.Headers) -> Optional[float]:
        """The server's requested wait, when it is in (0, ``max_retry_after``] seconds."""
        hinted = retry_after_seconds(headers)
        if hinted is not None and 0 < hinted <= self.max_retry_after:
            return hinted
        return None


NEVER_RETRIED_CODES: FrozenSet[str] = frozenset({"idempotency_key_reused"})
"""Error codes no retry can fix, whatever ``x-should-retry`` or ``retry_if`` say: a
422 ``idempotency_key_reused`` means the key is bound to another body."""


def _retryable_answer(response: httpx.Response) -> bool:
    """The built-in rule for an error answer: ``x-should-retry``, else 408/409/429/5xx."""
    override = response.headers.get("x-should-retry")
    if override == "true":
        return True
    if override == "false":
        return False
    status = response.status_code
    return status in _RETRY_STATUSES or status >= 500


def _error_code(response: httpx.Response) -> Optional[str]:
    """The ``error.code`` of a read error answer, if it has one."""
    try:
        return error_code(decode_body(response))
    except httpx.ResponseNotRead:
        return None


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
