"""``Faults``: seeded misbehaviour, so that retries and recovery can be tested.

Each request that matches ``paths`` and ``methods`` draws once from a seeded random
generator and gets at most one of these, by the rates given:

* ``reset_rate`` — the connection is dropped before the request is handled: nothing
  changes on the server, the client sees a connection error;
* ``error_rate`` — a 5xx answer (one of ``error_statuses``), nothing changes;
* ``rate_limit_rate`` — a 429 with ``Retry-After`` (whole seconds, rounded up) and
  ``retry-after-ms``, both from ``retry_after``; nothing changes;
* ``lost_answer_rate`` — the request is handled (a job is created, a file stored,
  and an ``Idempotency-Key`` remembers the answer), then the connection is dropped
  before the answer is sent.

Besides those draws, ``stream_drop_after=n`` drops the connection of every matching
event stream (``/events``) after ``n`` events, and ``stream_end_after=n`` ends it
cleanly after ``n`` events (as a proxy closes an idle stream), so a client must
resume with ``Last-Event-ID``; ``invalid_output_rate`` makes that share of the jobs of
a model that answers in JSON (``json-1``) answer with JSON their schema rejects (drawn
per job submitted, from a generator of its own, whatever ``paths`` and ``methods``
say); and ``latency`` (seconds, or a ``(low, high)`` range) delays every
matching request, in real time, before it is handled. ``max_faults`` stops injecting after that many
faults (latency is not counted; each stream armed with a cut or an end is, and each invalid
reply), so ``Faults(lost_answer_rate=1.0, max_faults=1)`` loses exactly the first answer and
``Faults(invalid_output_rate=1.0, max_faults=1)`` spoils exactly the first reply.
"""

from __future__ import annotations

import math
import random
import fnmatch
from typing import Tuple, Union, Optional, Sequence
from dataclasses import dataclass

__all__ = ["FaultDecision", "FaultInjector", "Faults"]


@dataclass(frozen=True)
class Faults:
    """What to inject, how often, and where (see the module docs).

    ::

        Faults(seed=7, lost_answer_rate=0.2, paths=["/api/v1/jobs/submit"], methods=["POST"])
    """

    seed: Optional[int] = None
    """Seeds the draws; None takes the fake's ``seed``."""
    error_rate: float = 0.0
    """Share of matching requests answered with a 5xx."""
    error_statuses: Sequence[int] = (500, 502, 503)
    """The 5xx statuses to pick from."""
    rate_limit_rate: float = 0.0
    """Share of matching requests answered with a 429."""
    retry_after: float = 1.0
    """Seconds a 429 asks the client to wait."""
    reset_rate: float = 0.0
    """Share of matching requests whose connection is dropped before they are handled."""
    lost_answer_rate: float = 0.0
    """Share of matching requests handled and then dropped before the answer."""
    latency: Union[float, Tuple[float, float]] = 0.0
    """Seconds (or a range of seconds) every matching request is delayed."""
    paths: Optional[Sequence[str]] = None
    """``fnmatch`` patterns of the paths to disturb (``"/api/v1/jobs/*"``); None: all."""
    methods: Optional[Sequence[str]] = None
    """HTTP methods to disturb (``["POST"]``); None: all."""
    max_faults: Optional[int] = None
    """Stop injecting after this many faults; None: never stop."""
    stream_drop_after: Optional[int] = None
    """Cut each matching event stream (``/events``) after this many events by dropping
    its connection; each stream so armed counts as a fault, so ``max_faults`` bounds how many."""
    stream_end_after: Optional[int] = None
    """End each matching event stream cleanly after this many events, before its terminal
    event (as a proxy closing an idle stream does); each counts as a fault, like a cut."""
    invalid_output_rate: float = 0.0
    """Share of ``json-1`` jobs whose reply does not validate against the schema they were given."""

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.rate_limit_rate, self.reset_rate, self.lost_answer_rate)
        if any(rate < 0 for rate in rates) or sum(rates) > 1 + 1e-9:
            raise ValueError(f"Fault rates must be >= 0 and add up to at most 1; got {rates}")
        if any(not 500 <= status <= 599 for status in self.error_statuses) or not self.error_statuses:
            raise ValueError(f"error_statuses must be 5xx statuses; got {tuple(self.error_statuses)}")
        if self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        if self.stream_drop_after is not None and self.stream_drop_after < 0:
            raise ValueError("stream_drop_after must be >= 0 events")
        if self.stream_end_after is not None and self.stream_end_after < 0:
            raise ValueError("stream_end_after must be >= 0 events")
        if not 0 <= self.invalid_output_rate <= 1:
            raise ValueError(f"invalid_output_rate must be between 0 and 1; got {self.invalid_output_rate!r}")
        low, high = self._latency_range()
        if low < 0 or high < low:
            raise ValueError(f"latency must be >= 0 seconds or a (low, high) range; got {self.latency!r}")

    def _latency_range(self) -> Tuple[float, float]:
        if isinstance(self.latency, tuple):
            return self.latency
        return self.latency, self.latency

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is one these faults may disturb."""
        if self.methods is not None and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return self.paths is None or any(fnmatch.fnmatchcase(path, pattern) for pattern in self.paths)


@dataclass(frozen=True)
class FaultDecision:
    latency: float = 0.0
    kind: Optional[str] = None
    """None, ``"reset"``, ``"error"``, ``"rate_limit"`` or ``"lost_answer"``."""
    status: int = 0

    def retry_after_headers(self, retry_after: float) -> Tuple[Tuple[str, str], ...]:
        return (("retry-after", str(math.ceil(retry_after))), ("retry-after-ms", str(round(retry_after * 1000))))


NO_FAULT = FaultDecision()


class FaultInjector:
    """Draws the fault of each request from a :class:`Faults` and a seeded generator."""

    def __init__(self, faults: Faults, default_seed: Optional[int]) -> None:
        self.faults = faults
        seed = faults.seed if faults.seed is not None else default_seed
        self._rng = random.Random(seed)
        self._output_rng = random.Random(f"invalid-output:{seed}")
        self.injected = 0

    def invalid_output(self) -> bool:
        """Whether the reply of the ``json-1`` job being submitted is to be invalid."""
        faults = self.faults
        if faults.invalid_output_rate <= 0:
            return False
        if faults.max_faults is not None and self.injected >= faults.max_faults:
            return False
        if self._output_rng.random() >= faults.invalid_output_rate:
            return False
        self.injected += 1
        return True

    def stream_cut(self, method: str, path: str) -> Optional[int]:
        """After how many events to cut this event stream's connection (None: never)."""
        faults = self.faults
        if faults.stream_drop_after is None or not faults.matches(method, path):
            return None
        if faults.max_faults is not None and self.injected >= faults.max_faults:
            return None
        self.injected += 1
        return faults.stream_drop_after

    def stream_end(self, method: str, path: str) -> Optional[int]:
        """After how many events to end this event stream cleanly (None: never)."""
        faults = self.faults
        if faults.stream_end_after is None or not faults.matches(method, path):
            return None
        if faults.max_faults is not None and self.injected >= faults.max_faults:
            return None
        self.injected += 1
        return faults.stream_end_after

    def decide(self, method: str, path: str) -> FaultDecision:
        faults = self.faults
        if not faults.matches(method, path):
            return NO_FAULT
        low, high = faults._latency_range()
        latency = low if high == low else self._rng.uniform(low, high)
        draw = self._rng.random()
        if faults.max_faults is not None and self.injected >= faults.max_faults:
            return FaultDecision(latency=latency)
        kind: Optional[str] = None
        status = 0
        for name, rate in (
            ("reset", faults.reset_rate),
            ("error", faults.error_rate),
            ("rate_limit", faults.rate_limit_rate),
            ("lost_answer", faults.lost_answer_rate),
        ):
            if draw < rate:
                kind = name
                break
            draw -= rate
        if kind == "error":
            status = self._rng.choice(list(faults.error_statuses))
        elif kind == "rate_limit":
            status = 429
        if kind is not None:
            self.injected += 1
        return FaultDecision(latency=latency, kind=kind, status=status)
