"""Soak: the lost-answers scenario at scale — 20,000 submissions, 256 at a time.

::

    uv run python -m benchmarks.soak                      # server in a child process (default)
    uv run python -m benchmarks.soak --in-process         # server in this process's event loop
    uv run python -m benchmarks.soak --submissions 2000 --concurrency 64 --max-seconds 120

The server is ``microdc.testing.FakeMicroDC`` on 127.0.0.1 with seeded ``Faults`` on
``POST /api/v1/jobs/submit``: 20 % of answers lost after the job was committed, 5 %
answered 5xx and 5 % answered 429 (``Retry-After: 1``). By default it runs in a child
process (``python -m benchmarks.soak --serve``), started and stopped by PID, which
also exits by itself when this process goes away or its time is up.

Each submission carries ``metadata={"call": n}``; afterwards every job the server
holds is listed through the API, so each call's jobs can be counted:

* **duplicates** — jobs beyond the first for one call (a retry that created a second job);
* **losses** — calls that have no job on the server, or that raised.

Retries wait as the client's policy says (``--no-delays`` skips the waits). The run is
bounded by ``--max-seconds``; peak RSS and the client's open sockets to the server
(counted from ``/proc/self/net/tcp``) are printed at the end. Exit status 0 means no
duplicate and no loss.
"""

from __future__ import annotations

import os
import sys
import json
import time
import signal
import asyncio
import argparse
import platform
import resource
import contextlib
from typing import Any, Set, Dict, List, Tuple, Counter, Optional, AsyncGenerator
from pathlib import Path
from collections import Counter as counter
from dataclasses import field, dataclass

import httpx

from microdc import APIError, AsyncMicroDC
from microdc._retry import disable_retry_delays
from microdc._constants import DEFAULT_CONNECTION_LIMITS

API_KEY = "soak-key"
SUBMIT_PATH = "/api/v1/jobs/submit"
MAX_RETRIES = 6
FAULTS: Dict[str, Any] = {
    "seed": 20240601,
    "lost_answer_rate": 0.20,
    "error_rate": 0.05,
    "rate_limit_rate": 0.05,
    "retry_after": 1.0,
    "paths": [SUBMIT_PATH],
    "methods": ["POST"],
}
STOP_GRACE_SECONDS = 15.0
ROOT = Path(__file__).resolve().parents[1]
DESCRIPTION = "Soak: the lost-answers scenario at scale (20,000 submissions, 256 at a time)."


# ----------------------------------------------------------------------------- the server


def _server_summary(fake: Any) -> Dict[str, Any]:
    submissions = [r for r in fake.requests if r.path == SUBMIT_PATH]
    faults: Counter[str] = counter(r.fault for r in submissions if r.fault is not None)
    return {
        "jobs_held": len(fake._store.jobs),
        "submit_requests": len(submissions),
        "replayed": sum(1 for r in submissions if r.replayed),
        "faults": dict(faults),
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "cpu_seconds": _cpu_seconds(),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fake() -> Any:
    from microdc.testing import Faults, FakeMicroDC

    return FakeMicroDC(api_key=API_KEY, job_duration=600.0, seed=1, faults=Faults(**FAULTS))


async def _serve_until_stopped(max_seconds: float) -> None:
    """The child process: serve, print the URL, and on SIGTERM print a summary and exit."""
    fake = _fake()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    parent = os.getppid()
    deadline = time.monotonic() + max_seconds
    async with fake.serve(port=0) as base_url:
        print(f"LISTENING {base_url}", flush=True)
        while not stop.is_set() and time.monotonic() < deadline and os.getppid() == parent:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    print("SUMMARY " + json.dumps(_server_summary(fake)), flush=True)


@contextlib.asynccontextmanager
async def child_server(max_seconds: float) -> AsyncGenerator[Tuple[str, Dict[str, Any]], None]:
    """Start the server process; yield its URL and a dict that receives its summary once it is stopped (by PID)."""
    child_limit = str(max_seconds + STOP_GRACE_SECONDS)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.soak", "--serve", "--max-seconds", child_limit,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )  # fmt: skip
    summary: Dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), STOP_GRACE_SECONDS)).decode()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"the soak server did not start: {line!r}")
        yield line.split()[1], summary
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), STOP_GRACE_SECONDS)
        except TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
        for text in out.decode().splitlines():
            if text.startswith("SUMMARY "):
                summary.update(json.loads(text[len("SUMMARY ") :]))


@contextlib.asynccontextmanager
async def in_process_server() -> AsyncGenerator[Tuple[str, Dict[str, Any]], None]:
    fake = _fake()
    summary: Dict[str, Any] = {}
    async with fake.serve(port=0) as base_url:
        yield base_url, summary
    summary.update(_server_summary(fake))


# ----------------------------------------------------------------------------- the client


def open_connections(port: int) -> int:
    """TCP sockets this process holds open to ``port`` (-1 where ``/proc`` is not available)."""
    tables = [Path("/proc/self/net/tcp"), Path("/proc/self/net/tcp6")]
    if not tables[0].exists():
        return -1
    inodes: Set[str] = set()
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{name}")
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in tables:
        with contextlib.suppress(FileNotFoundError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    count += 1
    return count


@dataclass
class ClientResult:
    returned: Dict[int, str] = field(default_factory=dict[int, str])
    """Call number -> the job id it returned."""
    errors: Counter[str] = field(default_factory=counter[str])
    jobs_by_call: Counter[int] = field(default_factory=counter[int])
    """Call number -> how many jobs the server holds for it (from listing every job)."""
    listed: int = 0
    sockets_open: int = -1
    sockets_after_close: int = -1
    elapsed: float = 0.0


async def soak(base_url: str, *, submissions: int, concurrency: int, deadline: float) -> ClientResult:
    result = ClientResult()
    port = httpx.URL(base_url).port or 80
    started = time.monotonic()
    async with AsyncMicroDC(api_key=API_KEY, base_url=base_url, max_retries=MAX_RETRIES) as client:
        limit = asyncio.Semaphore(concurrency)

        async def submit(n: int) -> None:
            async with limit:
                try:
                    job = await client.jobs.create(
                        type="llm_complete", model="echo-1", prompt=f"soak {n}", metadata={"call": str(n)}
                    )
                except APIError as exc:
                    result.errors[type(exc).__name__] += 1
                else:
                    result.returned[n] = job.id

        try:
            await asyncio.wait_for(
                asyncio.gather(*(submit(n) for n in range(submissions))), deadline - time.monotonic()
            )
        except TimeoutError:  # --max-seconds: report what happened so far
            result.errors["unfinished at --max-seconds"] = (
                submissions - len(result.returned) - sum(result.errors.values())
            )
        result.elapsed = time.monotonic() - started
        async for job in client.jobs.list(limit=100):
            result.listed += 1
            result.jobs_by_call[int(job.metadata.get("call", "-1"))] += 1
        result.sockets_open = open_connections(port)
    result.sockets_after_close = open_connections(port)
    return result


def report(args: argparse.Namespace, result: ClientResult, server: Dict[str, Any]) -> bool:
    returned_ids = list(result.returned.values())
    shared_ids = len(returned_ids) - len(set(returned_ids))
    duplicates = sum(count - 1 for count in result.jobs_by_call.values() if count > 1) + shared_ids
    without_job = sum(1 for n in range(args.submissions) if result.jobs_by_call[n] == 0)
    losses = max(without_job, args.submissions - len(result.returned))
    faults = server.get("faults", {})
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        f"microdc soak: {args.submissions:,} submissions, {args.concurrency} at a time, max_retries={MAX_RETRIES}, "
        f"server {'in-process' if args.in_process else 'in a child process'}, "
        f"retry waits {'off' if args.no_delays else 'on'}",
        f"  faults on POST {SUBMIT_PATH}: lost answers {FAULTS['lost_answer_rate']:.0%}, "
        f"5xx {FAULTS['error_rate']:.0%}, 429 {FAULTS['rate_limit_rate']:.0%} (Retry-After {FAULTS['retry_after']:.0f} s)",
        f"  python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}",
        f"jobs sent (calls)        {args.submissions:,}",
        f"calls returning a job    {len(result.returned):,}",
        f"calls raising            {sum(result.errors.values()):,} {dict(result.errors) or ''}".rstrip(),
        f"jobs held by the server  {server.get('jobs_held', 'n/a'):,} (listed through the API: {result.listed:,})",
        f"duplicates               {duplicates:,}",
        f"losses                   {losses:,}",
        f"submit requests seen     {server.get('submit_requests', 0):,} "
        f"(lost answers {faults.get('lost_answer', 0):,}, 5xx {faults.get('error', 0):,}, "
        f"429 {faults.get('rate_limit', 0):,}; idempotent replays {server.get('replayed', 0):,})",
        f"elapsed                  {result.elapsed:.1f} s ({args.submissions / max(result.elapsed, 1e-9):,.0f} calls/s)",
        f"CPU                      client {_cpu_seconds():.1f} s"
        + (f", server {server['cpu_seconds']:.1f} s" if "cpu_seconds" in server and not args.in_process else ""),
        f"peak RSS                 client {rss_mib:.1f} MiB"
        + (
            f", server {server['peak_rss_kib'] / 1024:.1f} MiB"
            if "peak_rss_kib" in server and not args.in_process
            else ""
        ),
        f"open sockets at the end  {result.sockets_open} with the client open "
        f"(keep-alive limit {DEFAULT_CONNECTION_LIMITS.max_keepalive_connections}), "
        f"{result.sockets_after_close} after close",
    ]
    print("\n".join(lines))
    ok = duplicates == 0 and losses == 0 and server.get("jobs_held") == args.submissions
    print("result                   " + ("PASS: no duplicate, no loss" if ok else "FAIL"))
    return ok


async def run(args: argparse.Namespace) -> bool:
    deadline = time.monotonic() + args.max_seconds
    server_cm = in_process_server() if args.in_process else child_server(args.max_seconds)
    delays = disable_retry_delays() if args.no_delays else contextlib.nullcontext()
    with delays:
        async with server_cm as (base_url, server):
            result = await soak(base_url, submissions=args.submissions, concurrency=args.concurrency, deadline=deadline)
    return report(args, result, server)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=DESCRIPTION)
    parser.add_argument("--submissions", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="give up after this long (default 900)")
    parser.add_argument("--in-process", action="store_true", help="serve from this process's event loop")
    parser.add_argument("--no-delays", action="store_true", help="retry at once instead of waiting")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve_until_stopped(args.max_seconds))
        return 0
    if args.submissions < 1 or args.concurrency < 1 or args.max_seconds <= 0:
        parser.error("--submissions, --concurrency and --max-seconds must be positive")
    return 0 if asyncio.run(run(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
