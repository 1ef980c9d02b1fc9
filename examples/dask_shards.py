"""One batch, four shards, run as tasks on Dask distributed.

uv run python examples/dask_shards.py            # a LocalCluster of worker processes, the fake in its own process

Each task runs ``client.jobs.batch(inputs, shard=(i, 4), batch_id=..., state_file=...)``:
it takes the inputs whose index is ``i`` mod 4, with the keys a single run would use,
and keeps its own state file. Nothing else is coordinated: if a worker dies, Dask
runs its task again elsewhere, the task resumes from its state file, and the server
replays whatever the dead worker had submitted but not recorded (same key, same
job). Needs ``pip install 'dask[distributed]' 'microdc[testing]'`` (the project's
``engine`` dependency group has them).

With ``MICRODC_BASE_URL`` set, the shards talk to that service instead of the fake.
"""

from __future__ import annotations

import os
import sys
import signal
import asyncio
import tempfile
import subprocess
from typing import Any, Dict, Iterator, Optional

SHARDS = 4
INPUTS = 400
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


def start_fake() -> tuple[subprocess.Popen[str], str]:
    """``python -m microdc.testing`` in its own process; stop it by PID with :func:`stop_fake`."""
    argv = [sys.executable, "-m", "microdc.testing", "--port", "0", "--api-key", "example-key", "--job-duration", "0.5"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stop_fake(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def main() -> None:
    from distributed import Client, LocalCluster

    fake: Optional[subprocess.Popen[str]] = None
    base_url, api_key = os.environ.get("MICRODC_BASE_URL", ""), os.environ.get("MICRODC_API_KEY", "")
    if not base_url:
        fake, base_url = start_fake()
        api_key = "example-key"
        print(f"(no MICRODC_BASE_URL: using a fake MicroDC at {base_url})")
    try:
        with (
            tempfile.TemporaryDirectory() as state_dir,
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as dask,
        ):
            futures = [
                dask.submit(run_shard, i, SHARDS, INPUTS, base_url, api_key, state_dir, pure=False)
                for i in range(SHARDS)
            ]
            for result in dask.gather(futures):
                print(
                    f"shard {result['shard']}: {result['counts']['submitted']} submitted (worker pid {result['pid']})"
                )
    finally:
        if fake is not None:
            stop_fake(fake)


if __name__ == "__main__":
    main()
