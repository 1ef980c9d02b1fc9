"""1,000 concurrent ``jobs.wait`` calls on 5 s jobs, and an unrelated call made meanwhile (PRODUCT.md section 3).

::

    uv run python -m benchmarks.waits                 # 1,000 waits, then the same jobs followed by 1,000 streams
    uv run python -m benchmarks.waits --waits 2000 --job-seconds 10

Against ``python -m microdc.testing`` in its own process (started and stopped by PID),
with the client's default connection pool (100 connections), the benchmark submits
``--waits`` jobs, starts one ``jobs.wait`` per job, and while they wait calls
``models.list()`` every half second, timing each call (wall time: what a service
sharing the client would see). The target: every such call returns in under 0.5 s.
It counts the event streams the fake served and the list requests the waits made.

For comparison, ``streams`` repeats the run with each job followed by its own
``jobs.events`` stream until it ends, which is what every ``jobs.wait`` did before the
client's waits shared one poller: the streams take the pool, and the unrelated call
waits for a connection.
"""

from __future__ import annotations

import os
import sys
import json
import time
import asyncio
import argparse
import subprocess
from typing import Any, Dict, List, Callable, Optional, Awaitable

from .batch_scale import stop_process

PROBE_EVERY = 0.5
"""Seconds between two ``models.list()`` calls made while the jobs are waited for."""
TARGET_SECONDS = 0.5


def _start_fake(job_seconds: float) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, "-m", "microdc.testing", "--port", "0", "--job-duration", str(job_seconds)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


async def _follow_stream(client: Any, job_id: str) -> None:
    """What a wait did before: hold an event stream until the job's terminal event."""
    async with await client.jobs.events(job_id) as stream:
        async for _ in stream:
            pass


async def run(base_url: str, mode: str, count: int) -> Dict[str, Any]:
    from microdc import AsyncMicroDC

    requests: Dict[str, int] = {"events": 0, "list": 0, "other": 0}

    def count_request(info: Any) -> None:
        kind = "events" if info.path.endswith("/events") else "list" if info.path == "/api/v1/jobs" else "other"
        requests[kind] += 1

    from microdc.lib.hooks import Hooks

    async with AsyncMicroDC(api_key="test", base_url=base_url, hooks=Hooks(on_request=count_request)) as client:
        semaphore = asyncio.Semaphore(64)

        async def submit() -> str:
            async with semaphore:
                job = await client.jobs.create(type="llm_embed", model="embed-1", texts=["t"])
                return job.id

        ids = await asyncio.gather(*(submit() for _ in range(count)))
        for kind in requests:
            requests[kind] = 0
        follow: Callable[[str], Awaitable[Any]] = (
            client.jobs.wait if mode == "waits" else lambda job_id: _follow_stream(client, job_id)
        )
        started = time.perf_counter()
        cpu = time.process_time()
        waiting = asyncio.gather(*(follow(job_id) for job_id in ids))
        latencies: List[float] = []
        while not waiting.done():
            await asyncio.sleep(PROBE_EVERY)
            if waiting.done():
                break
            probe = time.perf_counter()
            await client.models.list()
            latencies.append(time.perf_counter() - probe)
        await waiting
        return {
            "mode": mode,
            "jobs": count,
            "wall_s": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu,
            "probes": len(latencies),
            "probe_max_s": max(latencies, default=float("nan")),
            "probe_median_s": sorted(latencies)[len(latencies) // 2] if latencies else float("nan"),
            "event_streams": requests["events"],
            "list_requests": requests["list"],
            "other_requests": requests["other"] - len(latencies),
        }


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.waits", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--job-seconds", type=float, default=5.0)
    parser.add_argument("--modes", nargs="+", default=["waits", "streams"], choices=["waits", "streams"])
    args = parser.parse_args(argv)
    rows: List[Dict[str, Any]] = []
    load = os.getloadavg()
    for mode in args.modes:
        process, base_url = _start_fake(args.job_seconds)
        try:
            rows.append(asyncio.run(run(base_url, mode, args.waits)))
        finally:
            stop_process(process)
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; now: {os.getloadavg()[0]:.2f}")
    print(
        "| followed by | jobs | wall | models.list() while waiting: median / slowest (calls) | event streams | list requests |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        name = "jobs.wait" if row["mode"] == "waits" else "one jobs.events stream each (before)"
        print(
            f"| {name} | {row['jobs']:,} | {row['wall_s']:.1f} s | {row['probe_median_s'] * 1e3:.0f} ms / "
            f"{row['probe_max_s'] * 1e3:.0f} ms ({row['probes']}) | {row['event_streams']:,} | {row['list_requests']:,} |"
        )
    waits = next((row for row in rows if row["mode"] == "waits"), None)
    if waits is not None:
        met = waits["probe_max_s"] < TARGET_SECONDS and waits["event_streams"] <= 8
        print(f"target: every unrelated call under {TARGET_SECONDS} s, at most 8 streams: {'met' if met else 'MISS'}")
        sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
