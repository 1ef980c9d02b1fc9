"""Malformed answers: each bad answer gives its documented result, never a hang or a bare error.

A raw loopback server (``_raw_server.py``) answers with bytes no honest server would
send. For each row of :data:`CASES` the call either raises a typed ``microdc``
exception whose message says what went wrong, or parses leniently and keeps the
data. Each call is bounded by ``anyio.fail_after``, so a hang fails the test
instead of stalling the suite. The client is the SDK's default HTTP client
(redirects followed), the way users run it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Type, Tuple, Union, Callable, Optional, Awaitable
from dataclasses import dataclass

import anyio
import httpx
import pytest

from microdc import (
    AsyncMicroDC,
    MicroDCError,
    APIStatusError,
    RateLimitError,
    APITimeoutError,
    BadRequestError,
    APIConnectionError,
    InternalServerError,
    APIResponseValidationError,
)

from ._raw_server import (
    Answer,
    RawServer,
    send,
    response,
    json_response,
    send_then_hang,
    send_then_close,
    close_without_answer,
)

pytestmark = pytest.mark.usefixtures("no_retry_delays")

API_KEY = "sk-malformed-secret-0123456789"
CALL_TIME_LIMIT = 10.0
"""Seconds any one call may take before the test calls it a hang."""
READ_TIMEOUT = httpx.Timeout(0.3, connect=5.0)
"""For answers that never come: a short wait for them, a generous one for the connection."""


def job_data(**overrides: object) -> Dict[str, object]:
    """A valid Job as the API sends it."""
    job: Dict[str, object] = {
        "id": "job_1",
        "object": "job",
        "type": "llm_complete",
        "model": "echo-1",
        "status": "queued",
        "priority": "normal",
        "metadata": {},
        "timeout_seconds": 300,
        "progress": 0.0,
        "created_at": "2024-01-01T00:00:00Z",
        "started_at": None,
        "completed_at": None,
        "acknowledged": False,
        "acknowledged_at": None,
        "usage": None,
        "error": None,
        "result": None,
    }
    job.update(overrides)
    return job


def sse(event_id: int, event: str, data: object) -> bytes:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()


STATUS_1 = sse(1, "job.status", {"id": "job_1", "status": "running", "progress": 0.5})
DELTA_2 = sse(2, "job.output.delta", {"id": "job_1", "delta": "hello"})
DONE_3 = sse(3, "job.completed", job_data(status="completed", progress=1.0))
HALF_EVENT = b'id: 2\nevent: job.output.delta\ndata: {"id": "job_1", "del'
SSE_HEADERS = {"content-type": "text/event-stream"}


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def chunked_stream(*parts: bytes, finished: bool) -> bytes:
    """A 200 event stream in chunked encoding; ``finished=False`` leaves out the last chunk."""
    head = response(200, headers={**SSE_HEADERS, "transfer-encoding": "chunked"}, content_length=None)
    return head + b"".join(chunk(part) for part in parts) + (b"0\r\n\r\n" if finished else b"")


def redirect(status: int, location: str) -> bytes:
    return response(status, headers={"location": location})


# ------------------------------------------------------------------------- calls

Call = Callable[[AsyncMicroDC], Awaitable[object]]


async def retrieve(client: AsyncMicroDC) -> object:
    return await client.jobs.retrieve("job_1")


async def list_first_page(client: AsyncMicroDC) -> object:
    return await client.jobs.list()


async def read_events(client: AsyncMicroDC) -> object:
    async with await client.jobs.events("job_1") as stream:
        return [event async for event in stream]


# ------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """A bad answer (or a script of them), the call that meets it, and what must happen.

    ``raises``/``match``: the typed error and a regex its message must contain.
    ``check``: what must hold of the result (lenient parse) or of the error, given the
    server that recorded the requests.
    """

    id: str
    answers: Tuple[Answer, ...]
    raises: Optional[Type[MicroDCError]] = None
    match: str = ""
    check: Optional[Callable[[Any, RawServer], None]] = None
    call: Call = retrieve
    max_retries: int = 0
    timeout: Union[float, httpx.Timeout] = 5.0
    strict: bool = False


def attempts(count: int) -> Callable[[Any, RawServer], None]:
    def check(_outcome: Any, server: RawServer) -> None:
        assert len(server.requests) == count

    return check


def has(**expected: object) -> Callable[[Any, RawServer], None]:
    def check(outcome: Any, _server: RawServer) -> None:
        for name, value in expected.items():
            assert getattr(outcome, name) == value, name

    return check


def resumed_after(last_event_id: str) -> Callable[[Any, RawServer], None]:
    def check(outcome: Any, server: RawServer) -> None:
        assert [event.id for event in outcome] == ["1", "2", "3"]
        assert [event.event for event in outcome] == ["job.status", "job.output.delta", "job.completed"]
        assert "last-event-id" not in server.requests[0].headers
        assert server.requests[1].headers["last-event-id"] == last_event_id

    return check


def page_keeps_odd_items(outcome: Any, _server: RawServer) -> None:
    assert outcome.data[0] == 7
    assert outcome.data[1].id == "job_1"
    assert outcome.has_more is False


def extra_field_kept(job: Any, _server: RawServer) -> None:
    assert job.id == "job_1"
    assert job.model_extra == {"shard": "eu-1"}
    assert job.to_dict()["shard"] == "eu-1"


def unknown_event_kept(events: Any, _server: RawServer) -> None:
    assert [event.event for event in events] == ["job.paused", "job.completed"]
    assert events[0].data.to_dict() == {"id": "job_1", "why": "maintenance"}
    assert events[1].data.status == "completed"


def body_is(expected: object) -> Callable[[Any, RawServer], None]:
    def check(outcome: Any, _server: RawServer) -> None:
        assert outcome.body == expected

    return check


CASES: List[Case] = [
    Case(
        "invalid_json",
        (send(response(200, b'{"id": "job_1", "status": ', headers={"content-type": "application/json"})),),
        raises=APIResponseValidationError,
        match=r"Could not read the answer to GET /api/v1/jobs/job_1 .*not valid JSON",
    ),
    Case(
        "html_502_page_is_retried_then_raised",
        (
            send(
                response(
                    502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"content-type": "text/html"}
                )
            ),
        ),
        raises=InternalServerError,
        match=r"Error code: 502 - <html><body><h1>502 Bad Gateway",
        check=attempts(3),
        max_retries=2,
    ),
    Case(
        "truncated_body_content_length_larger_than_sent",
        (send_then_close(response(200, json.dumps(job_data()).encode()[:40], content_length=2000)),),
        raises=APIConnectionError,
        match=r"peer closed connection without sending complete message body",
        check=attempts(2),
        max_retries=1,
    ),
    Case(
        "body_breaking_the_schema_is_kept_leniently",
        (send(json_response(200, job_data(id=42, progress="half", metadata=["a"]))),),
        check=has(id=42, progress="half", metadata=["a"], status="queued"),
    ),
    Case(
        "body_breaking_the_schema_raises_when_strict",
        (send(json_response(200, job_data(progress="half"))),),
        raises=APIResponseValidationError,
        match=r"(?s)does not match the schema.*progress",
        strict=True,
    ),
    Case(
        "empty_200",
        (send(response(200, b"", headers={"content-type": "application/json"})),),
        raises=APIResponseValidationError,
        match=r"Could not read the answer to GET /api/v1/jobs/job_1 \(application/json\)",
    ),
    Case(
        "html_200_wrong_content_type",
        (send(response(200, b"<html>maintenance</html>", headers={"content-type": "text/html"})),),
        raises=APIResponseValidationError,
        match=r"Could not read the answer to .* \(text/html",
    ),
    Case(
        "json_under_a_wrong_content_type_is_parsed",
        (send(response(200, json.dumps(job_data()).encode(), headers={"content-type": "text/plain"})),),
        check=has(id="job_1", status="queued"),
    ),
    Case(
        "gigantic_header",
        (send_then_close(response(200, b"{}", headers={"x-huge": "a" * (1024 * 1024)})),),
        raises=APIConnectionError,
        match=r"Connection error",
    ),
    Case(
        "unknown_enum_value_is_kept",
        (send(json_response(200, job_data(status="paused", priority="urgent"))),),
        check=has(status="paused", priority="urgent", id="job_1"),
    ),
    Case(
        "unknown_extra_field_is_kept",
        (send(json_response(200, job_data(shard="eu-1"))),),
        check=extra_field_kept,
    ),
    Case(
        "redirect_loop",
        (send(redirect(302, "/api/v1/jobs/job_1")),),
        raises=APIConnectionError,
        match=r"Too many redirects",
        check=attempts(21),  # the first request and httpx's 20 redirects
    ),
    Case(
        "no_content_204_on_a_json_endpoint",
        (send(response(204)),),
        raises=APIResponseValidationError,
        match=r"Could not read the answer to GET /api/v1/jobs/job_1",
    ),
    Case(
        "json_array_instead_of_object",
        (send(json_response(200, [job_data()])),),
        raises=APIResponseValidationError,
        match=r"GET /api/v1/jobs/job_1 .*a JSON array, not an object",
    ),
    Case(
        "null_body",
        (send(json_response(200, None)),),
        raises=APIResponseValidationError,
        match=r"GET /api/v1/jobs/job_1 .*null, not an object",
    ),
    Case(
        "json_array_instead_of_a_page",
        (send(json_response(200, [job_data()])),),
        raises=APIResponseValidationError,
        match=r"GET /api/v1/jobs .*a JSON array, not an object",
        call=list_first_page,
    ),
    Case(
        "page_with_an_item_that_is_not_an_object_keeps_it",
        (send(json_response(200, {"object": "list", "data": [7, job_data()], "has_more": False})),),
        check=page_keeps_odd_items,
        call=list_first_page,
    ),
    Case(
        "non_utf8_bytes",
        (send(response(200, b'{"id": "job_\xff\xfe"}', headers={"content-type": "application/json"})),),
        raises=APIResponseValidationError,
        match=r"not valid JSON: .*unicode",
    ),
    Case(
        "non_utf8_error_body",
        (send(response(400, b"bad \xff request", headers={"content-type": "text/plain"})),),
        raises=BadRequestError,
        match=r"Error code: 400 - bad \ufffd request",
    ),
    Case(
        "deeply_nested_json",
        (send(response(200, b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"})),),
        raises=APIResponseValidationError,
        match=r"not valid JSON: .*recursion limit",
    ),
    Case(
        "error_500_with_a_non_json_body",
        (send(response(500, b"upstream exploded", headers={"content-type": "text/plain"})),),
        raises=InternalServerError,
        match=r"Error code: 500 - upstream exploded",
        check=attempts(3),
        max_retries=2,
    ),
    Case(
        "error_body_whose_error_is_a_string",
        (send(json_response(400, {"error": "model is required"})),),
        raises=BadRequestError,
        match=r"Error code: 400 - model is required",
        check=body_is({"error": "model is required"}),
    ),
    Case(
        "status_the_sdk_has_no_class_for",
        (send(json_response(418, {"error": {"type": "teapot", "code": "teapot", "message": "short and stout"}})),),
        raises=APIStatusError,
        match=r"Error code: 418 \(teapot\) - short and stout",
    ),
    Case(
        "rate_limit_with_garbage_retry_after",
        (
            send(
                json_response(
                    429, {"error": {"code": "rate_limited"}}, headers={"retry-after": "soon-ish", "retry-after-ms": "x"}
                )
            ),
        ),
        raises=RateLimitError,
        match=r"Error code: 429 \(rate_limited\)",
        check=attempts(3),
        max_retries=2,
    ),
    Case(
        "rate_limit_with_an_out_of_range_retry_after_date",
        (
            send(
                json_response(
                    429, {"error": {"code": "rate_limited"}}, headers={"retry-after": "Wed, 21 Oct 99999 07:28:00 GMT"}
                )
            ),
        ),
        raises=RateLimitError,
        match=r"Error code: 429",
        check=attempts(2),
        max_retries=1,
    ),
    Case(
        "gzip_content_encoding_over_plain_bytes",
        (
            send(
                response(
                    200,
                    json.dumps(job_data()).encode(),
                    headers={"content-type": "application/json", "content-encoding": "gzip"},
                )
            ),
        ),
        raises=APIConnectionError,
        match=r"decompress",
    ),
    Case(
        "connection_closed_without_an_answer",
        (close_without_answer(),),
        raises=APIConnectionError,
        match=r"Server disconnected without sending a response",
        check=attempts(2),
        max_retries=1,
    ),
    Case(
        "no_answer_at_all_times_out",
        (send_then_hang(b""),),
        raises=APITimeoutError,
        match=r"timed out",
        check=attempts(2),
        max_retries=1,
        timeout=READ_TIMEOUT,
    ),
    Case(
        "garbage_status_line",
        (send_then_close(b"HTTP/1.1 two-hundred OK\r\ncontent-length: 2\r\n\r\n{}"),),
        raises=APIConnectionError,
        match=r"Connection error",
    ),
    Case(
        "conflicting_content_lengths",
        (send_then_close(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 9\r\n\r\n{}"),),
        raises=APIConnectionError,
        match=r"Connection error",
    ),
    Case(
        "event_stream_closed_mid_event_drops_the_partial_event_and_resumes",
        (
            send_then_close(response(200, STATUS_1 + HALF_EVENT, headers=SSE_HEADERS, content_length=None)),
            send(chunked_stream(DELTA_2, DONE_3, finished=True)),
        ),
        check=resumed_after("1"),
        call=read_events,
        max_retries=1,
    ),
    Case(
        "event_stream_cut_mid_event_is_resumed_after_the_last_whole_event",
        (
            send_then_close(chunked_stream(STATUS_1, HALF_EVENT, finished=False)),
            send(chunked_stream(DELTA_2, DONE_3, finished=True)),
        ),
        check=resumed_after("1"),
        call=read_events,
        max_retries=1,
    ),
    Case(
        "event_stream_cut_mid_event_without_retries_left",
        (send_then_close(chunked_stream(STATUS_1, HALF_EVENT, finished=False)),),
        raises=APIConnectionError,
        match=r"The event stream was interrupted",
        call=read_events,
    ),
    Case(
        "event_stream_with_invalid_json_data",
        (send(chunked_stream(STATUS_1, b"id: 2\nevent: job.status\ndata: {oops\n\n", finished=True)),),
        raises=APIResponseValidationError,
        match=r"event that could not be parsed",
        call=read_events,
    ),
    Case(
        "event_stream_that_goes_silent_times_out",
        (send_then_hang(response(200, STATUS_1, headers=SSE_HEADERS, content_length=None)),),
        raises=APITimeoutError,
        match=r"timed out",
        call=read_events,
        timeout=READ_TIMEOUT,
    ),
    Case(
        "event_with_an_unknown_event_name_is_kept",
        (send(chunked_stream(sse(1, "job.paused", {"id": "job_1", "why": "maintenance"}), DONE_3, finished=True)),),
        check=unknown_event_kept,
        call=read_events,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_malformed_answer_gives_the_documented_result(case: Case) -> None:
    async with (
        RawServer(*case.answers) as server,
        AsyncMicroDC(
            api_key=API_KEY,
            base_url=server.url,
            max_retries=case.max_retries,
            timeout=case.timeout,
            _strict_response_validation=case.strict,
        ) as client,
    ):
        outcome: object
        with anyio.fail_after(CALL_TIME_LIMIT):
            if case.raises is None:
                outcome = await case.call(client)
            else:
                with pytest.raises(case.raises, match=case.match) as caught:
                    await case.call(client)
                outcome = caught.value
        if case.check is not None:
            case.check(outcome, server)
        assert server.requests, "the call never reached the server"
        if isinstance(outcome, BaseException):
            assert API_KEY not in str(outcome)


def test_the_table_holds_at_least_twenty_bad_answers() -> None:
    assert len(CASES) >= 20
    assert len({case.id for case in CASES}) == len(CASES)


async def test_redirect_to_another_origin_does_not_send_the_api_key() -> None:
    async with RawServer(send(json_response(200, job_data(id="job_elsewhere")))) as other:
        async with (
            RawServer(send(redirect(307, f"{other.url}/api/v1/jobs/job_1"))) as origin,
            AsyncMicroDC(api_key=API_KEY, base_url=origin.url, max_retries=0) as client,
        ):
            with anyio.fail_after(CALL_TIME_LIMIT):
                job = await client.jobs.retrieve("job_1")
        assert job.id == "job_elsewhere"
        assert origin.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
        assert len(other.requests) == 1
        assert "authorization" not in other.requests[0].headers
        assert all(API_KEY not in value for value in other.requests[0].headers.values())


async def test_redirect_within_the_origin_keeps_the_api_key() -> None:
    async with (
        RawServer(
            send(redirect(307, "/api/v1/jobs/job_moved")), send(json_response(200, job_data(id="job_moved")))
        ) as server,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, max_retries=0) as client,
    ):
        with anyio.fail_after(CALL_TIME_LIMIT):
            job = await client.jobs.retrieve("job_1")
    assert job.id == "job_moved"
    assert [request.target for request in server.requests] == ["/api/v1/jobs/job_1", "/api/v1/jobs/job_moved"]
    assert server.requests[1].headers["authorization"] == f"Bearer {API_KEY}"
