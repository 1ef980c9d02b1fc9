"""``Tracing``: spans, attributes and events captured with the SDK's in-memory exporter; ``traceparent`` sent."""

from __future__ import annotations

import sys
import asyncio
import subprocess
from typing import Any, Dict, List, Tuple, Iterator, Optional

import anyio
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from microdc import NotFoundError, APIConnectionError
from microdc.lib.otel import Tracing
from microdc.lib.hooks import Hooks, RetryInfo, RequestInfo

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
        await client.jobs.retrieve("job_abc123")

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
            await client.jobs.retrieve("job_gone42")

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


# ---------------------------------------------------------------- the call's span is current while it runs


def parent_id(span: ReadableSpan) -> Optional[int]:
    parent = span.parent
    return None if parent is None else int(parent.span_id)


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={}, request=request)


def by_name(exporter: InMemorySpanExporter) -> Dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


async def test_spans_started_in_hooks_during_the_call_are_its_children(
    traced: Tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    app = provider.get_tracer("app")

    def on_request(info: RequestInfo) -> None:
        with app.start_as_current_span(f"hook on_request {info.attempt}"):
            pass

    async def on_retry(info: RetryInfo) -> None:
        with app.start_as_current_span(f"hook on_retry {info.attempt}"):
            await asyncio.sleep(0)

    hooks = [Tracing(tracer_provider=provider), Hooks(on_request=on_request, on_retry=on_retry)]
    async with make_client(Recorder(error(503), reply(200, {})), hooks=hooks) as client:
        await client.get("/api/v1/models", cast_to=object)

    spans = by_name(exporter)
    call = spans["GET /api/v1/models"]
    for name in ("hook on_request 1", "hook on_retry 1", "hook on_request 2"):
        assert parent_id(spans[name]) == span_id(call), name


async def test_spans_of_the_transport_and_of_tasks_it_starts_are_children_of_the_call(
    traced: Tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    app = provider.get_tracer("app")
    release = asyncio.Event()
    spawned: List[asyncio.Task[None]] = []

    async def later() -> None:  # runs on after the call has returned
        await release.wait()
        with app.start_as_current_span("spawned task"):
            pass

    def handler(request: httpx.Request) -> httpx.Response:
        spawned.append(asyncio.create_task(later()))
        with app.start_as_current_span("transport"):
            return ok(request)

    async with make_client(Recorder(handler), hooks=Tracing(tracer_provider=provider)) as client:
        with app.start_as_current_span("outer") as outer:
            await client.get("/api/v1/models", cast_to=object)
            assert trace.get_current_span() is outer
            release.set()
            await spawned[0]

    spans = by_name(exporter)
    call = spans["GET /api/v1/models"]
    assert parent_id(call) == span_id(spans["outer"])
    assert parent_id(spans["transport"]) == span_id(call)
    assert parent_id(spans["spawned task"]) == span_id(call)


async def test_concurrent_calls_keep_their_children_apart(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    app = provider.get_tracer("app")
    both_sent = asyncio.Barrier(2)

    async def handler(request: httpx.Request) -> httpx.Response:
        await both_sent.wait()  # the two calls are in flight at once, in one loop
        with app.start_as_current_span(f"transport {request.url.path}"):
            return ok(request)

    async with make_client(Recorder(handler), hooks=Tracing(tracer_provider=provider)) as client:
        with app.start_as_current_span("outer") as outer:
            await asyncio.gather(
                client.jobs.retrieve("job_one1"),
                client.jobs.retrieve("job_two2"),
            )
            assert trace.get_current_span() is outer

    calls = [span for span in exporter.get_finished_spans() if span.name == "GET /api/v1/jobs/{job_id}"]
    assert len(calls) == 2
    for call in calls:
        job_id = attributes(call)["microdc.job.id"]
        (child,) = [span for span in exporter.get_finished_spans() if span.name == f"transport /api/v1/jobs/{job_id}"]
        assert parent_id(child) == span_id(call)
        assert parent_id(call) == outer.get_span_context().span_id


async def test_the_callers_span_is_current_again_after_a_failed_call(
    traced: Tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, _ = traced
    async with make_client(Recorder(error(404, "not_found")), hooks=Tracing(tracer_provider=provider)) as client:
        with provider.get_tracer("app").start_as_current_span("outer") as outer:
            with pytest.raises(NotFoundError):
                await client.jobs.retrieve("job_gone42")
            assert trace.get_current_span() is outer


# ---------------------------------------------------------------- cancelled calls


def assert_cancelled(span: ReadableSpan) -> None:
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "cancelled"
    attrs = attributes(span)
    assert attrs["microdc.cancelled"] is True
    assert attrs["error.type"] == "asyncio.exceptions.CancelledError"


async def test_a_call_cancelled_while_waiting_for_its_answer_ends_its_span_marked_cancelled(
    traced: Tuple[TracerProvider, InMemorySpanExporter], caplog: pytest.LogCaptureFixture
) -> None:
    provider, exporter = traced
    scope = anyio.CancelScope()

    async def hang(_request: httpx.Request) -> httpx.Response:
        scope.cancel()
        await asyncio.Event().wait()
        raise AssertionError("not reached")

    async with make_client(Recorder(hang), hooks=Tracing(tracer_provider=provider)) as client:
        with provider.get_tracer("app").start_as_current_span("outer") as outer:
            with scope:
                await client.jobs.retrieve("job_abc123")
            assert scope.cancelled_caught
            assert trace.get_current_span() is outer

    span = by_name(exporter)["GET /api/v1/jobs/{job_id}"]
    assert_cancelled(span)
    assert attributes(span)["microdc.retry.count"] == 0
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    assert events == [("microdc.attempt", {"microdc.attempt": 1, "error.type": "asyncio.exceptions.CancelledError"})]
    assert not [record for record in caplog.records if record.name.startswith("opentelemetry")]


async def test_a_call_cancelled_between_retries_ends_its_span_marked_cancelled(
    traced: Tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    scope = anyio.CancelScope()
    hooks = [Tracing(tracer_provider=provider), Hooks(on_retry=lambda _info: scope.cancel())]
    recorder = Recorder(error(503), reply(200, {}))
    async with make_client(recorder, hooks=hooks) as client:
        with provider.get_tracer("app").start_as_current_span("outer") as outer:
            with scope:
                await client.get("/api/v1/models", cast_to=object)
            assert trace.get_current_span() is outer

    assert len(recorder.requests) == 1  # cancelled in the retry wait
    span = by_name(exporter)["GET /api/v1/models"]
    assert_cancelled(span)
    assert [event.name for event in span.events] == ["microdc.attempt", "microdc.retry"]


async def test_a_cancelled_task_ends_its_calls_span(traced: Tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = traced
    entered = asyncio.Event()

    async def hang(_request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("not reached")

    async with make_client(Recorder(hang), hooks=Tracing(tracer_provider=provider)) as client:
        task = asyncio.create_task(client.get("/api/v1/models", cast_to=object))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert_cancelled(by_name(exporter)["GET /api/v1/models"])


async def test_a_call_interrupted_by_another_exception_ends_its_span_with_it(
    traced: Tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced

    def broken(_request: httpx.Request) -> httpx.Response:
        raise ZeroDivisionError("a bug in the transport")

    async with make_client(Recorder(broken), hooks=Tracing(tracer_provider=provider)) as client:
        with provider.get_tracer("app").start_as_current_span("outer") as outer:
            with pytest.raises(ZeroDivisionError):
                await client.get("/api/v1/models", cast_to=object)
            assert trace.get_current_span() is outer

    span = by_name(exporter)["GET /api/v1/models"]
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["error.type"] == "builtins.ZeroDivisionError"
    assert "microdc.cancelled" not in attributes(span)
    assert [event.name for event in span.events] == ["microdc.attempt", "exception"]
