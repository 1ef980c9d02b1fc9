"""What the observability tests over loopback share: the fake on a real socket, in virtual time,
a client for it over each transport (``tests/_transports.py``), and in-memory OpenTelemetry."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List, Tuple, Iterator, Optional, AsyncGenerator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.metrics.export import Metric, NumberDataPoint, HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC, ManualClock
from microdc.lib.hooks import HooksArg

from .._transports import served_client
from ..lib._served import until

__all__ = ["Otel", "Served", "attributes", "served"]


@dataclass
class Otel:
    """An SDK tracer and meter provider whose spans and metrics stay in memory."""

    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    reader: InMemoryMetricReader

    def finished(self) -> List[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, name: str) -> List[ReadableSpan]:
        return [span for span in self.finished() if span.name == name]

    def children(self, parent: ReadableSpan) -> List[ReadableSpan]:
        parent_id = parent.context.span_id if parent.context is not None else None
        return [span for span in self.finished() if span.parent is not None and span.parent.span_id == parent_id]

    def _metrics(self) -> Iterator[Metric]:
        data = self.reader.get_metrics_data()
        assert data is not None, "nothing was recorded"
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                yield from scope.metrics

    def metric(self, name: str) -> Metric:
        """Metric ``name`` as the reader collects it now."""
        found = [metric for metric in self._metrics() if metric.name == name]
        assert len(found) == 1, f"metric {name!r}: {len(found)} found"
        return found[0]

    def points(self, name: str) -> List[Any]:
        """Every data point of metric ``name`` (histogram or sum points)."""
        return list(self.metric(name).data.data_points)


def histogram_points(otel: Otel, name: str) -> List[HistogramDataPoint]:
    return [point for point in otel.points(name) if isinstance(point, HistogramDataPoint)]


def sum_points(otel: Otel, name: str) -> List[NumberDataPoint]:
    return [point for point in otel.points(name) if isinstance(point, NumberDataPoint)]


@pytest.fixture
def otel() -> Iterator[Otel]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(tracer_provider, spans, meter_provider, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@dataclass
class Served:
    fake: FakeMicroDC
    client: AsyncMicroDC
    clock: ManualClock

    def server_job(self, job_id: str) -> Dict[str, Any]:
        """The job as the fake holds it now."""
        return self.fake.jobs[job_id]


@contextlib.asynccontextmanager
async def served(
    transport: str, hooks: Optional[HooksArg], *, job_duration: float = 2.0, virtual_time: bool = True
) -> AsyncGenerator[Served, None]:
    """The fake on loopback, and a client over ``transport`` with ``hooks``.

    The fake's manual clock is the SDK's clock (``fake.virtual_time()``) unless
    ``virtual_time=False``: then it moves only when the test advances it.
    """
    clock = ManualClock()
    fake = FakeMicroDC(api_key="test", job_duration=job_duration, seed=7, clock=clock)
    with fake.virtual_time() if virtual_time else contextlib.nullcontext():
        async with served_client(fake, transport, hooks=hooks) as client:
            yield Served(fake, client, clock)


async def until_requested(fake: FakeMicroDC, path_suffix: str) -> None:
    """Let the loop run (I/O included) until the fake has seen a request whose path ends with ``path_suffix``."""
    await until(lambda: any(request.path.endswith(path_suffix) for request in fake.requests))


def attributes(span: ReadableSpan) -> Dict[str, Any]:
    return dict(span.attributes or {})


def events(span: ReadableSpan) -> List[Tuple[str, Dict[str, Any]]]:
    return [(event.name, dict(event.attributes or {})) for event in span.events]
