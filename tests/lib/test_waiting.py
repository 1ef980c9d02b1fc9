"""jobs.wait, create_and_wait, submit and as_completed against the embedded fake, in virtual time.

The fake runs on a ``ManualClock`` that is also the SDK's clock (``fake.virtual_time()``):
every wait the SDK makes moves the fake's time forward, so jobs of minutes or hours
finish at once and nothing here waits on the wall clock. ``GUARD`` (real seconds) and
pytest's timeout only stop a broken test from hanging.
"""

from __future__ import annotations

import math
import asyncio
import collections
from typing import Any, Dict, List, Callable, Iterable, Iterator, AsyncIterator

import anyio
import httpx
import pytest

from microdc import LLMChat, RetryPolicy, AsyncMicroDC, NotFoundError, JobWaitTimeoutError
from microdc.testing import IN_PROCESS_BASE_URL, Faults, FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays

GUARD = 60.0
EVENTS = ["/api/v1/jobs/*/events"]


class RecordingClock(ManualClock):
    """A manual clock that keeps every wait asked of it (the SDK's and the fake's)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: List[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().sleep(seconds)


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def fake(clock: RecordingClock) -> FakeMicroDC:
    return FakeMicroDC(job_duration=2.0, seed=1, clock=clock)


@pytest.fixture
async def client(fake: FakeMicroDC) -> AsyncIterator[AsyncMicroDC]:
    with fake.virtual_time():
        async with fake.client() as client:
            yield client


def _count(fake: FakeMicroDC, suffix: str, method: str = "GET") -> int:
    return sum(1 for r in fake.requests if r.method == method and r.path.endswith(suffix))


def _full_poll_delays(poll_interval: float, policy: RetryPolicy) -> Iterator[float]:
    """The policy's poll waits before jitter: ``poll_interval`` doubling to ``max(max_delay, poll_interval)``."""
    n = 0
    while True:
        yield min(poll_interval * 2**n, max(policy.max_delay, poll_interval))
        n += 1


def _assert_policy_shaped(waits: List[float], full: Iterable[float], policy: RetryPolicy) -> None:
    for n, (wait, expected) in enumerate(zip(waits, full, strict=False)):
        assert expected * (1 - policy.jitter) <= wait <= expected, f"wait {n}: {wait} s, policy says {expected} s"


# ---------------------------------------------------------------- jobs.wait


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


async def test_wait_on_the_event_stream_takes_the_jobs_time_on_the_fakes_clock(
    client: AsyncMicroDC, fake: FakeMicroDC, clock: RecordingClock
) -> None:
    fake.job_duration = 3600.0
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="an hour", timeout_seconds=86400)
    done = await client.jobs.wait(job.id, timeout=7200)
    assert done.status == "completed"
    assert clock.now() == pytest.approx(3600.0)


async def test_wait_returns_a_failed_job_instead_of_raising(client: AsyncMicroDC) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="please [fail]")
    done = await client.jobs.wait(job.id, timeout=10)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "model_error"


async def _until(condition: Callable[[], bool]) -> None:
    """Let other tasks run (no clock involved) until ``condition()`` holds."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_wait_returns_a_job_cancelled_while_it_follows_the_events(fake: FakeMicroDC) -> None:
    # The SDK's waits are instant, but the fake's clock stands still: the job stays running.
    with disable_retry_delays(), anyio.fail_after(GUARD):
        async with fake.client() as client:
            job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="slow")
            waiter = asyncio.create_task(client.jobs.wait(job.id, timeout=10))
            await _until(lambda: _count(fake, "/events") == 1)
            await client.jobs.cancel(job.id)
            done = await waiter
    assert done.status == "cancelled"


async def test_wait_timeout_carries_the_last_job_seen(
    client: AsyncMicroDC, fake: FakeMicroDC, clock: RecordingClock
) -> None:
    fake.job_duration = 60.0
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="slow")
    with pytest.raises(JobWaitTimeoutError) as caught:
        await client.jobs.wait(job.id, timeout=0.3)
    assert caught.value.job is not None
    assert caught.value.job.id == job.id
    assert caught.value.job.status in ("queued", "running")
    assert job.id in str(caught.value)
    assert clock.now() < 60.0


async def test_wait_falls_back_to_polling_when_events_fail(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=EVENTS)
    job = await client.jobs.create(type="llm_chat", model="echo-1", messages=[{"role": "user", "content": "x"}])
    done = await client.jobs.wait(job.id, timeout=10, poll_interval=0.05)
    assert done.status == "completed"
    assert _count(fake, "/api/v1/jobs") >= 1  # polled through the list endpoint
    assert _count(fake, "/status") == 0
    assert done.result is not None


async def test_one_clock_governs_every_wait_of_an_hour_long_polling_wait(
    client: AsyncMicroDC, fake: FakeMicroDC, clock: RecordingClock
) -> None:
    fake.job_duration = 3600.0
    fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=EVENTS)  # polling only
    policy = client.retry_policy
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="an hour", timeout_seconds=86400)

    done = await client.jobs.wait(job.id, timeout=2 * 3600, poll_interval=1.0)

    assert done.status == "completed"
    # The failed event stream was retried as the policy says (its backoff); every other wait was a poll.
    retries = policy.max_retries
    retry_waits, poll_waits = clock.sleeps[:retries], clock.sleeps[retries:]
    for n, retry_wait in enumerate(retry_waits):
        full = policy.initial_delay * 2**n
        assert full * (1 - policy.jitter) <= retry_wait <= full
    assert _count(fake, "/events") == retries + 1
    _assert_policy_shaped(poll_waits, _full_poll_delays(1.0, policy), policy)
    assert _count(fake, "/api/v1/jobs") == len(poll_waits) + 1
    # Polling stopped at the first look after the job ended: the one before was too early.
    waited = sum(retry_waits)
    assert waited + sum(poll_waits[:-1]) < 3600.0 <= clock.now() == pytest.approx(waited + sum(poll_waits))
    assert 3600 / policy.max_delay <= len(poll_waits) <= 3600 / (policy.max_delay * (1 - policy.jitter)) + 5


async def test_a_polling_wait_times_out_on_the_sdk_clock_after_a_last_look_at_the_deadline(
    client: AsyncMicroDC, fake: FakeMicroDC, clock: RecordingClock
) -> None:
    fake.job_duration = 7200.0
    fake.faults = Faults(error_rate=1.0, error_statuses=(503,), paths=EVENTS)
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="two hours", timeout_seconds=86400)

    with pytest.raises(JobWaitTimeoutError) as caught:
        await client.jobs.wait(job.id, timeout=3600, poll_interval=1.0)

    assert clock.now() == pytest.approx(3600.0)
    assert caught.value.job is not None
    assert caught.value.job.status == "running"
    # The last look, at the deadline, asked the list without the terminal filter: it shows the job as it is.
    last_look = [r for r in fake.requests if r.path == "/api/v1/jobs"][-1]
    assert last_look.params["ids"] == [job.id]
    assert "status" not in last_look.params
    assert fake.jobs[job.id]["status"] == "running"


async def test_cancelling_wait_closes_its_event_stream(fake: FakeMicroDC) -> None:
    counting = _CountingTransport(fake.transport())
    with disable_retry_delays(), anyio.fail_after(GUARD):
        async with AsyncMicroDC(
            api_key="test", base_url=IN_PROCESS_BASE_URL, http_client=httpx.AsyncClient(transport=counting)
        ) as client:
            job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="slow")
            waiter = asyncio.create_task(client.jobs.wait(job.id))
            await _until(lambda: _count(fake, "/events") == 1 and counting.open == 1)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert counting.open == 0


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


# ---------------------------------------------------------------- as_completed


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
    assert len(list_calls) == len(fake.requests)  # no request per job
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


async def test_as_completed_timeout_raises(client: AsyncMicroDC, fake: FakeMicroDC, clock: RecordingClock) -> None:
    fake.job_duration = 60.0
    job = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])
    with pytest.raises(JobWaitTimeoutError, match="1 job"):
        async for _ in client.jobs.as_completed([job.id], poll_interval=0.05, timeout=0.2):
            pass
    assert clock.now() == pytest.approx(0.2)


def _generator(ids: List[str]) -> Iterable[str]:
    return (job_id for job_id in ids)


def _dict_keys(ids: List[str]) -> Iterable[str]:
    return dict.fromkeys(ids).keys()


def _mapped(ids: List[str]) -> Iterable[str]:
    return map(str, ids)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(collections.deque, id="deque"),
        pytest.param(set, id="set"),
        pytest.param(tuple, id="tuple"),
        pytest.param(_generator, id="generator"),
        pytest.param(_dict_keys, id="dict-keys"),
        pytest.param(_mapped, id="map"),
    ],
)
async def test_as_completed_takes_any_iterable_of_ids(
    client: AsyncMicroDC, make: Callable[[List[str]], Iterable[str]]
) -> None:
    ids = [(await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])).id for _ in range(3)]
    seen = [job.id async for job in client.jobs.as_completed(make(ids), poll_interval=0.5, timeout=10)]
    assert sorted(seen) == sorted(ids)


async def test_as_completed_refuses_one_id_given_as_a_string(client: AsyncMicroDC) -> None:
    with pytest.raises(TypeError, match=r"\['job_abc'\]"):
        async for _ in client.jobs.as_completed("job_abc"):
            pass


async def test_as_completed_names_an_id_that_is_not_a_string(client: AsyncMicroDC) -> None:
    with pytest.raises(TypeError, match="int 42"):
        async for _ in client.jobs.as_completed(["job_abc", 42]):  # type: ignore[list-item]
            pass


async def test_as_completed_raises_not_found_for_an_unknown_id_instead_of_polling_forever(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    known = (await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])).id
    fake.job_duration = 3600.0
    running = (await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])).id
    fake.reset_requests()
    with pytest.raises(NotFoundError, match="job_missing") as caught:
        async for _ in client.jobs.as_completed([known, running, "job_missing"], timeout=None):
            pass
    assert caught.value.status_code == 404
    # One list request over all three ids, then one lookup of the id it left out.
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/job_missing/status"),
    ]


async def test_as_completed_asks_about_terminal_jobs_only_once_every_id_is_known(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    fake.job_duration = 5.0
    job = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])
    fake.reset_requests()
    assert [j.id async for j in client.jobs.as_completed([job.id], poll_interval=1.0)] == [job.id]
    filters = [r.params.get("status") for r in fake.requests]
    assert filters[0] is None
    assert len(filters) > 1
    assert all(f == ["completed,failed,cancelled"] for f in filters[1:])


async def test_as_completed_backs_off_like_the_policy_and_starts_over_after_a_job_finishes(
    client: AsyncMicroDC, fake: FakeMicroDC, clock: RecordingClock
) -> None:
    def duration(body: Dict[str, Any]) -> float:
        return float(body["metadata"]["seconds"])

    fake.job_duration = duration
    early = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"], metadata={"seconds": "0.5"})
    late = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"], metadata={"seconds": "100"})
    policy = client.retry_policy

    order = [j.id async for j in client.jobs.as_completed([early.id, late.id], poll_interval=1.0)]

    assert order == [early.id, late.id]
    first, *after_early = clock.sleeps
    _assert_policy_shaped([first], _full_poll_delays(1.0, policy), policy)
    _assert_policy_shaped(after_early, _full_poll_delays(1.0, policy), policy)
    assert clock.now() >= 100.0
    assert len(after_early) < 100 / 2
