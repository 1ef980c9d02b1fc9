"""jobs.watcher(): callbacks once per terminal job, list requests in chunks of 100, over a loopback socket.

Time is the fake's :class:`ManualClock`, installed as the SDK clock too (``use_clock``):
each wait between polling rounds advances the fake, so a job of ``n`` seconds ends
after ``n`` rounds, with no real waiting.
"""

from __future__ import annotations

import math
import asyncio
import logging
from typing import Any, Dict, List, Iterator, AsyncIterator
from dataclasses import dataclass

import anyio
import pytest
import anyio.lowlevel
from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import AsyncMicroDC, NotFoundError
from microdc.types import Job
from microdc._clock import use_clock
from microdc.testing import Faults, FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays


class FakeTime:
    """The SDK clock driven by the fake's ManualClock: a sleep moves the fake's time forward."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept: List[float] = []

    def monotonic(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self.clock.advance(seconds)
        await anyio.lowlevel.checkpoint()


@dataclass
class Served:
    fake: FakeMicroDC
    client: AsyncMicroDC
    time: FakeTime

    def list_requests(self) -> int:
        return sum(1 for r in self.fake.requests if r.method == "GET" and r.path == "/api/v1/jobs")


def ignore(job: Job) -> None:
    assert job.id


def _seconds_in_prompt(body: Dict[str, Any]) -> float:
    """A job lasts the number of seconds its prompt starts with (``"3 ..."`` → 3 s)."""
    return float(str(body.get("prompt", "0")).split()[0])


@pytest.fixture
def clock() -> Iterator[FakeTime]:
    time = FakeTime(ManualClock())
    with use_clock(time):
        yield time


@pytest.fixture
async def served(clock: FakeTime) -> AsyncIterator[Served]:
    fake = FakeMicroDC(job_duration=_seconds_in_prompt, clock=clock.clock, seed=5)
    async with fake.serve(port=0) as base_url, AsyncMicroDC(api_key="test", base_url=base_url) as client:
        yield Served(fake, client, clock)


async def _submit(client: AsyncMicroDC, seconds: int, text: str = "job") -> str:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt=f"{seconds} {text}")
    return job.id


async def test_each_callback_is_called_once_with_the_terminal_job(served: Served) -> None:
    calls: List[Job] = []
    async_calls: List[Job] = []

    async def record_async(job: Job) -> None:
        await anyio.lowlevel.checkpoint()
        async_calls.append(job)

    async with served.client.jobs.watcher(poll_interval=1.0) as watcher:
        first = await _submit(served.client, 2)
        second = await _submit(served.client, 0, "[fail]")
        watcher.watch(first, calls.append)
        watcher.watch(second, record_async)
        await watcher.join()
        await watcher.join()  # nothing left: returns at once
        assert watcher.watching == 0
    assert [(job.id, job.status) for job in calls] == [(first, "completed")]
    assert [(job.id, job.status) for job in async_calls] == [(second, "failed")]
    assert calls[0].result is not None


async def test_a_thousand_jobs_take_at_most_ten_list_requests_a_round(served: Served) -> None:
    fake = served.fake
    delivered: Dict[str, int] = {}

    def record(job: Job) -> None:
        assert job.status == "completed"
        delivered[job.id] = delivered.get(job.id, 0) + 1

    # Submitted in-process (fast); the watcher polls over the socket.
    async with fake.client() as local:
        ids = [await _submit(local, index % 5) for index in range(1000)]
    fake.reset_requests()
    async with served.client.jobs.watcher(poll_interval=1.0) as watcher:
        for job_id in ids:
            watcher.watch(job_id, record)
        with anyio.fail_after(60):
            await watcher.join()
        rounds = watcher.rounds
    assert delivered == dict.fromkeys(ids, 1)
    assert rounds == 5  # jobs of 0..4 s, one round per second
    assert served.list_requests() <= rounds * math.ceil(1000 / 100)
    assert all(len(r.params["ids"][0].split(",")) <= 100 for r in fake.requests if r.path == "/api/v1/jobs")


async def test_ids_are_confirmed_once_then_asked_about_with_the_terminal_filter(served: Served) -> None:
    quick = await _submit(served.client, 0)
    slow = await _submit(served.client, 3)
    served.fake.reset_requests()
    async with served.client.jobs.watcher() as watcher:
        watcher.watch(quick, ignore)
        watcher.watch(slow, ignore)
        await watcher.join()
    lists = [r.params for r in served.fake.requests if r.path == "/api/v1/jobs"]
    assert len(lists) == 4  # at 0, 1, 2 and 3 s
    assert set(lists[0]["ids"][0].split(",")) == {quick, slow}
    assert "status" not in lists[0]  # the first question confirms the server knows the ids
    assert all(params["ids"] == [slow] for params in lists[1:])
    assert all(sorted(params["status"][0].split(",")) == ["cancelled", "completed", "failed"] for params in lists[1:])


async def test_a_raising_callback_is_logged_and_the_watcher_goes_on(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    delivered: List[str] = []

    def explode(job: Job) -> None:
        raise RuntimeError(f"callback bug for {job.id}")

    async with served.client.jobs.watcher() as watcher:
        first = await _submit(served.client, 1)
        second = await _submit(served.client, 2)
        with caplog.at_level(logging.ERROR, logger="microdc"):
            watcher.watch(first, explode)
            watcher.watch(second, lambda job: delivered.append(job.id))
            await watcher.join()
    assert delivered == [second]
    failures = [record for record in caplog.records if "callback for job" in record.getMessage()]
    assert len(failures) == 1
    assert first in failures[0].getMessage()
    assert failures[0].exc_info is not None


async def test_an_unknown_id_calls_nothing_and_join_raises_not_found(served: Served) -> None:
    calls: List[str] = []
    known = await _submit(served.client, 1)
    async with served.client.jobs.watcher() as watcher:
        watcher.watch("job_doesnotexist", lambda job: calls.append(job.id))
        watcher.watch(known, lambda job: calls.append(job.id))
        with pytest.raises(NotFoundError, match="job_doesnotexist") as raised:
            await watcher.join()
        assert raised.value.status_code == 404
        await watcher.join()  # reported once, then forgotten
    assert calls == [known]


async def test_leaving_the_block_stops_polling(served: Served) -> None:
    slow = await _submit(served.client, 1000)
    called: List[Job] = []
    async with served.client.jobs.watcher() as watcher:
        watcher.watch(slow, called.append)
        with anyio.fail_after(10):
            while watcher.rounds < 3:
                await anyio.lowlevel.checkpoint()
        asked = served.list_requests()
    for _ in range(20):
        await served.time.sleep(1.0)
    assert served.list_requests() in (asked, asked + 1)  # at most the request in flight when the block ended
    assert called == []
    with pytest.raises(RuntimeError, match="closed"):
        watcher.watch(slow, called.append)
    with pytest.raises(RuntimeError, match="async with"):
        await watcher.join()


async def test_an_error_in_the_block_comes_out_as_it_is(served: Served) -> None:
    async def service() -> None:
        async with served.client.jobs.watcher() as watcher:
            watcher.watch(await _submit(served.client, 1000), ignore)
            raise KeyError("from the service")

    with pytest.raises(KeyError, match="from the service"):
        await service()


async def test_an_idle_watcher_sends_nothing(served: Served) -> None:
    served.fake.reset_requests()
    async with served.client.jobs.watcher():
        for _ in range(10):
            await served.time.sleep(1.0)
    assert served.list_requests() == 0


async def test_a_failed_poll_is_logged_and_tried_again(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    job_id = await _submit(served.client, 0)
    served.fake.faults = Faults(error_rate=1.0, max_faults=4, paths=["/api/v1/jobs"], methods=["GET"])
    called: List[str] = []
    with caplog.at_level(logging.WARNING, logger="microdc"):
        async with served.client.jobs.watcher() as watcher:
            watcher.watch(job_id, lambda job: called.append(job.status))
            await watcher.join()
    assert called == ["completed"]
    assert any("polling failed" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("bad", ["", " job_1", "job_1,job_2"])
async def test_watch_refuses_an_id_that_is_not_one(served: Served, bad: str) -> None:
    async with served.client.jobs.watcher() as watcher:
        with pytest.raises(ValueError, match="job id"):
            watcher.watch(bad, ignore)


@pytest.mark.parametrize("interval", [0, -1.0, float("nan")])
def test_poll_interval_must_be_positive(interval: float) -> None:
    fake = FakeMicroDC()
    client = fake.client()
    with pytest.raises(ValueError, match="poll_interval"):
        client.jobs.watcher(poll_interval=interval)


async def test_waits_go_through_the_sdk_clock_so_disable_retry_delays_makes_them_instant() -> None:
    fake = FakeMicroDC(job_duration=1.0, clock=ManualClock(), seed=2)
    with disable_retry_delays() as instant:
        async with fake.serve(port=0) as base_url, AsyncMicroDC(api_key="test", base_url=base_url) as client:
            job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
            seen: List[str] = []
            async with client.jobs.watcher(poll_interval=30.0) as watcher:
                watcher.watch(job.id, lambda done: seen.append(done.status))
                with anyio.fail_after(10):  # two real 30 s waits would fail here
                    while watcher.rounds < 3:
                        await anyio.lowlevel.checkpoint()
                    fake.advance(1.0)
                    await watcher.join()
    assert seen == ["completed"]
    assert instant.skipped >= 60.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    durations=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=250),
    unknown=st.integers(min_value=0, max_value=3),
    interval=st.sampled_from([0.5, 1.0, 2.5]),
)
def test_every_known_job_is_delivered_once_in_at_most_rounds_times_chunks_requests(
    durations: List[int], unknown: int, interval: float
) -> None:
    async def run() -> None:
        time = FakeTime(ManualClock())
        fake = FakeMicroDC(job_duration=_seconds_in_prompt, clock=time.clock, seed=8)
        with use_clock(time):
            async with fake.client() as client:
                ids = [await _submit(client, seconds) for seconds in durations]
                missing = [f"job_missing{n}" for n in range(unknown)]
                fake.reset_requests()
                delivered: Dict[str, int] = {}

                def record(job: Job) -> None:
                    delivered[job.id] = delivered.get(job.id, 0) + 1

                async with client.jobs.watcher(poll_interval=interval) as watcher:
                    for job_id in [*missing, *ids]:
                        watcher.watch(job_id, record)
                    with anyio.fail_after(30):
                        if missing:
                            with pytest.raises(NotFoundError, match=missing[0]):
                                await watcher.join()
                        await watcher.join()
                    rounds = watcher.rounds
        assert delivered == dict.fromkeys(ids, 1)
        lists = [r for r in fake.requests if r.path == "/api/v1/jobs"]
        assert len(lists) <= rounds * math.ceil((len(ids) + unknown) / 100)
        assert rounds == math.ceil(max(durations) / interval) + 1
        # Each unknown id is retrieved once, to tell "unknown" from "not listed yet".
        assert sum(1 for r in fake.requests if r.path.startswith("/api/v1/jobs/job_missing")) == unknown

    asyncio.run(run())
