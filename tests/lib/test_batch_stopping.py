"""Stopping a batch with ``run.cancel(remote=True)``: what the server and the state end with.

In the SDK's virtual time every timed wait moves the clock at once, so a timer that
keeps waking (the state writer's, the progress ticker's) while the run waits for a
worker thread would let the fake's jobs end before the cancel reaches them. These
tests pin that no timer runs while it has nothing to do.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict
from pathlib import Path

import anyio

from microdc.testing import FakeMicroDC, ManualClock
from microdc.lib.batch._state import StateRow, BatchState
from microdc.lib.batch._writer import SAVE_INTERVAL, RowWriter

from .test_batch import rows

JOB_SECONDS = 60.0


def complete(i: int) -> Dict[str, Any]:
    return {"type": "llm_complete", "model": "echo-1", "prompt": f"p{i}"}


async def test_cancel_remote_in_virtual_time_cancels_every_job_in_flight_before_it_ends(tmp_path: Path) -> None:
    fake = FakeMicroDC(clock=ManualClock(), job_duration=JOB_SECONDS, seed=3)
    state = tmp_path / "state.sqlite3"
    with fake.virtual_time():
        async with fake.client() as client:
            inputs = (complete(i) for i in range(100))
            async with client.jobs.batch(inputs, concurrency=4, state_file=state) as run:
                for _ in range(1_000):  # a few loop turns: the first jobs are submitted
                    if run.progress.submitted >= 4:
                        break
                    await asyncio.sleep(0)
                await run.cancel(remote=True)
                items = [item async for item in run]
    assert items
    assert {item.status for item in items} == {"cancelled"}
    assert {job["status"] for job in fake.jobs.values()} == {"cancelled"}
    assert len(items) == len(fake.jobs)
    assert run.progress.elapsed < JOB_SECONDS  # no timer moved the clock past the jobs' end
    assert {status for status, _ in rows(state).values()} == {"cancelled"}


async def test_cancel_remote_records_a_job_that_ended_meanwhile_as_it_ended(tmp_path: Path) -> None:
    clock = ManualClock()
    fake = FakeMicroDC(clock=clock, job_duration=10.0, seed=4)
    state = tmp_path / "state.sqlite3"
    inputs = [complete(i) for i in range(3)]
    async with fake.client() as client:
        await client.jobs.submit_many(inputs, state_file=state, wait=False)
        assert {status for status, _ in rows(state).values()} == {"submitted"}
        clock.advance(10.0)  # they end on the server; the state still says submitted
        async with client.jobs.batch(inputs, state_file=state) as run:
            await run.cancel(remote=True)  # each cancel answers 409: the job is looked up instead
            items = [item async for item in run]
    assert {job["status"] for job in fake.jobs.values()} == {"completed"}
    assert {status for status, _ in rows(state).values()} == {"completed"}
    assert {item.status for item in items} <= {"completed"}


async def test_the_state_writer_sets_no_timer_while_it_has_nothing_to_save(tmp_path: Path) -> None:
    clock = ManualClock()
    fake = FakeMicroDC(clock=clock)
    state = BatchState.open(tmp_path / "state.sqlite3", batch_id="b_1")
    writer = RowWriter(state)
    try:
        with fake.virtual_time():
            async with anyio.create_task_group() as group:
                group.start_soon(writer.run)
                for _ in range(100):
                    await asyncio.sleep(0)
                assert clock.now() == 0.0  # idle: no timer moved the virtual clock
                writer.record(StateRow(0, "hash", "submitted", "job_1", 0.0, 0.0))
                for _ in range(1_000):  # the row starts the timer: the save interval passes once
                    if clock.now() > 0:
                        break
                    await asyncio.sleep(0)
                assert clock.now() == SAVE_INTERVAL
                await writer.save()  # waits for the save the timer started (in a worker thread)
                assert [row.job_id for row in state.unfinished(-1, 10)] == ["job_1"]
                group.cancel_scope.cancel()
    finally:
        state.close()
