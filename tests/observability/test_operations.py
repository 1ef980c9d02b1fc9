"""The operation hooks and ``on_job``, as any hook set sees them: against microdc.testing over loopback,
on both transports, in virtual time."""

from __future__ import annotations

import asyncio
from typing import Any, List, Tuple, Union, Optional

import pytest

from microdc.testing import Faults
from microdc.lib.hooks import Hooks, JobInfo, RetryInfo, RequestInfo, OperationInfo, OperationEndInfo
from microdc._operations import NO_OPERATION, operation
from microdc.lib.jobs._poller import MAX_EVENT_STREAMS

from ._served import served
from .._transports import transport

__all__ = ["transport"]  # the fixture, imported for pytest


class Seen:
    """Operation hooks and ``on_request``, keeping what they were given, in order."""

    def __init__(self) -> None:
        self.events: List[Tuple[str, Any]] = []

    def on_operation_start(self, info: OperationInfo) -> None:
        self.events.append(("start", info))

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.events.append(("end", info))

    def on_request(self, info: RequestInfo) -> None:
        self.events.append((f"{info.method} {info.path}", info.operation))

    def on_retry(self, info: RetryInfo) -> None:
        self.events.append((f"retry {info.method} {info.path}", info.operation))

    def on_job(self, info: JobInfo) -> None:
        self.events.append((f"job {info.source}", info.job))

    def of(self, name: str) -> List[Any]:
        return [info for event, info in self.events if event == name]


async def test_an_ask_is_one_operation_and_its_calls_carry_it(transport: str) -> None:
    seen = Seen()
    async with served(transport, seen) as s:
        text = await s.client.jobs.ask("hello", model="echo-1", temperature=0.3)

    (start,) = seen.of("start")  # the wait inside ask opened none
    (end,) = seen.of("end")
    assert (start.operation_name, start.model, start.params["prompt"], start.streaming) == (
        "text_completion",
        "echo-1",
        "hello",
        False,
    )
    assert end.operation_id == start.operation_id
    assert end.state is start.state
    assert end.job is not None
    assert end.job.result is not None
    assert end.job.result.type == "llm_complete"
    assert end.job.result.text == text
    assert (end.error, end.cancelled) == (None, False)
    assert end.elapsed > 0  # virtual seconds on the SDK's clock: the job ran
    inside = [name for name, op in seen.events if op is start]
    assert inside == [
        "start",
        "POST /api/v1/jobs/submit",
        "GET /api/v1/jobs/{job_id}",
        "GET /api/v1/jobs/{job_id}/events",
    ]
    assert seen.of("GET /api/v1/models/{model_id}") == [None]  # the check before the turn is outside it


async def test_a_stream_left_early_ends_its_operation_cancelled(transport: str) -> None:
    seen = Seen()
    async with served(transport, seen) as s:
        conv = s.client.jobs.conversation("echo-1")
        async with conv.stream("a long answer please") as deltas:
            async for _ in deltas:
                break
        assert conv.messages == []

    (start,) = seen.of("start")
    (end,) = seen.of("end")
    assert start.streaming is True
    assert end.cancelled is True
    assert isinstance(end.error, GeneratorExit)
    assert end.job is None


async def test_a_streamed_turn_resumed_through_the_request_loop_stays_one_operation(transport: str) -> None:
    seen = Seen()
    async with served(transport, seen) as s:
        s.fake.faults = Faults(stream_drop_after=2, max_faults=2, paths=["/api/v1/jobs/*/events"])
        conv = s.client.jobs.conversation("echo-1")
        async with conv.stream("a reply long enough to be cut " * 4) as deltas:
            reply = "".join([delta async for delta in deltas])
        assert conv.messages[-1]["content"] == reply

    (start,) = seen.of("start")
    (end,) = seen.of("end")
    assert (start.operation_name, start.streaming) == ("chat", True)
    assert end.error is None
    assert end.job is not None
    assert end.job.status == "completed"
    # Each reconnection is a retry of the call that opened the stream, inside the operation.
    events_path = "GET /api/v1/jobs/{job_id}/events"
    assert seen.of(f"retry {events_path}") == [start, start]
    assert seen.of(events_path) == [start, start, start]
    (terminal,) = seen.of("job event")  # the terminal event, told once, after two cuts
    assert terminal.id == end.job.id


async def test_a_client_whose_hooks_do_not_observe_operations_opens_none(transport: str) -> None:
    jobs: List[JobInfo] = []
    async with served(transport, Hooks(on_job=jobs.append)) as s:
        params = {"type": "llm_complete", "model": "echo-1", "prompt": "x"}
        assert operation(s.client, params) is NO_OPERATION
        done = await s.client.jobs.create_and_wait(type="llm_complete", model="echo-1", prompt="x")
        page = await s.client.jobs.list(ids=[done.id])
        await s.client.jobs.retrieve(done.id)

    assert page.data[0].id == done.id
    assert [(info.job.id, info.source) for info in jobs] == [(done.id, "event"), (done.id, "list"), (done.id, "answer")]


@pytest.mark.parametrize("job_type", ["document", None])
async def test_only_model_jobs_are_operations(job_type: Optional[str], transport: str) -> None:
    seen = Seen()
    async with served(transport, seen) as s:
        params: dict[str, Union[str, None]] = {"type": job_type, "model": "doc-1"}
        assert operation(s.client, params) is NO_OPERATION
    assert seen.of("start") == []


async def test_a_polled_wait_is_an_operation_from_its_first_look_too(transport: str) -> None:
    """Past the client's event streams a wait is polled with the others; with operations observed it
    still takes a first look (which tells the job's type) and its operation ends with its terminal Job."""
    seen = Seen()
    async with served(transport, seen) as s:
        jobs = [
            await s.client.jobs.create(type="llm_complete", model="echo-1", prompt=f"p{i}")
            for i in range(MAX_EVENT_STREAMS + 2)
        ]
        done = await asyncio.gather(*(s.client.jobs.wait(job.id) for job in jobs))

    assert len(seen.of("GET /api/v1/jobs/{job_id}/events")) == MAX_EVENT_STREAMS  # two waits were polled...
    assert seen.of("GET /api/v1/jobs")  # ...through the list endpoint
    assert len(seen.of("GET /api/v1/jobs/{job_id}")) == len(jobs)  # every wait's first look
    ends = seen.of("end")
    assert sorted(end.job.id for end in ends) == sorted(job.id for job in done)
    assert all(end.error is None and end.job.status == "completed" for end in ends)
    assert [start.operation_name for start in seen.of("start")] == ["text_completion"] * len(jobs)
