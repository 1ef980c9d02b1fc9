"""A small web service traced and measured with OpenTelemetry: ``Telemetry`` on its MicroDC client.

``POST /ask {"prompt": ...}`` answers with the model's reply (``client.jobs.ask``). The
service's handler opens a ``SERVER`` span; the SDK's ``Telemetry`` hooks add, under it,
one GenAI span for the model call (``text_completion echo-1``, with the usage the
server charged) and the HTTP spans of the calls it took. Spans and metrics go to an
in-process OpenTelemetry SDK (an in-memory exporter and metric reader); in production
you would give the same providers an OTLP exporter instead.

Run it as a script and it serves itself, in-process: it starts the app, asks two
questions, then prints each trace as a tree and every metric it recorded, and exits.

uv run python examples/otel_service.py    (microdc[otel] and the OpenTelemetry SDK; Starlette with microdc[testing])
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, cast

import httpx
from opentelemetry import trace
from starlette.routing import Route
from starlette.requests import Request
from opentelemetry.trace import SpanKind
from starlette.responses import JSONResponse
from starlette.applications import Starlette
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.metrics.export import NumberDataPoint, HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microdc import AsyncMicroDC
from _connect import service
from microdc.lib.otel import Telemetry

SHOWN = (
    "gen_ai.request.model",
    "gen_ai.response.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "http.response.status_code",
)


def create_app(client: AsyncMicroDC, tracer: trace.Tracer) -> Starlette:
    async def ask(request: Request) -> JSONResponse:
        # Without an ASGI instrumentation installed, the handler opens its server span itself.
        with tracer.start_as_current_span("POST /ask", kind=SpanKind.SERVER):
            body: object = await request.json()
            prompt = cast(Dict[str, object], body).get("prompt") if isinstance(body, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                return JSONResponse({"error": 'send {"prompt": "..."}'}, status_code=422)
            reply = await client.jobs.ask(prompt, model="echo-1", max_tokens=48)
            return JSONResponse({"reply": reply})

    return Starlette(routes=[Route("/ask", ask, methods=["POST"])])


def print_tree(spans: List[ReadableSpan]) -> None:
    """Each trace as a tree, parents before children, in start order."""
    by_parent: Dict[Any, List[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        by_parent.setdefault(span.parent.span_id if span.parent is not None else None, []).append(span)

    def show(span: ReadableSpan, indent: str) -> None:
        attrs = dict(span.attributes or {})
        details = " ".join(f"{key}={attrs[key]}" for key in SHOWN if key in attrs)
        print(f"{indent}{span.name} [{span.kind.name}] {details}".rstrip())
        for child in by_parent.get(span.context.span_id if span.context is not None else None, []):
            show(child, indent + "    ")

    for root in by_parent.get(None, []):
        show(root, "")


def print_metrics(reader: InMemoryMetricReader) -> None:
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attrs = dict(point.attributes or {})
                    labels = ", ".join(f"{key}={value}" for key, value in sorted(attrs.items()) if key != "server.port")
                    if isinstance(point, HistogramDataPoint):
                        print(f"{metric.name} ({metric.unit}) count={point.count} sum={point.sum:.4g} {{{labels}}}")
                    elif isinstance(point, NumberDataPoint):
                        print(f"{metric.name} ({metric.unit}) value={point.value:.6g} {{{labels}}}")


async def main() -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        async with service() as options, AsyncMicroDC(**options, hooks=telemetry) as client:
            app = create_app(client, tracer_provider.get_tracer("otel_service"))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service.local") as http:
                for prompt in ("What does MicroDC run?", "Name a queue."):
                    answer = await http.post("/ask", json={"prompt": prompt})
                    print(f"POST /ask {prompt!r} -> {answer.status_code} {answer.json()}")
        print("\nTraces:")
        print_tree(list(spans.get_finished_spans()))
        print("\nMetrics:")
        print_metrics(reader)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
