"""An event stream that drops twice mid-way is resumed with Last-Event-ID: nothing lost, nothing repeated."""

from __future__ import annotations

import asyncio
from typing import List, AsyncIterator

import pytest

from microdc import AsyncMicroDC, APIConnectionError
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.retry import disable_retry_delays

_EVENTS = ["/api/v1/jobs/*/events"]


async def _finished_job_id(client: AsyncMicroDC) -> str:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="resume me")
    await client.jobs.wait(job.id, timeout=10)
    return job.id


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeMicroDC, AsyncMicroDC]]:
    fake = FakeMicroDC(job_duration=0.1, seed=3)
    with disable_retry_delays():
        async with fake.serve(port=0) as base_url, AsyncMicroDC(api_key="test", base_url=base_url) as client:
            yield fake, client


async def test_stream_resumes_across_two_drops_over_loopback(served: tuple[FakeMicroDC, AsyncMicroDC]) -> None:
    fake, client = served
    job_id = await _finished_job_id(client)
    fake.faults = Faults(stream_drop_after=2, max_faults=2, paths=_EVENTS)
    fake.reset_requests()
    async with await client.jobs.events(job_id) as stream:
        ids = [event.id async for event in stream]
        assert stream.reconnections == 2
    assert ids == [str(n) for n in range(1, len(ids) + 1)]
    assert ids[-1] is not None
    resumed_from = [r.headers.get("last-event-id") for r in fake.requests]
    assert resumed_from == [None, "2", "4"]


async def test_stream_resumes_in_process() -> None:
    fake = FakeMicroDC(job_duration=0.1, seed=4)
    with disable_retry_delays():
        async with fake.client() as client:
            job_id = await _finished_job_id(client)
            fake.faults = Faults(stream_drop_after=1, max_faults=2, paths=_EVENTS)
            events = [event async for event in await client.jobs.events(job_id)]
    names = [event.event for event in events]
    assert names[-1] == "job.completed"
    assert len({event.id for event in events}) == len(events)


async def test_stream_gives_up_after_max_retries(served: tuple[FakeMicroDC, AsyncMicroDC]) -> None:
    fake, client = served
    job_id = await _finished_job_id(client)
    fake.faults = Faults(stream_drop_after=1, paths=_EVENTS)
    seen: List[str] = []

    async def read_all() -> None:
        async for event in await client.jobs.events(job_id, max_retries=2):
            seen.append(str(event.id))

    with pytest.raises(APIConnectionError):
        await read_all()
    # One event per connection: the first and the two reconnections.
    assert seen == ["1", "2", "3"]


async def test_wait_survives_dropped_event_streams(served: tuple[FakeMicroDC, AsyncMicroDC]) -> None:
    fake, client = served
    fake.job_duration = 0.3
    fake.faults = Faults(stream_drop_after=1, paths=_EVENTS)
    job = await client.jobs.create(type="llm_chat", model="echo-1", messages=[{"role": "user", "content": "x"}])
    done = await asyncio.wait_for(client.jobs.wait(job.id, poll_interval=0.05), 10)
    assert done.status == "completed"
