"""Shards as tasks of a real distributed engine: Dask distributed, a LocalCluster of worker processes.

Four shards of one batch run as four tasks; one worker is killed (SIGKILL) while its
task is half-way; Dask runs that task again on a worker it starts anew, the task resumes
from its state file, and the fake — in its own process — ends up with exactly N jobs,
made under the N keys a single run would use.
"""

from __future__ import annotations

import os
import sys
import signal
import asyncio
from typing import Any, Dict, List, AsyncIterator, cast
from pathlib import Path

import pytest

pytest.importorskip("distributed")

import cloudpickle  # type: ignore[import-untyped]  # comes with distributed
import distributed

from microdc import AsyncMicroDC

N = 800
SHARDS = 4
BATCH_ID = "dask-shards"
API_KEY = "k"
DEFAULTS: Dict[str, Any] = {"type": "llm_complete", "model": "echo-1", "max_tokens": 8}

# The workers are fresh processes: ship this module's functions by value.
cast(Any, cloudpickle).register_pickle_by_value(sys.modules[__name__])
# distributed is not fully typed: the cluster and its client are used through Any.
LocalCluster: Any = distributed.LocalCluster
Client: Any = distributed.Client


def make_input(index: int) -> Dict[str, Any]:
    return {"prompt": f"input {index}", "metadata": {"n": str(index)}}


def shard_task(shard: int, base_url: str, state_dir: str, signals: str) -> Dict[str, Any]:
    """One shard, run to its end. Shard 0's first attempt stops half-way and says so, to be killed there."""
    from microdc import _clock

    def first_attempt_half_way(index: int) -> bool:
        """Shard 0, half-way, before the test killed a worker: say so (with this process's id)."""
        if shard != 0 or index != N // 2 or Path(signals, "killed").exists():
            return False
        Path(signals, "paused").write_text(str(os.getpid()))
        return True

    async def inputs() -> AsyncIterator[Dict[str, Any]]:
        for index in range(N):
            if first_attempt_half_way(index):
                for _ in range(6000):  # wait here (at most a minute) for the test to kill this process
                    await _clock.sleep(0.01)
            yield make_input(index)

    async def main() -> Dict[str, Any]:
        async with AsyncMicroDC(api_key=API_KEY, base_url=base_url) as client:
            summary = await client.jobs.batch(
                inputs(),
                defaults=DEFAULTS,
                shard=(shard, SHARDS),
                batch_id=BATCH_ID,
                state_file=os.path.join(state_dir, f"shard-{shard}.sqlite3"),
                wait=False,
                concurrency=4,
            ).wait()
        return {"shard": shard, "submitted": summary.counts["submitted"], "pid": os.getpid()}

    return asyncio.run(main())


@pytest.mark.timeout(240)
def test_four_shards_on_dask_survive_a_killed_worker_with_exactly_n_jobs(fake_process: str, tmp_path: Path) -> None:
    state_dir, signals = tmp_path / "state", tmp_path / "signals"
    state_dir.mkdir()
    signals.mkdir()
    paused, killed = signals / "paused", signals / "killed"
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster) as dask,
    ):
        futures = [
            dask.submit(shard_task, i, fake_process, str(state_dir), str(signals), pure=False, retries=0)
            for i in range(SHARDS)
        ]
        for _ in range(1200):  # until shard 0 is half-way (at most two minutes)
            if paused.exists():
                break
            dask.gather([dask.submit(os.getpid, pure=False)])  # a round trip instead of a sleep
        victim = int(paused.read_text())
        killed.write_text("")
        os.kill(victim, signal.SIGKILL)
        results: List[Dict[str, Any]] = dask.gather(futures)  # Dask reruns the lost task elsewhere

    assert sorted(r["shard"] for r in results) == list(range(SHARDS))
    assert sum(r["submitted"] for r in results) == N
    assert next(r for r in results if r["shard"] == 0)["pid"] != victim  # the task ran again, in another process

    async def check() -> None:
        async with AsyncMicroDC(api_key=API_KEY, base_url=fake_process) as client:
            jobs = [job async for job in client.jobs.list(limit=100)]
            assert len(jobs) == N
            assert sorted(int(job.metadata["n"]) for job in jobs) == list(range(N))
            # A single run with the same batch id sends the N keys a single run uses: every one
            # of them is answered with a job that exists (a replay), and no job is made.
            single = await client.jobs.submit_many(
                [make_input(i) for i in range(N)], defaults=DEFAULTS, batch_id=BATCH_ID, wait=False, concurrency=16
            )
            assert len({item.idempotency_key for item in single}) == N
            assert {item.job_id for item in single} == {job.id for job in jobs}
            assert len([job async for job in client.jobs.list(limit=100)]) == N

    asyncio.run(check())
