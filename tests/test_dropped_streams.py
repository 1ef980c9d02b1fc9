"""A streamed answer dropped without being closed gives its connection back, on both transports.

``async with`` (or ``await stream.close()``) closes a stream at once; these cover the
other way out: the stream object is simply dropped, after a bare ``break`` or before
it was read at all. With one connection in the pool, the next call can only go
through once the dropped stream's connection is released, which happens on the
stream's own event loop after it is garbage-collected (no ``__del__`` schedules
anything). ``filterwarnings = error`` fails the test on any ``ResourceWarning``.
"""

from __future__ import annotations

import gc
from typing import AsyncIterator

import anyio
import httpx
import pytest

from microdc import AsyncMicroDC
from microdc.types import Job
from microdc.testing import FakeMicroDC, ManualClock

from ._transports import build_http_client

ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
# Generous for a loaded machine: a released connection is handed over within a few loop turns.
NEXT_CALL = httpx.Timeout(30.0, pool=10.0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(transport: str, clock: ManualClock) -> AsyncIterator[AsyncMicroDC]:
    fake = FakeMicroDC(job_duration=60.0, clock=clock, keepalive_interval=0.05)
    async with (
        fake.serve(port=0) as url,
        build_http_client(transport, limits=ONE_CONNECTION) as http,
        AsyncMicroDC(api_key=fake.api_key, base_url=url, http_client=http, max_retries=0) as client,
    ):
        yield client


async def _running_job(client: AsyncMicroDC, clock: ManualClock) -> Job:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="a stream that outlives the test")
    clock.advance(5)  # running, far from done: its stream stays open
    return job


async def _next_call_gets_the_connection(client: AsyncMicroDC) -> None:
    gc.collect()
    with anyio.fail_after(60):
        page = await client.models.list(timeout=NEXT_CALL)
    assert page.data


async def test_stream_left_by_break_and_dropped_releases_its_connection(
    client: AsyncMicroDC, clock: ManualClock
) -> None:
    job = await _running_job(client, clock)
    stream = await client.jobs.events(job.id)
    async for _ in stream:
        break
    del stream
    await _next_call_gets_the_connection(client)


async def test_stream_dropped_unread_releases_its_connection(client: AsyncMicroDC, clock: ManualClock) -> None:
    job = await _running_job(client, clock)
    stream = await client.jobs.events(job.id)
    assert stream.response.status_code == 200
    del stream
    await _next_call_gets_the_connection(client)
