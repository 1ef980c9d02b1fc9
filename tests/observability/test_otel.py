"""``Tracing``: spans, attributes and events captured with the SDK's in-memory exporter; ``traceparent`` sent."""

from __future__ import annotations

import sys
import subprocess
from typing import Any, Dict, Tuple, Iterator

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microdc import NotFoundError, APIConnectionError
from microdc.lib.otel import Tracing

from ..conftest import Recorder, fail, error, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")

JOB = {"id": "job_abc123", "object": "job", "type": "llm_chat", "model": "echo-1", "status": "queued"}


@pytest.fixture
def traced() -> Iterator[Tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def attributes(span: ReadableSpan) -> Dict[str, Any]:
    return dict(span.attributes or {})


async def test_a_retried_call_is_one_span_with_an_event_per_attempt(
    traced: Tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    recorder = Recorder(error(503), reply(201, JOB))
    async with make_client(recorder, hooks=Tracing(tracer_provider=provider)) as client:
        await client.post("/api/v1/jobs/submit", body={"type": "llm_chat"}, cast_to=object)

    span = only_span(exporter)
    assert span.name == "POST /api/v1/jobs/submit"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = attributes(span)
    assert attrs["http.request.method"] == "POST"
    assert attrs["url.full"] == "http://api.microdc.test/api/v1/jobs/submit"
    assert attrs["url.template"] == "/api/v1/jobs/submit"
    assert (attrs["server.address"], attrs["server.port"]) == ("api.microdc.test", 80)
    assert attrs["http.response.status_code"] == 201
    assert (attrs["microdc.job.id"], attrs["microdc.job.type"]) == ("job_abc123", "llm_chat")
    assert attrs["microdc.retry.count"] == 1
    assert attrs["microdc.request_id"] == "req_123"
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    assert [name for name, _ in events] == ["microdc.attempt", "microdc.retry", "microdc.attempt"]
    assert events[0][1]["http.response.status_code"] == 503
    assert events[1][1]["microdc.retry.reason"] == "HTTP 503"
    assert events[2][1]["microdc.attempt"] == 2


async def test_traceparent_is_sent_on_every_attempt(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    recorder = Recorder(error(500), reply(200, JOB))
    async with make_client(recorder, hooks=Tracing(tracer_provider=provider)) as client:
        await client.get("/api/v1/jobs/job_abc123", cast_to=object)

    context = only_span(exporter).get_span_context()
    assert context is not None
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert [request.headers["traceparent"] for request in recorder.requests] == [expected, expected]
    assert attributes(only_span(exporter))["microdc.job.id"] == "job_abc123"


async def test_the_span_is_a_child_of_the_current_span(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    async with make_client(Recorder(reply(200, {})), hooks=Tracing(tracer_provider=provider)) as client:
        with provider.get_tracer("app").start_as_current_span("handle-request") as outer:
            await client.get("/api/v1/models", cast_to=object)

    call, parent = exporter.get_finished_spans()
    assert parent.name == "handle-request"
    assert call.parent is not None
    assert call.parent.span_id == outer.get_span_context().span_id
    assert call.context is not None
    assert call.context.trace_id == outer.get_span_context().trace_id


async def test_a_404_ends_the_span_with_an_error(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    async with make_client(Recorder(error(404, "not_found")), hooks=Tracing(tracer_provider=provider)) as client:
        with pytest.raises(NotFoundError):
            await client.get("/api/v1/jobs/job_gone42", cast_to=object)

    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    attrs = attributes(span)
    assert (attrs["error.type"], attrs["http.response.status_code"]) == ("404", 404)
    assert (attrs["microdc.job.id"], attrs["microdc.retry.count"]) == ("job_gone42", 0)
    assert [event.name for event in span.events] == ["microdc.attempt", "exception"]


async def test_a_connection_error_records_each_attempt(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    client = make_client(Recorder(fail(httpx.ConnectError)), max_retries=1, hooks=Tracing(tracer_provider=provider))
    async with client:
        with pytest.raises(APIConnectionError):
            await client.get("/api/v1/models", cast_to=object)

    span = only_span(exporter)
    assert attributes(span)["error.type"] == "microdc.APIConnectionError"
    assert attributes(span)["microdc.retry.count"] == 1
    names = [event.name for event in span.events]
    assert names == ["microdc.attempt", "microdc.retry", "microdc.attempt", "exception"]


async def test_propagation_can_be_turned_off(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, _ = traced
    recorder = Recorder(reply(200, {}))
    async with make_client(recorder, hooks=Tracing(tracer_provider=provider, propagate_context=False)) as client:
        await client.get("/x", cast_to=object)
    assert "traceparent" not in recorder.last.headers


def test_without_opentelemetry_tracing_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from microdc.lib.otel import Tracing\n"
        "try:\n"
        "    Tracing()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "microdc[otel]" in result.stdout
