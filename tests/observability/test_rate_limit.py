"""``RateLimit``: the rate, bursts, the concurrency cap and 429 pauses, on the SDK's clock (simulated here)."""

from __future__ import annotations

import math
import heapq
import itertools
from typing import Any, Dict, List, Tuple, Iterator

import anyio
import httpx
import pytest
import anyio.lowlevel

import microdc
from microdc import AsyncMicroDC, RateLimitError
from microdc._clock import use_clock
from microdc.lib.retry import disable_retry_delays
from microdc.lib.rate_limit import RateLimit

from ..conftest import Answer, Recorder, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")


class SimulatedTime:
    """An SDK clock (``monotonic``, ``sleep``): time only moves when :meth:`run` moves it to the next wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: List[Tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), event))
        await event.wait()

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)

    async def settle(self) -> None:
        """Let every task that can run, run (nothing in these tests waits on real I/O)."""
        for _ in range(20):
            await anyio.lowlevel.checkpoint()

    async def run(self, until: float = math.inf) -> None:
        """Wake sleepers in time order, letting everything settle after each, up to ``until``."""
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= until:
            wake, _, event = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            event.set()
            await self.settle()
        if until != math.inf:
            self.now = max(self.now, until)


def stamps() -> List[float]:
    """Simulated times at which something happened."""
    return []


@pytest.fixture
def time(no_retry_delays: None) -> Iterator[SimulatedTime]:  # noqa: ARG001 - installed first, replaced here
    """The SDK's clock for the test: every wait of the client and its limiter sleeps on it."""
    simulated = SimulatedTime()
    with use_clock(simulated):
        yield simulated


def timed(time: SimulatedTime, sent_at: List[float], answer: Answer = reply(200, {})) -> Answer:
    """``answer``, noting the simulated time each request arrives at."""

    def stamp(request: httpx.Request) -> Any:
        sent_at.append(time.now)
        return answer(request)

    return stamp


# ---------------------------------------------------------------- the rate


async def test_20_rps_holds_100_requests_to_at_least_4_5_simulated_seconds(time: SimulatedTime) -> None:
    sent_at = stamps()
    client = make_client(Recorder(timed(time, sent_at)), rate_limit=RateLimit(20, burst=1))

    async def one() -> None:
        await client.get("/api/v1/models", cast_to=object)

    async with client, anyio.create_task_group() as group:
        for _ in range(100):
            group.start_soon(one)
        await time.run()

    assert len(sent_at) == 100
    assert time.now >= 4.5
    assert max(sent_at) == pytest.approx(4.95)
    for index, at in enumerate(sorted(sent_at)):  # the n-th request never goes before n / 20 s
        assert at >= index * 0.05 - 1e-9


async def test_a_burst_goes_at_once_then_the_rate_holds(time: SimulatedTime) -> None:
    granted = stamps()
    limit = RateLimit(10, burst=5)

    async def take() -> None:
        async with limit:
            granted.append(time.now)

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(take)
        await time.run()
    assert granted == pytest.approx([0, 0, 0, 0, 0, 0.1, 0.2, 0.3])


async def test_copies_share_one_limit(time: SimulatedTime) -> None:
    sent_at = stamps()
    client = make_client(Recorder(timed(time, sent_at)), rate_limit=RateLimit(10))
    copy = client.with_options(max_retries=0)

    async def one(on: AsyncMicroDC) -> None:
        await on.get("/x", cast_to=object)

    async with client, anyio.create_task_group() as group:
        for index in range(20):
            group.start_soon(one, client if index % 2 else copy)
        await time.run()
    assert time.now == pytest.approx(1.9)


# ---------------------------------------------------------------- 429 pauses


async def test_a_429_pauses_every_request_of_the_client(time: SimulatedTime) -> None:
    sent_at = stamps()
    refused = httpx.Response(429, json={"error": {}}, headers={"retry-after": "2", "x-request-id": "r"})

    async def first_refused(_: httpx.Request) -> httpx.Response:
        sent_at.append(time.now)
        while time.sleeping < 4:  # the other four are waiting for their slots
            await anyio.lowlevel.checkpoint()
        return refused

    recorder = Recorder(first_refused, timed(time, sent_at))
    client = make_client(recorder, rate_limit=RateLimit(10, burst=1))

    async def one() -> None:
        await client.get("/x", cast_to=object)

    async with client, anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
        await time.run(until=1.99)
        assert sent_at == [0.0]  # the slots at 0.1 ... 0.4 were held back by the pause
        await time.run()

    assert len(sent_at) == 6  # five calls, one of them retried
    later = sorted(sent_at[1:])
    assert later[0] >= 2.0
    for previous, following in itertools.pairwise(later):
        assert following - previous >= 0.1 - 1e-9  # the rate still holds after the pause


async def test_a_429_pauses_requests_that_start_later(time: SimulatedTime) -> None:
    sent_at = stamps()
    limit = RateLimit(1000, burst=100)
    recorder = Recorder(reply(429, {"error": {}}, headers={"retry-after-ms": "1500"}), timed(time, sent_at))
    client = make_client(recorder, rate_limit=limit, max_retries=0)
    async with client:
        with pytest.raises(RateLimitError):
            await client.get("/x", cast_to=object)
        assert limit.paused_for == pytest.approx(1.5)

        async def one() -> None:
            await client.get("/y", cast_to=object)

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(one)
            await time.run()
    assert sent_at == [1.5, 1.5, 1.5]


@pytest.mark.parametrize("headers", [{}, {"retry-after": "3600"}, {"retry-after": "0"}])
async def test_a_429_without_a_sane_hint_does_not_pause(headers: Dict[str, str], time: SimulatedTime) -> None:  # noqa: ARG001
    limit = RateLimit(10)
    client = make_client(Recorder(reply(429, {}, headers=headers)), rate_limit=limit, max_retries=0)
    async with client:
        with pytest.raises(RateLimitError):
            await client.get("/x", cast_to=object)
    assert limit.paused_for == 0.0


# ---------------------------------------------------------------- concurrency


async def test_max_concurrency_caps_requests_in_flight(time: SimulatedTime) -> None:
    limit = RateLimit(math.inf, max_concurrency=2)
    gate, in_flight, peak = anyio.Event(), [0], [0]

    async def slow(_: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await gate.wait()
        in_flight[0] -= 1
        return httpx.Response(200, json={})

    client = make_client(Recorder(slow), rate_limit=limit)

    async def one() -> None:
        await client.get("/x", cast_to=object)

    async with client, anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(one)
        await time.settle()
        assert (in_flight[0], limit.in_flight) == (2, 2)
        gate.set()
    assert peak[0] == 2
    assert limit.in_flight == 0


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    limit = RateLimit(math.inf, max_concurrency=1)
    await limit.acquire()
    with anyio.move_on_after(0.01):
        await limit.acquire()  # waits for the slot, then is cancelled
    limit.release()
    assert limit.in_flight == 0
    async with limit:
        assert limit.in_flight == 1


# ---------------------------------------------------------------- the SDK's clock


async def test_a_429_pause_takes_no_real_time_inside_disable_retry_delays() -> None:
    answers = Recorder(reply(429, {"error": {"code": "rate_limited"}}, headers={"retry-after": "1"}), reply(200, {}))
    limit = RateLimit(100)
    with disable_retry_delays() as clock:
        async with make_client(answers, rate_limit=limit) as client:
            assert await client.get("/x", cast_to=object) == {}
    assert len(answers.requests) == 2
    assert clock.skipped == pytest.approx(1.0, abs=0.05)  # the one-second pause, in virtual time


async def test_a_request_held_by_a_pause_waits_on_the_sdk_clock() -> None:
    limit = RateLimit(100)
    with disable_retry_delays() as clock:
        limit.pause(30)
        async with limit:
            assert limit.paused_for <= 0.05
    assert clock.skipped == pytest.approx(30.0, abs=0.05)


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    ("args", "message"),
    [((0,), "requests_per_second"), ((1, 0), "burst"), ((1, 1, 0), "max_concurrency")],
)
def test_bad_settings_are_refused(args: Tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimit(*args)


def test_rate_limit_is_exported_from_microdc() -> None:
    assert microdc.RateLimit is RateLimit
    assert "requests_per_second=20" in repr(RateLimit(20))
