"""Request metrics as a hook set: ``AsyncMicroDC(hooks=Metrics())``.

::

    metrics = Metrics()
    client = AsyncMicroDC(hooks=metrics)
    ...
    snap = metrics.snapshot()
    print(snap["requests"], snap["retries"], snap["errors_by_class"], snap["cost_usd_by_model"])

What is counted, and from which hook:

* ``on_request``: HTTP requests sent (every attempt, also those that never got an
  answer), by route (``"GET /api/v1/jobs/{job_id}"``);
* ``on_response``: answers by status, their latency and their time to first byte
  (until the headers arrived; when the HTTP client reports it) in histograms with
  fixed buckets; from answers that carry Jobs (a Job, or a list of them), tokens and cost
  by model. A job's usage is counted once, the first time it is seen with one, so
  polling a finished job does not count it again. Bodies are only looked at when a
  ``"usage"`` key is in them, and only by this hook;
* ``on_retry``: retries, by reason (``"HTTP 503"``, ``"APITimeoutError"``);
* ``on_error``: calls that raised, by exception class.

Streamed answers (``jobs.events``, ``with_streaming_response``) are counted as
requests and responses, but their bodies are not read for usage.
"""

from __future__ import annotations

import math
import bisect
from typing import Any, Set, Dict, List, Tuple, Sequence, cast
from collections import Counter

from typing_extensions import TypedDict

from .hooks import ErrorInfo, RetryInfo, RequestInfo, ResponseInfo

__all__ = ["LATENCY_BUCKETS", "LatencyHistogram", "Metrics", "MetricsSnapshot", "TokenUsage"]

LATENCY_BUCKETS: Tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Upper bounds (seconds) of the latency buckets; a last, unbounded bucket follows."""


class TokenUsage(TypedDict):
    """Tokens counted for one model in a :class:`MetricsSnapshot`."""

    input_tokens: int
    output_tokens: int
    total_tokens: int


class LatencyHistogram(TypedDict):
    """A fixed-bucket histogram of seconds in a :class:`MetricsSnapshot`."""

    buckets: Dict[float, int]
    """Upper bound (seconds, the last ``inf``) → answers slower than the previous bound and at most this one."""
    count: int
    sum: float
    """Seconds, summed over every answer."""


class MetricsSnapshot(TypedDict):
    """What :meth:`Metrics.snapshot` returns: plain counters, histograms and per-model usage."""

    requests: int
    requests_by_route: Dict[str, int]
    responses_by_status: Dict[int, int]
    retries: int
    retries_by_reason: Dict[str, int]
    errors: int
    errors_by_class: Dict[str, int]
    latency: LatencyHistogram
    time_to_first_byte: LatencyHistogram
    """Seconds from sending each attempt until its response headers arrived (same buckets as ``latency``)."""
    tokens_by_model: Dict[str, TokenUsage]
    cost_usd_by_model: Dict[str, float]


class Metrics:
    """Counts requests, retries, errors, latency, time to first byte, tokens and cost; :meth:`snapshot` reads them.

    One instance may serve several clients (``hooks=[metrics]`` on each); the
    counts add up. ``buckets`` overrides :data:`LATENCY_BUCKETS`.
    """

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        bounds = sorted(float(bound) for bound in buckets)
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        self._bounds: Tuple[float, ...] = tuple(bounds)
        self.reset()

    def reset(self) -> None:
        """Start every count again from zero."""
        self._requests = 0
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._retries = 0
        self._retry_reasons: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._latency_counts: List[int] = [0] * len(self._bounds)
        self._latency_sum = 0.0
        self._ttfb_counts: List[int] = [0] * len(self._bounds)
        self._ttfb_sum = 0.0
        self._tokens: Dict[str, TokenUsage] = {}
        self._cost: Dict[str, float] = {}
        self._jobs_counted: Set[str] = set()

    # ------------------------------------------------------------------ hooks

    def on_request(self, info: RequestInfo) -> None:
        """Count the attempt and its route."""
        self._requests += 1
        self._by_route[f"{info.method} {info.path}"] += 1

    def on_response(self, info: ResponseInfo) -> None:
        """Count the status, latency and time to first byte, and the usage of the Jobs in a success (each job once)."""
        self._by_status[info.status_code] += 1
        self._latency_counts[bisect.bisect_left(self._bounds, info.elapsed)] += 1
        self._latency_sum += info.elapsed
        first_byte = info.time_to_first_byte
        if first_byte is not None:
            self._ttfb_counts[bisect.bisect_left(self._bounds, first_byte)] += 1
            self._ttfb_sum += first_byte
        if info.is_success:
            content = info.content
            if content is not None and b'"usage"' in content:
                for job in _jobs_in(info.json):
                    self._count_usage(job)

    def on_retry(self, info: RetryInfo) -> None:
        """Count the retry and its reason."""
        self._retries += 1
        self._retry_reasons[info.reason] += 1

    def on_error(self, info: ErrorInfo) -> None:
        """Count the error by its class."""
        self._errors[type(info.error).__name__] += 1

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> MetricsSnapshot:
        """The counts so far, as plain dicts, ints and floats (a copy: later requests do not change it)."""
        return {
            "requests": self._requests,
            "requests_by_route": dict(self._by_route),
            "responses_by_status": dict(self._by_status),
            "retries": self._retries,
            "retries_by_reason": dict(self._retry_reasons),
            "errors": sum(self._errors.values()),
            "errors_by_class": dict(self._errors),
            "latency": self._histogram(self._latency_counts, self._latency_sum),
            "time_to_first_byte": self._histogram(self._ttfb_counts, self._ttfb_sum),
            "tokens_by_model": {model: cast(TokenUsage, dict(usage)) for model, usage in self._tokens.items()},
            "cost_usd_by_model": dict(self._cost),
        }

    def _histogram(self, counts: List[int], total: float) -> LatencyHistogram:
        return {"buckets": dict(zip(self._bounds, counts, strict=True)), "count": sum(counts), "sum": total}

    def __repr__(self) -> str:
        return f"<Metrics requests={self._requests} retries={self._retries} errors={sum(self._errors.values())}>"

    def _count_usage(self, job: Dict[str, Any]) -> None:
        usage = job.get("usage")
        job_id = job.get("id")
        if not isinstance(usage, dict) or not isinstance(job_id, str) or job_id in self._jobs_counted:
            return
        self._jobs_counted.add(job_id)
        usage = cast(Dict[str, Any], usage)
        model = str(job.get("model"))
        tokens = self._tokens.setdefault(model, {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        tokens["input_tokens"] += int(_number(usage.get("input_tokens")))
        tokens["output_tokens"] += int(_number(usage.get("output_tokens")))
        tokens["total_tokens"] += int(_number(usage.get("total_tokens")))
        self._cost[model] = self._cost.get(model, 0.0) + _number(usage.get("cost_usd"))


def _jobs_in(body: object) -> List[Dict[str, Any]]:
    """The Jobs in an answer: the answer itself, or the items of a list."""
    if _is_object(body, "job"):
        return [cast(Dict[str, Any], body)]
    if not _is_object(body, "list"):
        return []
    data: object = cast(Dict[str, Any], body).get("data")
    items: List[object] = cast(List[object], data) if isinstance(data, list) else []
    return [cast(Dict[str, Any], item) for item in items if _is_object(item, "job")]


def _is_object(value: object, kind: str) -> bool:
    return isinstance(value, dict) and cast(Dict[str, Any], value).get("object") == kind


def _number(value: object) -> float:
    """A JSON number, or 0 for anything else (null, a string, a bool)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0
