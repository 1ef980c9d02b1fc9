"""jobs.wait, create_and_wait, submit and as_completed against the embedded fake."""

from __future__ import annotations

import math
import asyncio
from typing import Any, Dict, List, AsyncIterator

import httpx
import pytest

from microdc import LLMChat, AsyncMicroDC, JobWaitTimeoutError
from microdc.testing import IN_PROCESS_BASE_URL, Faults, FakeMicroDC
from microdc.lib.retry import disable_retry_delays


@pytest.fixture
def fake() -> FakeMicroDC:
    return FakeMicroDC(job_duration=0.2, seed=1, keepalive_interval=0.05)


@pytest.fixture
async def client(fake: FakeMicroDC) -> AsyncIterator[AsyncMicroDC]:
    with disable_retry_delays():
        async with fake.client() as client:
            yield client


def _count(fake: FakeMicroDC, suffix: str, method: str = "GET") -> int:
    return sum(1 for r in fake.requests if r.method == method and r.path.endswith(suffix))


async def test_wait_returns_the_completed_job(client: AsyncMicroDC) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hello")
    done = await client.jobs.wait(job.id, timeout=10)
    assert done.id == job.id
    assert done.status == "completed"
    assert done.result is not None
    assert done.result.type == "llm_complete"


async def test_wait_follows_the_event_stream_without_polling(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hello")
    await client.jobs.wait(job.id, timeout=10)
    assert _count(fake, "/events") == 1
    assert _count(fake, "/status") == 0


async def test_wait_returns_a_failed_job_instead_of_raising(client: AsyncMicroDC) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="please [fail]")
    done = await client.jobs.wait(job.id, timeout=10)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "model_error"


async def test_wait_returns_a_cancelled_job(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.job_duration = 30.0
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="slow")
    waiter = asyncio.create_task(client.jobs.wait(job.id, timeout=10))
    await asyncio.sleep(0.05)
    await client.jobs.cancel(job.id)
    done = await asyncio.wait_for(waiter, 10)
    assert done.status == "cancelled"


async def test_wait_timeout_carries_the_last_job_seen(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.job_duration = 60.0
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="slow")
    with pytest.raises(JobWaitTimeoutError) as caught:
        await client.jobs.wait(job.id, timeout=0.3)
    assert caught.value.job is not None
    assert caught.value.job.id == job.id
    assert caught.value.job.status in ("queued", "running")
    assert job.id in str(caught.value)


async def test_wait_falls_back_to_polling_when_events_fail(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=["/api/v1/jobs/*/events"])
    job = await client.jobs.create(type="llm_chat", model="echo-1", messages=[{"role": "user", "content": "x"}])
    done = await client.jobs.wait(job.id, timeout=10, poll_interval=0.05)
    assert done.status == "completed"
    assert _count(fake, "/status") >= 1
    assert done.result is not None


class _CountingTransport(httpx.AsyncBaseTransport):
    """Counts response bodies that are still open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.open = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.open += 1
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CountedStream(self, response.stream),
            extensions=response.extensions,
            request=request,
        )


class _CountedStream(httpx.AsyncByteStream):
    def __init__(self, owner: _CountingTransport, inner: Any) -> None:
        self.owner = owner
        self.inner = inner
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.owner.open -= 1
        await self.inner.aclose()


async def test_cancelling_wait_closes_its_event_stream(fake: FakeMicroDC) -> None:
    fake.job_duration = 60.0
    counting = _CountingTransport(fake.transport())
    async with AsyncMicroDC(
        api_key="test", base_url=IN_PROCESS_BASE_URL, http_client=httpx.AsyncClient(transport=counting)
    ) as client:
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="slow")
        waiter = asyncio.create_task(client.jobs.wait(job.id))
        for _ in range(1000):  # at most ~10 s, on a busy machine
            if _count(fake, "/events") and counting.open == 1:
                break
            await asyncio.sleep(0.01)
        assert counting.open == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert counting.open == 0


async def test_create_and_wait_submits_then_waits(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    done = await client.jobs.create_and_wait(type="llm_embed", model="embed-1", texts=["a", "b"], wait_timeout=10)
    assert done.status == "completed"
    assert len(fake.jobs) == 1


async def test_submit_validates_before_sending(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    with pytest.raises(ValueError, match=r"LLMChat\.messages"):
        await client.jobs.submit(LLMChat("echo-1"))
    assert fake.requests == []


async def test_submit_sends_the_builder_and_request_options(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    job = await client.jobs.submit(LLMChat("echo-1").add_user_message("hi"), idempotency_key="key-1")
    again = await client.jobs.submit(LLMChat("echo-1").add_user_message("hi"), idempotency_key="key-1")
    assert job.type == "llm_chat"
    assert again.id == job.id
    assert len(fake.jobs) == 1


async def test_as_completed_yields_each_of_1000_jobs_once_with_batched_requests(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    durations = [0.05, 0.15, 0.3]

    def duration(body: Dict[str, Any]) -> float:
        return durations[int(body["metadata"]["n"]) % len(durations)]

    fake.job_duration = duration
    sem = asyncio.Semaphore(32)

    async def submit(n: int) -> str:
        async with sem:
            job = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"], metadata={"n": str(n)})
            return job.id

    ids = await asyncio.gather(*(submit(n) for n in range(1000)))
    fake.reset_requests()
    seen = [job.id async for job in client.jobs.as_completed(ids, poll_interval=0.1, timeout=60)]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    list_calls = [r for r in fake.requests if r.path == "/api/v1/jobs"]
    asked = [r.params["ids"][0].split(",") for r in list_calls]
    assert all(len(chunk) <= 100 for chunk in asked)
    # Split the calls into polling rounds (a round asks about each pending id once) and
    # check that each round used the fewest requests: ceil(pending / 100).
    rounds: List[List[List[str]]] = []
    for chunk in asked:
        if not rounds or any(i in {x for c in rounds[-1] for x in c} for i in chunk):
            rounds.append([])
        rounds[-1].append(chunk)
    for calls in rounds:
        assert len(calls) == math.ceil(sum(len(c) for c in calls) / 100)
    assert len(list_calls) <= len(rounds) * math.ceil(len(ids) / 100)
    assert len(list_calls) < len(ids) / 10


async def test_as_completed_yields_in_completion_order_within_a_round(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    def duration(body: Dict[str, Any]) -> float:
        return float(body["metadata"]["seconds"])

    fake.job_duration = duration
    slow = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"], metadata={"seconds": "0.2"})
    fast = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"], metadata={"seconds": "0.05"})
    order = [job.id async for job in client.jobs.as_completed([slow.id, fast.id], poll_interval=0.5, timeout=10)]
    assert order == [fast.id, slow.id]


async def test_as_completed_calls_on_complete_for_each_job(client: AsyncMicroDC) -> None:
    ids = [(await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])).id for _ in range(3)]
    called: List[str] = []

    async def on_complete(job: Any) -> None:
        called.append(job.id)

    yielded = [job.id async for job in client.jobs.as_completed(ids, poll_interval=0.05, on_complete=on_complete)]
    assert called == yielded
    assert sorted(called) == sorted(ids)


async def test_as_completed_timeout_raises(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.job_duration = 60.0
    job = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])
    with pytest.raises(JobWaitTimeoutError, match="1 job"):
        async for _ in client.jobs.as_completed([job.id], poll_interval=0.05, timeout=0.2):
            pass
