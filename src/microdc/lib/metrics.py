"""Request metrics as a hook set: ``AsyncMicroDC(hooks=Metrics())``.

::

    metrics = Metrics()
    client = AsyncMicroDC(hooks=metrics)
    ...
    snap = metrics.snapshot()
    print(snap["requests"], snap["retries"], snap["errors_by_class"], snap["cost_usd_by_model"])

    from prometheus_client import REGISTRY   # pip install 'microdc[prometheus]'
    REGISTRY.register(metrics.collector())   # /metrics shows microdc_requests_total, ...

What is counted, and from which hook:

* ``on_request``: HTTP requests sent (every attempt, also those that never got an
  answer), by route (``"GET /api/v1/jobs/{job_id}"``);
* ``on_response``: answers by status, their latency and their time to first byte
  (until the headers arrived; when the HTTP client reports it), in histograms whose
  buckets are the HTTP semantic conventions' advisory boundaries (:data:`LATENCY_BUCKETS`);
* ``on_job``: tokens and cost by model, from every terminal Job the SDK sees, wherever
  it was seen: an answer, a list page (``as_completed``, the watcher, ``jobs.batch``),
  an event stream's terminal event (``jobs.wait``, ``ask``, conversations). Each job
  is counted once: the ids of the last :data:`~microdc._job_notices.JOBS_REMEMBERED`
  counted jobs are kept, so memory stays bounded. No body is read here: the SDK
  hands over the Jobs it parsed anyway;
* ``on_retry``: retries, by reason (``"HTTP 503"``, ``"APITimeoutError"``);
* ``on_error``: calls that raised, by exception class.

The buckets are counted here (one ``bisect`` per answer), not by prometheus_client or
the OpenTelemetry SDK: ``Metrics`` works with neither installed, and
:meth:`Metrics.collector` hands the same counts to prometheus_client when it scrapes,
so nothing is counted twice. For OpenTelemetry metrics use
:class:`microdc.lib.otel.Telemetry`, which records into the SDK's own histograms.
"""

from __future__ import annotations

import math
import bisect
from typing import TYPE_CHECKING, Dict, List, Tuple, Sequence, cast
from collections import Counter

from typing_extensions import TypedDict

from .hooks import JobInfo, ErrorInfo, RecentIds, RetryInfo, RequestInfo, ResponseInfo
from ._money import to_usd, to_picodollars

if TYPE_CHECKING:
    from ._prometheus import MetricsCollector

__all__ = ["LATENCY_BUCKETS", "LatencyHistogram", "Metrics", "MetricsSnapshot", "TokenUsage"]

LATENCY_BUCKETS: Tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Upper bounds (seconds) of the latency buckets; a last, unbounded bucket follows. They are the
advisory boundaries of the HTTP semantic conventions' ``http.client.request.duration`` (and
prometheus_client's default buckets)."""


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
    """What the jobs counted cost, by model, in US dollars: summed in whole picodollars, so exactly."""


class Metrics:
    """Counts requests, retries, errors, latency, time to first byte, tokens and cost; :meth:`snapshot` reads them.

    One instance may serve several clients (``hooks=[metrics]`` on each); the
    counts add up, and a job seen by two of them is counted once. ``buckets``
    overrides :data:`LATENCY_BUCKETS`.
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
        self._cost: Dict[str, int] = {}  # picodollars, so the sums are exact
        self._jobs_counted = RecentIds()

    # ------------------------------------------------------------------ hooks

    def on_request(self, info: RequestInfo) -> None:
        """Count the attempt and its route."""
        self._requests += 1
        self._by_route[f"{info.method} {info.path}"] += 1

    def on_response(self, info: ResponseInfo) -> None:
        """Count the status, latency and time to first byte."""
        self._by_status[info.status_code] += 1
        self._latency_counts[bisect.bisect_left(self._bounds, info.elapsed)] += 1
        self._latency_sum += info.elapsed
        first_byte = info.time_to_first_byte
        if first_byte is not None:
            self._ttfb_counts[bisect.bisect_left(self._bounds, first_byte)] += 1
            self._ttfb_sum += first_byte

    def on_job(self, info: JobInfo) -> None:
        """Count a terminal job's tokens and cost by model, once per job."""
        job = info.job
        usage = job.usage
        if usage is None or not self._jobs_counted.add(job.id):
            return
        model = job.model
        tokens = self._tokens.setdefault(model, {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        tokens["input_tokens"] += usage.input_tokens
        tokens["output_tokens"] += usage.output_tokens
        tokens["total_tokens"] += usage.total_tokens
        self._cost[model] = self._cost.get(model, 0) + to_picodollars(usage.cost_usd)

    def on_retry(self, info: RetryInfo) -> None:
        """Count the retry and its reason."""
        self._retries += 1
        self._retry_reasons[info.reason] += 1

    def on_error(self, info: ErrorInfo) -> None:
        """Count the error by its class."""
        self._errors[type(info.error).__name__] += 1

    # ------------------------------------------------------------------ reading

    def collector(self) -> MetricsCollector:
        """These counts as a ``prometheus_client`` collector (extra ``microdc[prometheus]``).

        ``registry.register(metrics.collector())`` (or ``prometheus_client.REGISTRY``) and
        a scrape of ``/metrics`` shows ``microdc_requests_total``, ``microdc_retries_total``,
        ``microdc_errors_total``, ``microdc_responses_total``, the histograms
        ``microdc_request_duration_seconds`` and ``microdc_time_to_first_byte_seconds``,
        ``microdc_tokens_total{model,type}`` and ``microdc_cost_usd_total{model}``, read
        from :meth:`snapshot` at each scrape.

        Raises:
          ImportError: prometheus_client is not installed (``pip install 'microdc[prometheus]'``).
        """
        from ._prometheus import MetricsCollector

        return MetricsCollector(self)

    def snapshot(self) -> MetricsSnapshot:
        """The counts so far, as plain dicts, ints and floats (a copy: later requests do not change it).

        Safe to call from another thread (a Prometheus scrape): each count is copied in one step.
        """
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
            "tokens_by_model": {model: cast(TokenUsage, dict(usage)) for model, usage in list(self._tokens.items())},
            "cost_usd_by_model": {model: to_usd(cost) for model, cost in list(self._cost.items())},
        }

    def _histogram(self, counts: List[int], total: float) -> LatencyHistogram:
        return {"buckets": dict(zip(self._bounds, counts, strict=True)), "count": sum(counts), "sum": total}

    def __repr__(self) -> str:
        return f"<Metrics requests={self._requests} retries={self._retries} errors={sum(self._errors.values())}>"
