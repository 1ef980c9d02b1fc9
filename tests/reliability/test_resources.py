"""Resources: heavy use leaves nothing behind — no sockets, no tasks, no ResourceWarning.

The fake listens on 127.0.0.1; sockets are counted from ``/proc`` (see ``conftest.py``)
and the pool is read from httpcore, so a connection that was neither returned to
the pool nor closed shows up in one count or the other.
"""

from __future__ import annotations

import gc
import asyncio
import weakref
import warnings
from typing import Any, Dict, List, Callable, Awaitable
from dataclasses import field, dataclass

import anyio
import httpx
import pytest

from microdc import (
    AsyncStream,
    AsyncMicroDC,
    MicroDCError,
    ConflictError,
    NotFoundError,
    DefaultAsyncHttpxClient,
)
from microdc._retry import disable_retry_delays
from microdc.testing import Faults, FakeMicroDC
from microdc._constants import DEFAULT_CONNECTION_LIMITS

from .conftest import (
    API_KEY,
    Served,
    settle,
    other_tasks,
    http_client_of,
    needs_proc_net,
    open_connections,
    pool_connections,
)

pytestmark = [pytest.mark.usefixtures("no_retry_delays"), needs_proc_net]

TOTAL_REQUESTS = 10_000
WORKERS = 8
"""Steady concurrency (httpcore's pool scan costs CPU per waiting request, so more only slows the run)."""
BURST = 48
"""Requests held in flight at once first, so the pool opens more connections than it may keep."""
KEEPALIVE_LIMIT = DEFAULT_CONNECTION_LIMITS.max_keepalive_connections or 0
RUN_TIME_LIMIT = 150.0


@dataclass
class HeavyRun:
    """What 10,000 mixed requests left behind, measured before and after the client closed."""

    outcomes: Dict[str, int] = field(default_factory=dict[str, int])
    requests_seen: int = 0
    peak_pooled: int = 0
    sockets_open: int = -1
    pooled: int = -1
    pooled_busy: int = -1
    tasks_left: List[str] = field(default_factory=list[str])
    sockets_after_close: int = -1
    resource_warnings: List[str] = field(default_factory=list[str])


Step = Callable[[AsyncMicroDC, str], Awaitable[object]]


async def _create(client: AsyncMicroDC, _job_id: str) -> object:
    return await client.jobs.create(type="llm_complete", model="echo-1", prompt="reliability")


async def _retrieve(client: AsyncMicroDC, job_id: str) -> object:
    return await client.jobs.retrieve(job_id)


async def _status(client: AsyncMicroDC, job_id: str) -> object:
    return await client.jobs.retrieve_status(job_id)


async def _list(client: AsyncMicroDC, _job_id: str) -> object:
    return await client.jobs.list(limit=5)


async def _model(client: AsyncMicroDC, _job_id: str) -> object:
    return await client.models.retrieve("echo-1")


async def _models(client: AsyncMicroDC, _job_id: str) -> object:
    return await client.models.list()


async def _missing(client: AsyncMicroDC, _job_id: str) -> object:
    return await client.jobs.retrieve("job_does_not_exist")  # 404


async def _acknowledge_running(client: AsyncMicroDC, job_id: str) -> object:
    return await client.jobs.acknowledge(job_id)  # 409: the job has not finished


async def _cancel_twice(client: AsyncMicroDC, _job_id: str) -> object:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="to cancel")
    await client.jobs.cancel(job.id)
    return await client.jobs.cancel(job.id)  # 409: already cancelled


STEPS: List[Step] = [_create, _retrieve, _status, _list, _model, _models, _missing, _acknowledge_running, _cancel_twice]


async def _burst(served: Served, client: AsyncMicroDC) -> int:
    """``BURST`` requests in flight together (each held 0.5 s by the fake); the pool's peak size."""
    served.fake.faults = Faults(latency=0.5, paths=["/api/v1/models/*"])
    pool_of = http_client_of(client)
    tasks = [asyncio.get_running_loop().create_task(_model(client, "")) for _ in range(BURST)]
    await settle(lambda: len(pool_connections(pool_of)) >= BURST)
    peak = len(pool_connections(pool_of))
    await asyncio.gather(*tasks)
    served.fake.faults = None
    return peak


async def _exercise(served: Served, run: HeavyRun) -> None:
    """The burst, then 10,000 requests from ``WORKERS`` workers; measures before and after the close."""
    async with served.client() as client:
        seed_job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="seed")
        run.peak_pooled = await _burst(served, client)

        async def worker(offset: int) -> None:
            for n in range(TOTAL_REQUESTS):
                if len(served.fake.requests) >= TOTAL_REQUESTS:
                    return
                step = STEPS[(offset + n) % len(STEPS)]
                try:
                    await step(client, seed_job.id)
                    outcome = "ok"
                except (NotFoundError, ConflictError) as exc:
                    outcome = type(exc).__name__
                run.outcomes[outcome] = run.outcomes.get(outcome, 0) + 1

        with anyio.fail_after(RUN_TIME_LIMIT):
            await asyncio.gather(*(worker(offset) for offset in range(WORKERS)))
        run.requests_seen = len(served.fake.requests)
        pool = pool_connections(http_client_of(client))
        run.pooled = len(pool)
        run.pooled_busy = sum(1 for connection in pool if not connection.is_idle())
        run.sockets_open = open_connections(served.port)
        await settle(lambda: not other_tasks())
        run.tasks_left = sorted(repr(task) for task in other_tasks())
    run.sockets_after_close = open_connections(served.port)


async def _heavy_run(served: Served) -> HeavyRun:
    run = HeavyRun()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await _exercise(served, run)  # the client is unreachable once this returns
        gc.collect()
    run.resource_warnings = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    return run


@pytest.fixture(scope="module")
def heavy_run() -> HeavyRun:
    """10,000 mixed requests (some raising 404 or 409), run once for this module in its own loop."""

    async def main() -> HeavyRun:
        fake = FakeMicroDC(api_key=API_KEY, job_duration=60.0, seed=11)
        with disable_retry_delays():
            async with fake.serve(port=0) as base_url:
                return await _heavy_run(Served(fake, base_url))

    return asyncio.run(main())


def test_ten_thousand_requests_were_sent_with_some_raising(heavy_run: HeavyRun) -> None:
    assert heavy_run.requests_seen >= TOTAL_REQUESTS
    assert heavy_run.outcomes["NotFoundError"] > 0
    assert heavy_run.outcomes["ConflictError"] > 0
    assert heavy_run.outcomes["ok"] > heavy_run.outcomes["NotFoundError"]


def test_a_burst_opens_more_connections_than_the_pool_keeps(heavy_run: HeavyRun) -> None:
    assert heavy_run.peak_pooled >= BURST > KEEPALIVE_LIMIT


def test_ten_thousand_requests_leave_no_sockets_beyond_the_keepalive_limit(heavy_run: HeavyRun) -> None:
    assert 0 < heavy_run.sockets_open <= KEEPALIVE_LIMIT


def test_ten_thousand_requests_leave_every_pooled_connection_idle(heavy_run: HeavyRun) -> None:
    assert heavy_run.pooled <= KEEPALIVE_LIMIT
    assert heavy_run.pooled_busy == 0
    assert heavy_run.pooled == heavy_run.sockets_open


def test_ten_thousand_requests_leave_no_pending_tasks(heavy_run: HeavyRun) -> None:
    assert heavy_run.tasks_left == []


def test_ten_thousand_requests_leave_no_socket_once_the_client_closes(heavy_run: HeavyRun) -> None:
    assert heavy_run.sockets_after_close == 0


def test_ten_thousand_requests_raise_no_resource_warning(heavy_run: HeavyRun) -> None:
    assert heavy_run.resource_warnings == []


# ------------------------------------------------------------------- one request at a time


async def test_breaking_out_of_an_event_stream_releases_its_connection(served: Served) -> None:
    async with served.client() as client:
        job = await client.jobs.create(type="llm_chat", model="echo-1", messages=[{"role": "user", "content": "hi"}])
        idle_before = open_connections(served.port)
        with anyio.fail_after(10):
            async with await client.jobs.events(job.id) as stream:
                async for _event in stream:
                    assert any(not c.is_idle() for c in pool_connections(http_client_of(client)))
                    break
        assert stream.response.is_closed
        assert all(connection.is_idle() for connection in pool_connections(http_client_of(client)))
        assert await settle(lambda: open_connections(served.port) <= idle_before)


async def _fail_inside_stream(stream: AsyncStream[Any]) -> None:
    async with stream:
        async for _event in stream:
            raise LookupError("the caller's own error")


async def test_an_error_inside_an_event_stream_block_releases_its_connection(served: Served) -> None:
    async with served.client() as client:
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
        idle_before = open_connections(served.port)
        stream = await client.jobs.events(job.id)
        with anyio.fail_after(10), pytest.raises(LookupError):
            await _fail_inside_stream(stream)
        assert stream.response.is_closed
        assert await settle(lambda: open_connections(served.port) <= idle_before)


async def test_cancelling_a_request_mid_flight_releases_its_connection(served: Served) -> None:
    served.fake.faults = Faults(latency=2.0, paths=["/api/v1/models/*"], methods=["GET"])
    async with served.client() as client:
        await client.models.list()  # one idle connection in the pool
        idle_before = open_connections(served.port)
        task = asyncio.get_running_loop().create_task(client.models.retrieve("echo-1"))
        assert await settle(lambda: any(r.path == "/api/v1/models/echo-1" for r in served.fake.requests))
        assert any(not c.is_idle() for c in pool_connections(http_client_of(client)))  # in flight
        task.cancel()
        with anyio.fail_after(5), pytest.raises(asyncio.CancelledError):
            await task
        assert all(connection.is_idle() for connection in pool_connections(http_client_of(client)))
        assert await settle(lambda: open_connections(served.port) <= idle_before)
        served.fake.faults = None
        assert (await client.models.retrieve("echo-1")).id == "echo-1"  # the pool still works


async def test_async_with_closes_the_pool(served: Served) -> None:
    async with served.client() as client:
        await asyncio.gather(*(client.models.retrieve("echo-1") for _ in range(8)))
        http = http_client_of(client)
        assert open_connections(served.port) > 0
    assert client.is_closed()
    assert http.is_closed
    assert pool_connections(http) == []
    assert open_connections(served.port) == 0


async def test_a_closed_client_refuses_new_requests(served: Served) -> None:
    async with served.client() as client:
        await client.models.list()
    served.fake.reset_requests()
    with pytest.raises(MicroDCError, match="closed"):
        await client.models.retrieve("echo-1")
    assert served.fake.requests == []


async def test_a_thousand_clients_sharing_one_http_client_leak_nothing(served: Served) -> None:
    shared = DefaultAsyncHttpxClient()
    refs: List[weakref.ReferenceType[AsyncMicroDC]] = []
    async with shared:
        with anyio.fail_after(60):
            for n in range(1000):
                client = served.client(http_client=shared)
                if n % 2:
                    async with client:  # closing a client leaves the caller's http_client open
                        await client.models.retrieve("echo-1")
                else:
                    await client.models.retrieve("echo-1")
                refs.append(weakref.ref(client))
                del client
        gc.collect()
        assert [ref for ref in refs if ref() is not None] == []
        assert not shared.is_closed
        assert open_connections(served.port) == 1  # one request at a time: one pooled connection
        assert all(connection.is_idle() for connection in pool_connections(shared))
        assert await settle(lambda: not other_tasks())
    assert await settle(lambda: open_connections(served.port) == 0)


async def test_dropping_clients_without_closing_them_schedules_nothing(served: Served) -> None:
    shared = DefaultAsyncHttpxClient()
    async with shared:
        clients = [served.client(http_client=shared) for _ in range(100)]
        await asyncio.gather(*(client.models.retrieve("echo-1") for client in clients))
        tasks_before = other_tasks()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del clients
            gc.collect()
        assert other_tasks() <= tasks_before
        assert [str(w.message) for w in caught] == []


async def test_requests_beyond_the_connection_limit_wait_outside_httpcores_pool(served: Served) -> None:
    served.fake.faults = Faults(latency=0.3, paths=["/api/v1/models/*"])
    http = DefaultAsyncHttpxClient(limits=httpx.Limits(max_connections=4, max_keepalive_connections=4))
    async with http, served.client(http_client=http) as client:
        tasks = [asyncio.get_running_loop().create_task(client.models.retrieve("echo-1")) for _ in range(16)]
        queued: List[int] = []
        connections: List[int] = []
        with anyio.fail_after(20):
            while not all(task.done() for task in tasks):
                queued.append(len(http._transport._pool._requests))  # type: ignore[attr-defined]
                connections.append(len(pool_connections(http)))
                await asyncio.sleep(0.01)
        models = await asyncio.gather(*tasks)
    assert [model.id for model in models] == ["echo-1"] * 16
    assert max(connections) == 4
    assert max(queued) <= 4  # only the requests holding a connection are inside the pool
    assert len(served.fake.requests) == 16
