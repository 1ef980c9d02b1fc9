"""An event stream that drops mid-way is resumed with Last-Event-ID: nothing lost, nothing repeated,
and ``max_retries`` counts only the failures in a row (over both transports).

The fake runs on a ``ManualClock`` that is also the SDK's clock (``fake.virtual_time()``),
so its jobs progress as the SDK waits and nothing here waits on the wall clock.
"""

from __future__ import annotations

from typing import AsyncIterator

import anyio
import pytest

from microdc import AsyncMicroDC, APIConnectionError
from microdc.testing import Faults, FakeMicroDC, ManualClock

from ..conftest import RetriesAndErrors
from .._transports import transport, served_client

__all__ = ["transport"]  # the fixture, imported for pytest

_EVENTS = ["/api/v1/jobs/*/events"]


async def _finished_job_id(client: AsyncMicroDC) -> str:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="resume me")
    await client.jobs.wait(job.id, timeout=10)
    return job.id


@pytest.fixture
async def served(transport: str) -> AsyncIterator[tuple[FakeMicroDC, AsyncMicroDC]]:
    fake = FakeMicroDC(job_duration=0.1, seed=3, clock=ManualClock())
    with fake.virtual_time():
        async with served_client(fake, transport) as client:
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
    fake = FakeMicroDC(job_duration=0.1, seed=4, clock=ManualClock())
    with fake.virtual_time():
        async with fake.client() as client:
            job_id = await _finished_job_id(client)
            fake.faults = Faults(stream_drop_after=1, max_faults=2, paths=_EVENTS)
            events = [event async for event in await client.jobs.events(job_id)]
    names = [event.event for event in events]
    assert names[-1] == "job.completed"
    assert len({event.id for event in events}) == len(events)


async def test_a_stream_cut_20_times_with_progress_each_time_ends_at_its_terminal_event(
    served: tuple[FakeMicroDC, AsyncMicroDC],
) -> None:
    fake, client = served
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt=" ".join(["word"] * 200))
    await client.jobs.wait(job.id, timeout=10)
    fake.faults = Faults(stream_drop_after=1, max_faults=20, paths=_EVENTS)
    hooks = RetriesAndErrors()
    watched = client.with_options(hooks=hooks)  # the default max_retries=3
    async with await watched.jobs.events(job.id) as stream:
        events = [event async for event in stream]
        assert stream.reconnections == 20
    assert events[-1].event == "job.completed"
    assert [event.id for event in events] == [str(n) for n in range(1, len(events) + 1)]
    assert len(hooks.retries) == 20
    assert all(info.error.__class__ is APIConnectionError and info.delay > 0 for info in hooks.retries)
    assert hooks.errors == []


async def test_a_stream_gives_up_after_max_retries_failures_in_a_row(served: tuple[FakeMicroDC, AsyncMicroDC]) -> None:
    fake, client = served
    job_id = await _finished_job_id(client)
    fake.faults = Faults(stream_drop_after=0, paths=_EVENTS)  # every connection cut before an event
    fake.reset_requests()
    hooks = RetriesAndErrors()
    with pytest.raises(APIConnectionError):
        async for _ in await client.with_options(hooks=hooks).jobs.events(job_id, max_retries=2):
            pass
    assert len(fake.requests) == 3  # the first connection and two reconnections
    assert len(hooks.retries) == 2
    assert len(hooks.errors) == 1


async def test_wait_survives_dropped_event_streams(served: tuple[FakeMicroDC, AsyncMicroDC]) -> None:
    fake, client = served
    fake.job_duration = 0.3
    fake.faults = Faults(stream_drop_after=1, paths=_EVENTS)
    job = await client.jobs.create(type="llm_chat", model="echo-1", messages=[{"role": "user", "content": "x"}])
    with anyio.fail_after(30):  # real seconds: only stops a broken test from hanging
        done = await client.jobs.wait(job.id, poll_interval=0.05)
    assert done.status == "completed"
    assert fake.clock.now() >= 0.3


async def test_a_stream_the_server_ends_early_is_resumed_until_the_terminal_event() -> None:
    # Closed cleanly after one event each time (as a proxy closes an idle stream).
    fake = FakeMicroDC(job_duration=0.1, seed=5, clock=ManualClock())
    with fake.virtual_time():
        async with fake.client() as client:
            job_id = await _finished_job_id(client)
            fake.faults = Faults(stream_end_after=1, paths=_EVENTS)
            fake.reset_requests()
            async with await client.jobs.events(job_id, max_retries=10) as stream:
                events = [event async for event in stream]
                assert stream.reconnections == len(events) - 1
    assert events[-1].event == "job.completed"
    assert [event.id for event in events] == [str(n) for n in range(1, len(events) + 1)]
    resumed_from = [r.headers.get("last-event-id") for r in fake.requests]
    assert resumed_from == [None, *(str(n) for n in range(1, len(events)))]
