"""``Telemetry``: the GenAI span tree of the SDK's model calls, against microdc.testing over loopback,
on both transports, in virtual time; spans read back from the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import json
import functools
from typing import List

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.sdk.trace import ReadableSpan

from microdc import JobFailedError
from microdc.lib.otel import SCHEMA_URL, SEMCONV_VERSION, Telemetry

from ._served import Otel, otel, events, served, attributes, until_requested
from .._transports import transport

__all__ = ["otel", "transport"]  # fixtures, imported for pytest

HTTP_UNDER_A_TURN = {"POST /api/v1/jobs/submit", "GET /api/v1/jobs/{job_id}", "GET /api/v1/jobs/{job_id}/events"}


def telemetry(otel: Otel, **kwargs: bool) -> Telemetry:
    return Telemetry(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider, **kwargs)


def genai_spans(otel: Otel) -> List[ReadableSpan]:
    return [span for span in otel.finished() if "gen_ai.operation.name" in attributes(span)]


def only_genai_span(otel: Otel) -> ReadableSpan:
    (span,) = genai_spans(otel)
    return span


async def test_one_ask_is_one_genai_span_over_its_http_spans(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        text = await s.client.jobs.ask("Say hi", model="echo-1", max_tokens=32, temperature=0.2)

    span = only_genai_span(otel)  # the wait inside ask opened none of its own
    assert span.name == "text_completion echo-1"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.schema_url == SCHEMA_URL
    attrs = attributes(span)
    job = s.server_job(attrs["gen_ai.response.id"])
    assert job["result"]["text"] == text
    assert attrs == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "microdc",
        "gen_ai.system": "microdc",  # the conventions' older name, without the opt-in
        "gen_ai.request.model": "echo-1",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 32,
        "server.address": "127.0.0.1",
        "server.port": attrs["server.port"],
        "gen_ai.response.id": job["id"],
        "gen_ai.response.model": "echo-1",
        "gen_ai.response.finish_reasons": (job["result"]["finish_reason"],),
        "gen_ai.usage.input_tokens": job["usage"]["input_tokens"],
        "gen_ai.usage.output_tokens": job["usage"]["output_tokens"],
        "microdc.job.status": "completed",
        "microdc.job.cost_usd": job["usage"]["cost_usd"],
    }
    assert attrs["server.port"] > 0
    # as in docs/guides/observability.md
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (2, 3)
    children = otel.children(span)
    assert {child.name for child in children} == HTTP_UNDER_A_TURN
    assert all(child.kind is SpanKind.CLIENT for child in children)
    # The model check before the turn is the caller's, not the model call's.
    (check,) = otel.named("GET /api/v1/models/{model_id}")
    assert check.parent is None
    assert not events(span)  # capture_content is off: no text anywhere
    assert "Say hi" not in json.dumps([attributes(s) for s in otel.finished()])


async def test_one_conversation_send_is_one_span_tree_charged_what_the_server_charged(
    otel: Otel, transport: str
) -> None:
    async with served(transport, telemetry(otel)) as s:
        conv = s.client.jobs.conversation("echo-1", system="Be brief.")
        reply = await conv.send("What is MicroDC?")
        with otel.tracer_provider.get_tracer("test").start_as_current_span("request handler") as handler:
            await conv.send("And again?")

    first, second = genai_spans(otel)
    for span in (first, second):
        assert span.name == "chat echo-1"
        assert {child.name for child in otel.children(span)} == HTTP_UNDER_A_TURN
    job = s.server_job(attributes(first)["gen_ai.response.id"])
    assert job["result"]["message"]["content"] == reply
    assert attributes(first)["gen_ai.usage.input_tokens"] == job["usage"]["input_tokens"]
    assert attributes(first)["gen_ai.usage.output_tokens"] == job["usage"]["output_tokens"]
    assert attributes(first)["gen_ai.response.finish_reasons"] == (job["result"]["finish_reason"],)
    assert first.parent is None
    assert second.parent is not None
    assert second.parent.span_id == handler.get_span_context().span_id
    total = sum(attributes(span)["gen_ai.usage.input_tokens"] for span in (first, second))
    assert conv.usage.input_tokens == total


async def test_a_streamed_turn_is_one_span_and_the_callers_code_is_outside_it(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        conv = s.client.jobs.conversation("echo-1")
        current_in_loop: List[bool] = []
        deltas: List[str] = []
        async for delta in conv.stream("Stream me"):
            deltas.append(delta)
            current_in_loop.append(trace.get_current_span().get_span_context().is_valid)

    span = only_genai_span(otel)
    assert span.name == "chat echo-1"
    assert {child.name for child in otel.children(span)} == {
        "POST /api/v1/jobs/submit",
        "GET /api/v1/jobs/{job_id}/events",
    }
    assert len(deltas) > 1
    assert not any(current_in_loop)
    job = s.server_job(attributes(span)["gen_ai.response.id"])
    assert "".join(deltas) == job["result"]["message"]["content"]
    assert attributes(span)["gen_ai.usage.output_tokens"] == job["usage"]["output_tokens"]


async def test_create_and_wait_of_each_model_job_names_its_operation(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        await s.client.jobs.create_and_wait(type="llm_embed", model="embed-1", texts=["a", "b"])
        await s.client.jobs.create_and_wait(type="llm_complete", model="echo-1", prompt="p")
        file = await s.client.files.upload(file=("doc.txt", b"page one", "text/plain"))
        await s.client.jobs.create_and_wait(type="document", model="doc-1", file_tokens=[file.token])

    embed, complete = genai_spans(otel)  # a document job is no model call: no GenAI span
    assert (embed.name, complete.name) == ("embeddings embed-1", "text_completion echo-1")
    assert "gen_ai.response.finish_reasons" not in attributes(embed)  # embeddings finish for no reason
    assert attributes(embed)["gen_ai.usage.input_tokens"] > 0
    assert {child.name for child in otel.children(embed)} == HTTP_UNDER_A_TURN


async def test_a_plain_wait_on_a_model_job_is_a_genai_span_from_its_first_look(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        job = await s.client.jobs.create(type="llm_chat", model="echo-1", messages=[{"role": "user", "content": "x"}])
        done = await s.client.jobs.wait(job.id)

    span = only_genai_span(otel)
    assert span.name == "chat echo-1"
    assert attributes(span)["gen_ai.response.id"] == done.id
    assert "gen_ai.request.temperature" not in attributes(span)  # a wait knows the job, not the request
    # The first look tells the job's type, so it comes before the span; the stream is inside.
    assert {child.name for child in otel.children(span)} == {"GET /api/v1/jobs/{job_id}/events"}


async def test_a_failed_job_sets_error_type_to_its_error_code(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        with pytest.raises(JobFailedError) as raised:
            await s.client.jobs.ask("[fail] this one", model="echo-1")

    span = only_genai_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert raised.value.job.error is not None
    assert attributes(span)["error.type"] == raised.value.job.error.code == "model_error"
    assert attributes(span)["microdc.job.status"] == "failed"


async def test_a_cancelled_ask_ends_its_span_marked_cancelled(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel), virtual_time=False) as s:  # the job never ends by itself
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(functools.partial(s.client.jobs.ask, "never answered", model="echo-1"))
            await until_requested(s.fake, "/events")
            tasks.cancel_scope.cancel()
        assert trace.get_current_span() is trace.INVALID_SPAN  # the caller's context is back

    span = only_genai_span(otel)
    attrs = attributes(span)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "cancelled"
    assert attrs["microdc.cancelled"] is True
    assert attrs["error.type"].endswith("CancelledError")
    assert span.end_time is not None
    (job,) = s.fake.jobs.values()
    assert job["status"] == "cancelled"  # ask cancels the job it abandons, inside the span
    assert "DELETE /api/v1/jobs/{job_id}" in {child.name for child in otel.children(span)}


async def test_capture_content_records_the_prompt_and_reply_as_message_events(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel, capture_content=True)) as s:
        conv = s.client.jobs.conversation("echo-1", system="Be brief.")
        reply = await conv.send("Hello there")

    span = only_genai_span(otel)
    assert events(span) == [
        ("gen_ai.system.message", {"gen_ai.system": "microdc", "content": "Be brief."}),
        ("gen_ai.user.message", {"gen_ai.system": "microdc", "content": "Hello there"}),
        (
            "gen_ai.choice",
            {
                "gen_ai.system": "microdc",
                "index": 0,
                "finish_reason": attributes(span)["gen_ai.response.finish_reasons"][0],
                "message": json.dumps({"role": "assistant", "content": reply}),
            },
        ),
    ]


async def test_the_opt_in_records_content_in_the_latest_conventions(
    otel: Otel, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    async with served(transport, telemetry(otel, capture_content=True)) as s:
        text = await s.client.jobs.ask("Complete me", model="echo-1")

    span = only_genai_span(otel)
    assert "gen_ai.system" not in attributes(span)  # the old name is not emitted under the opt-in
    ((name, details),) = events(span)
    assert name == "gen_ai.client.inference.operation.details"
    assert details["gen_ai.operation.name"] == "text_completion"
    assert json.loads(details["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Complete me"}]}
    ]
    finish_reason = attributes(span)["gen_ai.response.finish_reasons"][0]
    assert json.loads(details["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": finish_reason}
    ]


def test_the_pinned_conventions_version_names_the_schema() -> None:
    assert SEMCONV_VERSION == "1.37.0"
    assert SCHEMA_URL == "https://opentelemetry.io/schemas/1.37.0"
