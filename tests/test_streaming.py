"""``AsyncStream``: closing, mapping errors, parsing by event name and resuming (the decoder: ``test_sse.py``)."""

from __future__ import annotations

import json
import asyncio
from typing import Any, Dict, List, Tuple, Optional, cast

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from microdc import (
    BaseModel,
    AsyncStream,
    RetryPolicy,
    AsyncMicroDC,
    APITimeoutError,
    APIConnectionError,
    InternalServerError,
    APIResponseValidationError,
)
from microdc._clock import use_clock
from microdc.types.job_event import JobEvent
from microdc.types.job_status_event import JobStatusEvent
from microdc.types.job_terminal_event import JobTerminalEvent
from microdc.types.job_output_delta_event import JobOutputDeltaEvent

from .conftest import Answer, Recorder, ChunkStream, fail, error, make_client, stream_reply

pytestmark = pytest.mark.usefixtures("no_retry_delays")

# ---------------------------------------------------------------- AsyncStream


class Event(BaseModel):
    event: Optional[str] = None
    id: Optional[str] = None
    data: Any = None


class Status(BaseModel):
    status: str


class StatusEvent(BaseModel):
    event: Optional[str] = None
    id: Optional[str] = None
    data: Status


def sse(event_id: int, event: str = "job.status") -> bytes:
    return f'event: {event}\nid: {event_id}\ndata: {{"n": {event_id}}}\n\n'.encode()


async def open_events(client: AsyncMicroDC, **options: Any) -> AsyncStream[Event]:
    """What ``jobs.events`` does."""
    stream = await client.get("/api/v1/jobs/job_1/events", cast_to=Event, sse_cls=AsyncStream[Event], **options)
    return cast("AsyncStream[Event]", stream)


def ids(events: List[Event]) -> List[Optional[str]]:
    return [e.id for e in events]


async def collect(stream: AsyncStream[Event], *, into: Optional[List[Event]] = None, limit: int = 100) -> List[Event]:
    """Every item of ``stream`` (also appended to ``into`` as they arrive, for a stream that fails)."""
    events: List[Event] = [] if into is None else into
    async with stream:
        async for event in stream:
            events.append(event)
            assert len(events) <= limit
    return events


async def test_stream_yields_parsed_items() -> None:
    body = ChunkStream([sse(1), sse(2, "job.output.delta")])
    async with make_client(Recorder(stream_reply(body))) as client:
        events = await collect(await open_events(client))
    assert [(e.event, e.id, e.data) for e in events] == [
        ("job.status", "1", {"n": 1}),
        ("job.output.delta", "2", {"n": 2}),
    ]


async def test_stream_reads_nothing_before_iteration() -> None:
    body = ChunkStream([sse(1)])
    async with make_client(Recorder(stream_reply(body))) as client:
        stream = await open_events(client)
        assert body.yielded == 0
        await stream.close()


async def test_stream_is_closed_when_it_ends() -> None:
    body = ChunkStream([sse(1)])
    async with make_client(Recorder(stream_reply(body))) as client:
        stream = await open_events(client)
        assert ids([event async for event in stream]) == ["1"]
    assert body.closed


async def test_break_inside_async_with_closes_the_response() -> None:
    body = ChunkStream([sse(1), sse(2), sse(3)])
    async with make_client(Recorder(stream_reply(body))) as client:
        async with await open_events(client) as stream:
            async for _ in stream:
                break
        assert body.closed
        assert stream.response.is_closed
    assert body.yielded == 1


async def test_iteration_ends_after_close() -> None:
    body = ChunkStream([sse(1), sse(2), sse(3)])
    async with make_client(Recorder(stream_reply(body))) as client:
        stream = await open_events(client)
        async for _ in stream:
            break
        await stream.close()
        assert [event async for event in stream] == []
    assert body.closed


async def test_exception_inside_async_with_closes_the_response() -> None:
    body = ChunkStream([sse(1), sse(2)])
    async with make_client(Recorder(stream_reply(body))) as client:
        stream = await open_events(client)

        async def leave_with_an_error() -> None:
            async with stream:
                async for _ in stream:
                    raise LookupError("stop")

        with pytest.raises(LookupError):
            await leave_with_an_error()
    assert body.closed


async def test_cancellation_closes_the_response() -> None:
    body = ChunkStream([sse(1)], hang=True)
    first = asyncio.Event()
    async with make_client(Recorder(stream_reply(body))) as client:
        stream = await open_events(client)

        async def consume() -> None:
            async for _ in stream:
                first.set()

        task = asyncio.ensure_future(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert body.closed


async def test_invalid_event_json_raises_validation_error_and_closes() -> None:
    body = ChunkStream([sse(1), b"data: {not json\n\n", sse(3)])
    async with make_client(Recorder(stream_reply(body))) as client:
        stream = await open_events(client)
        seen: List[Event] = []
        with pytest.raises(APIResponseValidationError):
            await collect(stream, into=seen)
    assert ids(seen) == ["1"]
    assert body.closed


async def test_strict_event_that_does_not_fit_raises_validation_error() -> None:
    body = ChunkStream([b'data: {"status": 5}\n\n'])
    async with make_client(Recorder(stream_reply(body)), _strict_response_validation=True) as client:
        raw = await client.get("/events", cast_to=StatusEvent, sse_cls=AsyncStream[StatusEvent])
        stream = cast("AsyncStream[StatusEvent]", raw)
        with pytest.raises(APIResponseValidationError):
            async for _ in stream:
                pass
    assert body.closed


async def test_lenient_event_that_does_not_fit_is_kept() -> None:
    body = ChunkStream([b'data: {"status": 5}\n\n'])
    async with make_client(Recorder(stream_reply(body))) as client:
        raw = await client.get("/events", cast_to=StatusEvent, sse_cls=AsyncStream[StatusEvent])
        events = [event async for event in cast("AsyncStream[StatusEvent]", raw)]
    assert events[0].data.status == 5  # type: ignore[comparison-overlap]


async def test_error_status_raises_before_streaming() -> None:
    async with make_client(Recorder(error(404))) as client:
        with pytest.raises(Exception, match="404"):
            await open_events(client)


# ---------------------------------------------------------------- dropped connections


def dropping(*chunks: bytes, exc: type[httpx.TransportError] = httpx.ReadError) -> Answer:
    return stream_reply(ChunkStream(list(chunks), then_raise=exc))


def ending(*chunks: bytes) -> Answer:
    return stream_reply(ChunkStream(list(chunks)))


async def test_dropped_connection_without_retries_is_api_connection_error() -> None:
    async with make_client(Recorder(dropping(sse(1))), max_retries=0) as client:
        stream = await open_events(client)
        with pytest.raises(APIConnectionError) as info:
            await collect(stream)
    assert not isinstance(info.value, (APITimeoutError, httpx.HTTPError))
    assert isinstance(info.value.__cause__, httpx.ReadError)


async def test_read_timeout_mid_stream_is_api_timeout_error() -> None:
    async with make_client(Recorder(dropping(sse(1), exc=httpx.ReadTimeout)), max_retries=0) as client:
        stream = await open_events(client)
        with pytest.raises(APITimeoutError):
            await collect(stream)


async def test_dropped_connection_resumes_with_last_event_id() -> None:
    recorder = Recorder(dropping(sse(1), sse(2)), ending(sse(3), sse(4)))
    async with make_client(recorder) as client:
        stream = await open_events(client)
        events = await collect(stream)
    assert ids(events) == ["1", "2", "3", "4"]
    assert "last-event-id" not in recorder.requests[0].headers
    assert recorder.requests[1].headers["Last-Event-ID"] == "2"
    assert stream.reconnections == 1


async def test_drop_in_the_middle_of_an_event_loses_and_repeats_nothing() -> None:
    partial = sse(3)[:15]
    recorder = Recorder(dropping(sse(1), sse(2), partial), ending(sse(3), sse(4)))
    async with make_client(recorder) as client:
        events = await collect(await open_events(client))
    assert ids(events) == ["1", "2", "3", "4"]
    assert recorder.requests[1].headers["Last-Event-ID"] == "2"


async def test_drop_after_id_line_resumes_from_the_last_complete_event() -> None:
    recorder = Recorder(dropping(sse(1), b"event: job.status\nid: 2\n"), ending(sse(2)))
    async with make_client(recorder) as client:
        events = await collect(await open_events(client))
    assert ids(events) == ["1", "2"]
    assert recorder.requests[1].headers["Last-Event-ID"] == "1"


async def test_several_drops_resume_each_time() -> None:
    recorder = Recorder(dropping(sse(1)), dropping(sse(2)), dropping(sse(3)), ending(sse(4)))
    async with make_client(recorder, max_retries=3) as client:
        events = await collect(await open_events(client))
    assert ids(events) == ["1", "2", "3", "4"]
    assert [r.headers.get("last-event-id") for r in recorder.requests] == [None, "1", "2", "3"]


async def test_reconnections_count_failures_in_a_row_against_max_retries() -> None:
    recorder = Recorder(dropping(sse(1)), fail(httpx.ConnectError), ending(sse(2)))
    async with make_client(recorder, max_retries=1) as client:
        stream = await open_events(client)
        seen: List[Event] = []
        with pytest.raises(APIConnectionError):
            await collect(stream, into=seen)
    assert ids(seen) == ["1"]
    assert len(recorder.requests) == 2


async def test_a_reconnection_that_delivers_an_event_restores_the_whole_budget() -> None:
    # Four failures in all with max_retries=2, never more than two in a row.
    answers = [dropping(sse(1)), fail(httpx.ConnectError), dropping(sse(2)), fail(httpx.ConnectError), ending(sse(3))]
    recorder = Recorder(*answers)
    async with make_client(recorder, max_retries=2) as client:
        stream = await open_events(client)
        events = await collect(stream)
    assert ids(events) == ["1", "2", "3"]
    assert stream.reconnections == 4
    assert [r.headers["x-stainless-retry-count"] for r in recorder.requests] == ["0", "1", "2", "1", "2"]


async def test_retries_before_the_stream_opened_count_until_its_first_event() -> None:
    recorder = Recorder(error(503), dropping(), ending(sse(1)))
    async with make_client(recorder, max_retries=1) as client:
        with pytest.raises(APIConnectionError):
            await collect(await open_events(client))
    assert len(recorder.requests) == 2


async def test_per_call_max_retries_bounds_reconnections() -> None:
    recorder = Recorder(dropping(sse(1)), ending(sse(2)))
    async with make_client(recorder, max_retries=5) as client:
        with pytest.raises(APIConnectionError):
            await collect(await open_events(client, max_retries=0))
    assert len(recorder.requests) == 1


async def test_failed_reconnection_is_retried_while_retries_remain() -> None:
    recorder = Recorder(dropping(sse(1)), fail(httpx.ConnectError), error(503), ending(sse(2)))
    async with make_client(recorder, max_retries=3) as client:
        events = await collect(await open_events(client))
    assert ids(events) == ["1", "2"]
    assert [r.headers.get("last-event-id") for r in recorder.requests] == [None, "1", "1", "1"]


async def test_failed_reconnection_raises_when_retries_run_out() -> None:
    recorder = Recorder(dropping(sse(1)), fail(httpx.ConnectError), error(503))
    async with make_client(recorder, max_retries=2) as client:
        with pytest.raises(InternalServerError):
            await collect(await open_events(client))
    assert len(recorder.requests) == 3


async def test_resumed_stream_closes_the_new_response_on_break() -> None:
    second = ChunkStream([sse(2), sse(3)])
    recorder = Recorder(dropping(sse(1)), stream_reply(second))
    async with make_client(recorder) as client, await open_events(client) as stream:
        async for event in stream:
            if event.id == "2":
                break
    assert second.closed


# ---------------------------------------------------------------- job events: parsing by name


def job_json(status: str = "completed", job_id: str = "job_1") -> Dict[str, Any]:
    """A Job as a terminal event carries it."""
    return {
        "id": job_id,
        "object": "job",
        "type": "llm_complete",
        "model": "echo-1",
        "status": status,
        "priority": "normal",
        "metadata": {},
        "timeout_seconds": 300,
        "progress": 1.0,
        "created_at": "2025-01-01T00:00:00Z",
        "acknowledged": False,
    }


def named(event_id: int, name: str, data: str) -> bytes:
    return f"event: {name}\nid: {event_id}\ndata: {data}\n\n".encode()


def status_event(event_id: int, status: str = "running") -> bytes:
    return named(event_id, "job.status", json.dumps({"id": "job_1", "status": status, "progress": 0.5}))


def terminal_event(event_id: int, name: str = "job.completed") -> bytes:
    return named(event_id, name, json.dumps(job_json(name.removeprefix("job."))))


async def read_job_events(
    recorder: Recorder, *, into: Optional[List[JobEvent]] = None, **client_options: Any
) -> List[JobEvent]:
    """Every item ``jobs.events`` yields (also appended to ``into`` as they arrive, for a stream that fails)."""
    events: List[JobEvent] = [] if into is None else into
    async with make_client(recorder, **client_options) as client, await client.jobs.events("job_1") as stream:
        async for event in stream:
            events.append(event)
            assert len(events) <= 100
    return events


async def job_events(answers: List[Answer], **client_options: Any) -> Tuple[List[JobEvent], Recorder]:
    """Every item ``jobs.events`` yields for the scripted answers, and the requests sent."""
    recorder = Recorder(*answers)
    return await read_job_events(recorder, **client_options), recorder


INJECTED = '{"id": "job_1", "status": "running", "progress": 0.5},"event":"job.completed"'


@pytest.mark.parametrize("strict", [False, True])
async def test_data_that_closes_its_object_early_cannot_turn_an_event_into_a_terminal_one(strict: bool) -> None:
    answers = [ending(status_event(1), named(2, "job.status", INJECTED), terminal_event(3))]
    seen: List[JobEvent] = []
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        await read_job_events(Recorder(*answers), into=seen, _strict_response_validation=strict)
    assert [type(event) for event in seen] == [JobStatusEvent]


async def test_an_event_key_inside_the_data_is_only_data() -> None:
    data = json.dumps({"id": "job_1", "status": "running", "progress": 0.5, "event": "job.completed"})
    events, _ = await job_events([ending(named(1, "job.status", data), terminal_event(2))])
    first = events[0]
    assert isinstance(first, JobStatusEvent)
    assert first.event == "job.status"
    assert first.data.status == "running"
    assert first.data.model_extra == {"event": "job.completed"}


async def test_each_event_becomes_the_item_its_name_selects() -> None:
    delta = named(2, "job.output.delta", json.dumps({"id": "job_1", "delta": "hi"}))
    events, _ = await job_events([ending(status_event(1), delta, terminal_event(3, "job.failed"))])
    assert [type(event) for event in events] == [JobStatusEvent, JobOutputDeltaEvent, JobTerminalEvent]
    assert [event.id for event in events] == ["1", "2", "3"]
    last = events[-1]
    assert isinstance(last, JobTerminalEvent)
    assert last.data.status == "failed"


async def test_lenient_event_whose_data_does_not_fit_its_name_is_kept_as_that_event() -> None:
    wrong = named(1, "job.status", json.dumps(job_json("completed")))  # a whole Job, under job.status
    listed = named(2, "job.output.delta", "[1, 2]")
    events, _ = await job_events([ending(wrong, listed, terminal_event(3))])
    assert [type(event) for event in events] == [JobStatusEvent, JobOutputDeltaEvent, JobTerminalEvent]
    assert events[1].data == [1, 2]  # type: ignore[comparison-overlap]


async def test_strict_event_whose_data_does_not_fit_its_name_raises() -> None:
    delta_as_status = named(1, "job.status", json.dumps({"id": "job_1", "delta": "hi"}))
    with pytest.raises(APIResponseValidationError, match=r"does not fit a job\.status event"):
        await job_events([ending(delta_as_status, terminal_event(2))], _strict_response_validation=True)


async def test_lenient_event_with_an_unknown_name_is_kept_as_a_plain_model() -> None:
    paused = named(1, "job.paused", json.dumps({"id": "job_1", "why": "maintenance"}))
    events, _ = await job_events([ending(paused, b"data: [1]\n\n", terminal_event(2))])
    assert [type(event) for event in events] == [BaseModel, BaseModel, JobTerminalEvent]
    first: Any = events[0]
    assert (first.event, first.id) == ("job.paused", "1")
    assert first.data.to_dict() == {"id": "job_1", "why": "maintenance"}
    assert (events[1].event, events[1].data) == (None, [1])  # type: ignore[comparison-overlap]


async def test_strict_event_with_an_unknown_name_raises() -> None:
    with pytest.raises(APIResponseValidationError, match=r"job\.heartbeat"):
        await job_events([ending(named(1, "job.heartbeat", "{}"), terminal_event(2))], _strict_response_validation=True)


_EVENT_NAMES = ["job.status", "job.output.delta", "job.completed", "job.failed", "job.cancelled", "other"]
_KIND_OF = {
    "job.status": JobStatusEvent,
    "job.output.delta": JobOutputDeltaEvent,
    "job.completed": JobTerminalEvent,
    "job.failed": JobTerminalEvent,
    "job.cancelled": JobTerminalEvent,
}
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["event", "id", "data", "status"]), inner)
    ),
    max_leaves=8,
)
_DATA_TEXT = st.one_of(
    _JSON_VALUES.map(json.dumps),
    st.tuples(_JSON_VALUES.map(json.dumps), st.sampled_from(_EVENT_NAMES)).map(
        lambda pair: pair[0] + f',"event":"{pair[1]}"'
    ),
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(_EVENT_NAMES), data=_DATA_TEXT, strict=st.booleans())
def test_the_event_name_alone_decides_the_kind_of_item(name: str, data: str, strict: bool) -> None:
    body = named(1, name, data) + terminal_event(2)
    response = httpx.Response(200, content=body, request=httpx.Request("GET", "http://microdc.test/events"))

    async def read() -> List[JobEvent]:
        stream: AsyncStream[JobEvent] = AsyncStream(cast_to=cast(Any, JobEvent), response=response, strict=strict)
        return [event async for event in stream]

    try:
        events = asyncio.run(read())
    except APIResponseValidationError:
        return
    assert type(events[0]) is _KIND_OF.get(name, BaseModel)
    assert (events[0].event, events[0].id) == (name, "1")


# ---------------------------------------------------------------- job events: ending before the last event


async def test_stream_ended_before_its_terminal_event_resumes_with_last_event_id() -> None:
    events, recorder = await job_events([ending(status_event(1), status_event(2)), ending(terminal_event(3))])
    assert [event.id for event in events] == ["1", "2", "3"]
    assert [r.headers.get("last-event-id") for r in recorder.requests] == [None, "2"]


async def test_a_stream_that_keeps_ending_without_an_event_gives_up_after_max_retries() -> None:
    answers = [ending(status_event(1)), ending(), ending(), ending(terminal_event(2))]
    recorder = Recorder(*answers)
    seen: List[JobEvent] = []
    with pytest.raises(APIConnectionError, match=r"ended before its last event \(job\.cancelled"):
        await read_job_events(recorder, into=seen, max_retries=1)
    assert [event.id for event in seen] == ["1"]
    assert len(recorder.requests) == 2


async def test_iteration_ends_at_the_terminal_event_even_if_the_server_keeps_the_stream_open() -> None:
    body = ChunkStream([status_event(1), terminal_event(2)], hang=True)
    events, _ = await job_events([stream_reply(body)])
    assert [event.id for event in events] == ["1", "2"]
    assert body.closed


class RecordingClock:
    """Virtual time that records every wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: List[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def test_reconnections_wait_on_the_sdk_clock_with_the_policy_backoff() -> None:
    connect_error = fail(httpx.ConnectError)
    answers = [
        dropping(status_event(1)),
        connect_error,
        connect_error,
        ending(status_event(2)),
        ending(terminal_event(3)),
    ]
    clock = RecordingClock()
    with use_clock(clock):
        events, _ = await job_events(answers)
    assert [event.id for event in events] == ["1", "2", "3"]
    policy = RetryPolicy()
    # Failures in a row back off as retries do (0, 1, 2); after event 2 the count starts again.
    assert len(clock.sleeps) == 4
    for n, slept in zip([0, 1, 2, 0], clock.sleeps, strict=True):
        full = min(policy.initial_delay * 2**n, policy.max_delay)
        assert full * (1 - policy.jitter) <= slept <= full
