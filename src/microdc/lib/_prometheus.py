"""``Metrics().collector()``: a :class:`Metrics`' counts as a ``prometheus_client`` collector.

Where this sits: ``prometheus_client`` (extra ``microdc[prometheus]``) calls
:meth:`MetricsCollector.collect` at each scrape, in its own thread; the collector reads
one :meth:`~microdc.lib.metrics.Metrics.snapshot` and turns it into metric families.
Nothing is counted here, and nothing runs between scrapes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, List, Tuple, Mapping, Iterator

try:
    from prometheus_client.core import Metric, CounterMetricFamily, HistogramMetricFamily
    from prometheus_client.registry import Collector
except ImportError as exc:
    raise ImportError("Metrics.collector() needs prometheus_client: pip install 'microdc[prometheus]'") from exc

if TYPE_CHECKING:
    from .metrics import Metrics, LatencyHistogram

__all__ = ["MetricsCollector"]


class MetricsCollector(Collector):
    """The families of one :class:`~microdc.lib.metrics.Metrics`, read at each scrape.

    ``microdc_requests_total{method,route}`` (attempts), ``microdc_responses_total{status_code}``,
    ``microdc_retries_total{reason}``, ``microdc_errors_total{error}``, the histograms
    ``microdc_request_duration_seconds`` and ``microdc_time_to_first_byte_seconds``,
    ``microdc_tokens_total{model,type}`` (``type`` is ``input`` or ``output``) and
    ``microdc_cost_usd_total{model}``.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        snap = self._metrics.snapshot()
        requests = CounterMetricFamily(
            "microdc_requests", "HTTP requests sent (every attempt).", labels=["method", "route"]
        )
        for route, count in snap["requests_by_route"].items():
            method, _, path = route.partition(" ")
            requests.add_metric([method, path], count)
        yield requests
        by_one_label: Tuple[Tuple[str, str, str, Mapping[Any, int]], ...] = (
            ("microdc_responses", "HTTP answers, by status.", "status_code", snap["responses_by_status"]),
            ("microdc_retries", "Retries, by reason.", "reason", snap["retries_by_reason"]),
            ("microdc_errors", "Calls that raised, by exception class.", "error", snap["errors_by_class"]),
        )
        for name, documentation, label, counts in by_one_label:
            family = CounterMetricFamily(name, documentation, labels=[label])
            for value, count in counts.items():
                family.add_metric([str(value)], count)
            yield family
        yield _histogram(
            "microdc_request_duration_seconds", "Seconds from sending an attempt to its answer.", snap["latency"]
        )
        yield _histogram(
            "microdc_time_to_first_byte_seconds",
            "Seconds from sending an attempt until its response headers arrived.",
            snap["time_to_first_byte"],
        )
        tokens = CounterMetricFamily(
            "microdc_tokens", "Tokens of terminal jobs, by model and type.", labels=["model", "type"]
        )
        for model, usage in snap["tokens_by_model"].items():
            tokens.add_metric([model, "input"], usage["input_tokens"])
            tokens.add_metric([model, "output"], usage["output_tokens"])
        yield tokens
        cost = CounterMetricFamily("microdc_cost_usd", "What terminal jobs cost, in US dollars.", labels=["model"])
        for model, usd in snap["cost_usd_by_model"].items():
            cost.add_metric([model], usd)
        yield cost


def _histogram(name: str, documentation: str, histogram: LatencyHistogram) -> HistogramMetricFamily:
    """Our per-bucket counts as Prometheus' cumulative ones (``le`` is each bucket's upper bound)."""
    buckets: List[Tuple[str, float]] = []
    total = 0
    for bound, count in histogram["buckets"].items():
        total += count
        buckets.append(("+Inf" if bound == math.inf else repr(float(bound)), total))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=histogram["sum"])
