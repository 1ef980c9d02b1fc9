"""``ManualClock`` as the SDK's clock: ``fake.virtual_time()`` makes every wait move the fake's time."""

from __future__ import annotations

import asyncio

import pytest

from microdc import _clock
from microdc.testing import Faults, FakeMicroDC, ManualClock, MonotonicClock
from microdc.lib.retry import disable_retry_delays

from .conftest import API_KEY, submit


def test_a_manual_clock_is_a_clock_the_sdk_can_wait_on(clock: ManualClock) -> None:
    clock.advance(3)
    assert isinstance(clock, _clock.Clock)
    assert clock.monotonic() == clock.now() == 3.0


async def test_sleeping_on_a_manual_clock_moves_it_forward(clock: ManualClock) -> None:
    await clock.sleep(2.5)
    await clock.sleep(0)
    await clock.sleep(-1)
    assert clock.now() == 2.5


async def test_sleeps_that_start_together_overlap_instead_of_adding_up(clock: ManualClock) -> None:
    await asyncio.gather(clock.sleep(5), clock.sleep(3), clock.sleep(5))
    assert clock.now() == 5.0


async def test_virtual_time_installs_the_fakes_clock_and_restores_the_previous_one(
    fake: FakeMicroDC, clock: ManualClock
) -> None:
    with disable_retry_delays() as instant:
        with fake.virtual_time() as installed:
            assert installed is clock
            assert _clock.current_clock() is clock
        assert _clock.current_clock() is instant


def test_virtual_time_needs_a_manual_clock() -> None:
    fake = FakeMicroDC(clock=MonotonicClock())
    with pytest.raises(TypeError, match=r"ManualClock\(\)"), fake.virtual_time():
        pass


async def test_the_sdks_retry_waits_move_the_fakes_clock(fake: FakeMicroDC, clock: ManualClock) -> None:
    fake.faults = Faults(rate_limit_rate=1.0, retry_after=0.25, max_faults=2)
    with fake.virtual_time():
        async with fake.client(api_key=API_KEY) as client:
            models = await client.models.list()
    assert [model.id for model in models.data]
    assert clock.now() == pytest.approx(0.5)  # two waits of the 429's retry-after-ms


async def test_an_event_stream_in_virtual_time_jumps_to_each_next_event(fake: FakeMicroDC, clock: ManualClock) -> None:
    async with fake.http_client(timeout=10) as http:
        job = await submit(http)
        with fake.virtual_time():
            async with http.stream("GET", f"/api/v1/jobs/{job['id']}/events") as response:
                body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert b"event: job.completed" in body
    assert b": keep-alive" not in body
    assert clock.now() == pytest.approx(10.0)  # the fixture's job duration
