"""One batch, four shards, run as tasks on Dask distributed.

uv run python examples/dask_shards.py            # a LocalCluster of worker processes, against an embedded fake

Each task runs ``client.jobs.batch(inputs, shard=(i, 4), batch_id=..., state_file=...)``:
it takes the inputs whose index is ``i`` mod 4, with the keys a single run would use,
and keeps its own state file. Nothing else is coordinated: if a worker dies, Dask
runs its task again elsewhere, the task resumes from its state file, and the server
replays whatever the dead worker had submitted but not recorded (same key, same
job). Needs ``pip install 'dask[distributed]' 'microdc[testing]'`` (the project's
``engine`` dependency group has them).

With ``MICRODC_BASE_URL`` (and ``MICRODC_API_KEY``) set, the shards talk to that service
instead of a fake served on loopback by this process.
"""

from __future__ import annotations

import os
import sys
import asyncio
import tempfile
from typing import Any, Dict, Iterator

import anyio
import anyio.to_thread

SHARDS = 4
INPUTS = 200
BATCH_ID = "dask-example"


def make_input(index: int) -> Dict[str, Any]:
    """The input at ``index``: every shard rebuilds the same list on its own (no data is shipped)."""
    return {"prompt": f"Write a haiku about the number {index}.", "metadata": {"n": str(index)}}


def inputs(count: int) -> Iterator[Dict[str, Any]]:
    return (make_input(index) for index in range(count))


def run_shard(
    shard: int, shards: int, count: int, base_url: str, api_key: str, state_dir: str, batch_id: str = BATCH_ID
) -> Dict[str, Any]:
    """A Dask task: run one shard of the batch to its end, resuming from its state file if there is one."""
    from microdc import AsyncMicroDC

    async def main() -> Dict[str, Any]:
        async with AsyncMicroDC(api_key=api_key, base_url=base_url) as client:
            summary = await client.jobs.batch(
                inputs(count),
                defaults={"type": "llm_complete", "model": "echo-1", "max_tokens": 32},
                shard=(shard, shards),
                batch_id=batch_id,
                state_file=os.path.join(state_dir, f"shard-{shard}-of-{shards}.sqlite3"),
                wait=False,
                concurrency=8,
            ).wait()
        return {"shard": shard, "counts": summary.counts, "pid": os.getpid()}

    return asyncio.run(main())


def run_on_dask(base_url: str, api_key: str) -> None:
    """Four shards as four tasks on a LocalCluster of two worker processes."""
    import cloudpickle  # type: ignore[import-untyped]  # comes with distributed
    from distributed import Client, LocalCluster

    # The workers cannot import this file: ship its functions by value. (cloudpickle does so
    # already when it runs as a script, or was loaded without an entry in sys.modules.)
    module = sys.modules.get(__name__)
    if module is not None and __name__ != "__main__":
        cloudpickle.register_pickle_by_value(module)
    with (
        tempfile.TemporaryDirectory() as state_dir,
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as dask,
    ):
        futures = [
            dask.submit(run_shard, i, SHARDS, INPUTS, base_url, api_key, state_dir, pure=False) for i in range(SHARDS)
        ]
        for result in dask.gather(futures):
            print(f"shard {result['shard']}: {result['counts']['submitted']} submitted (worker pid {result['pid']})")


async def main() -> None:
    base_url, api_key = os.environ.get("MICRODC_BASE_URL", ""), os.environ.get("MICRODC_API_KEY", "")
    if base_url:
        await anyio.to_thread.run_sync(run_on_dask, base_url, api_key)
        return
    from microdc.testing import FakeMicroDC

    fake = FakeMicroDC(api_key="example-key", job_duration=0.5, seed=7)
    async with fake.serve(port=0) as base_url:  # served by this event loop while Dask runs in a thread
        print(f"(no MICRODC_BASE_URL: using an embedded fake MicroDC at {base_url})")
        await anyio.to_thread.run_sync(run_on_dask, base_url, "example-key")
    print(f"the fake holds {len(fake.jobs)} jobs")


if __name__ == "__main__":
    asyncio.run(main())
