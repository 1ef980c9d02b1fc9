"""Timeouts and cancellation: counted attempts and policy-computed waits, not wall-clock races.

The fake delays matching requests (``Faults(latency=...)``) and records every attempt
it receives, so "retried ``max_retries`` times, then raised" is checked by counting
the attempts the fake saw. Where time matters, the bound is computed from the
client's retry policy, and only the direction that cannot flake (a sleep is never
shorter than asked) is tight.
"""

from __future__ import annotations

import time
import asyncio
from typing import List, AsyncIterator

import anyio
import httpx
import pytest

from microdc import APIError, AsyncMicroDC, ConflictError, APITimeoutError
from microdc._retry import disable_retry_delays
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.hooks import Hooks, RetryInfo

from .conftest import API_KEY, Served, settle

SHORT = httpx.Timeout(0.2, connect=5.0)
"""Shorter than the fake's latency to answer, generous to connect (the machine may be busy)."""
LATENCY = 1.0
MAX_RETRIES = 2
STATUS_PATH = "/api/v1/jobs/*/status"
SUBMIT_PATH = "/api/v1/jobs/submit"


@pytest.fixture(params=["loopback", "in-process"])
async def slow_status(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    """A fake whose status endpoint takes ``LATENCY`` seconds, over a socket or in-process."""
    fake = FakeMicroDC(api_key=API_KEY, job_duration=60.0, seed=5)
    fake.faults = Faults(latency=LATENCY, paths=[STATUS_PATH], methods=["GET"])
    if request.param == "in-process":
        yield Served(fake, "")
    else:
        async with fake.serve(port=0) as base_url:
            yield Served(fake, base_url)


def client_for(served: Served, **kwargs: object) -> AsyncMicroDC:
    if not served.base_url:
        return served.fake.client(**kwargs)
    return served.client(**kwargs)


def status_attempts(served: Served) -> List[str]:
    """The ``x-stainless-retry-count`` of each status request the fake saw."""
    return [r.headers.get("x-stainless-retry-count", "?") for r in served.fake.requests if r.path.endswith("/status")]


@pytest.mark.usefixtures("no_retry_delays")
async def test_a_timeout_shorter_than_the_latency_raises_after_every_retry(slow_status: Served) -> None:
    async with client_for(slow_status, max_retries=MAX_RETRIES) as client:
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
        with anyio.fail_after(20), pytest.raises(APITimeoutError, match="timed out"):
            await client.jobs.retrieve_status(job.id, timeout=SHORT)
    assert status_attempts(slow_status) == [str(n) for n in range(MAX_RETRIES + 1)]


@pytest.mark.usefixtures("no_retry_delays")
async def test_each_timed_out_attempt_tells_the_server_its_read_timeout(slow_status: Served) -> None:
    async with client_for(slow_status, max_retries=MAX_RETRIES) as client:
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
        with anyio.fail_after(20), pytest.raises(APITimeoutError):
            await client.jobs.retrieve_status(job.id, timeout=SHORT)
    sent = [r.headers.get("x-stainless-read-timeout") for r in slow_status.fake.requests if r.path.endswith("/status")]
    assert sent == ["0.2"] * (MAX_RETRIES + 1)


@pytest.mark.usefixtures("no_retry_delays")
async def test_a_per_request_timeout_overrides_a_shorter_client_timeout(slow_status: Served) -> None:
    async with client_for(slow_status, max_retries=0, timeout=SHORT) as client:
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
        with anyio.fail_after(20):
            status = await client.jobs.retrieve_status(job.id, timeout=LATENCY * 10)
    assert status.id == job.id
    assert status_attempts(slow_status) == ["0"]


async def test_retries_after_timeouts_wait_as_the_retry_policy_says(served: Served) -> None:
    served.fake.faults = Faults(latency=LATENCY, paths=[STATUS_PATH], methods=["GET"])
    delays: List[float] = []
    async with served.client(
        max_retries=MAX_RETRIES, hooks=Hooks(on_retry=lambda info: delays.append(info.delay))
    ) as client:
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
        policy = client.retry_policy
        started = time.monotonic()
        with anyio.fail_after(30), pytest.raises(APITimeoutError):
            await client.jobs.retrieve_status(job.id, timeout=SHORT)
        elapsed = time.monotonic() - started
    assert len(delays) == MAX_RETRIES
    for n, delay in enumerate(delays):
        longest = min(policy.initial_delay * 2**n, policy.max_delay)
        assert longest * (1 - policy.jitter) <= delay <= longest
    # Each attempt waits at least its 0.2 s read timeout, and each retry its delay.
    assert elapsed >= sum(delays) + (MAX_RETRIES + 1) * 0.2
    assert elapsed <= sum(delays) + (MAX_RETRIES + 1) * LATENCY + 10  # generous: a busy machine is slow


@pytest.mark.usefixtures("no_retry_delays")
async def test_a_submission_that_timed_out_is_created_once_and_found_again_with_its_key(served: Served) -> None:
    served.fake.faults = Faults(latency=LATENCY, paths=[SUBMIT_PATH], methods=["POST"])
    key = "submit-after-timeout-1"
    async with served.client(max_retries=MAX_RETRIES) as client:
        with anyio.fail_after(20), pytest.raises((APITimeoutError, ConflictError)):
            # The first attempt times out while the server still works on it; the retries
            # find it in flight (409) rather than submitting a second job.
            await client.jobs.create(
                type="llm_complete", model="echo-1", prompt="once", idempotency_key=key, timeout=SHORT
            )
        assert await settle(lambda: len(served.fake.jobs) == 1, seconds=LATENCY * 5)
        served.fake.faults = None
        job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="once", idempotency_key=key)
    assert list(served.fake.jobs) == [job.id]
    assert served.fake.requests[-1].replayed


async def test_cancelling_a_call_during_its_retry_wait_sends_nothing_more(served: Served) -> None:
    served.fake.faults = Faults(rate_limit_rate=1.0, retry_after=30.0, paths=["/api/v1/models/*"])
    waiting = asyncio.Event()

    def on_retry(_info: RetryInfo) -> None:
        waiting.set()

    async with served.client(max_retries=3, hooks=Hooks(on_retry=on_retry)) as client:
        task = asyncio.get_running_loop().create_task(client.models.retrieve("echo-1"))
        with anyio.fail_after(10):
            await waiting.wait()  # the 429 arrived; the client now sleeps its Retry-After (30 s)
        task.cancel()
        with anyio.fail_after(2), pytest.raises(asyncio.CancelledError):
            await task
    await asyncio.sleep(0.1)
    assert [r.path for r in served.fake.requests] == ["/api/v1/models/echo-1"]


async def test_a_timeout_is_reported_once_as_an_api_error_not_an_httpx_one(slow_status: Served) -> None:
    with disable_retry_delays():
        async with client_for(slow_status, max_retries=0) as client:
            job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
            with anyio.fail_after(20), pytest.raises(APIError) as caught:
                await client.jobs.retrieve_status(job.id, timeout=SHORT)
    assert type(caught.value) is APITimeoutError
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert status_attempts(slow_status) == ["0"]
