"""One measurement: one variant, one scenario, in this (fresh) process.

``python -m benchmarks.worker --variant NAME --scenario KIND --base-url URL --n N
--warmup W --concurrency C [--profile FILE]`` opens the client, warms it up, then
times the loop with ``resource.getrusage(RUSAGE_SELF)`` (user + sys CPU) and
``perf_counter`` (wall), and prints one JSON line:

``{"status": "ok", "units": ..., "cpu_s": ..., "wall_s": ..., "maxrss_kib": ...}``

or ``{"status": "unavailable" | "error", "reason": ...}``. Kinds: ``get``,
``create`` (requests), ``paginate`` (pages of 100 over the 10,000 jobs; ``N`` pages
rounded up to whole passes) and ``sse`` (one stream of ``N`` deltas + 1 terminal event).
"""

from __future__ import annotations

import gc
import sys
import json
import time
import asyncio
import argparse
import resource
from typing import Any, Dict, List, Callable, Optional, Awaitable

from .variants import Variant, Unavailable, load
from .variants.base import JOB_ID

LIST_SIZE = 10_000
PAGE = 100
KINDS = ("get", "create", "paginate", "sse")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _lanes(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> None:
    """``n`` calls spread over ``concurrency`` tasks sharing the client (bounded by ``n``)."""
    remaining = n

    async def lane() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    if concurrency == 1:
        await lane()
    else:
        await asyncio.gather(*(lane() for _ in range(concurrency)))


class Check:
    """Fails the run when a variant does not do the same work as the others."""

    @staticmethod
    def job(obj: object) -> None:
        got = getattr(obj, "id", None)
        if not isinstance(got, str) or not got.startswith("job_"):
            raise RuntimeError(f"expected a Job, got {type(obj).__name__}: {obj!r:.200}")

    @staticmethod
    def count(what: str, got: int, expected: int) -> None:
        if got != expected:
            raise RuntimeError(f"{what}: expected {expected}, got {got}")


async def server_stats(base_url: str) -> Dict[str, int]:
    """The server's counters, over a connection of its own (outside the timed window)."""
    host, port = base_url.split("//", 1)[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    try:
        writer.write(b"GET /__bench/stats HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    stats = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    return {"connections": int(stats["connections"]), "requests": int(stats["requests"])}


async def warm_up(variant: Variant, kind: str, warmup: int, concurrency: int) -> None:
    if kind == "get":
        Check.job(await variant.get(JOB_ID))
        await _lanes(lambda: variant.get(JOB_ID), warmup, concurrency)
    elif kind == "create":
        Check.job(await variant.create())
        await _lanes(variant.create, warmup, concurrency)
    elif kind == "paginate":
        Check.count("jobs seen", await variant.paginate(PAGE, max(warmup, 1) * PAGE), max(warmup, 1) * PAGE)
    else:
        Check.count("events", await variant.stream(f"job_sse_{warmup}"), warmup + 1)


async def timed(variant: Variant, kind: str, n: int, concurrency: int) -> int:
    """Runs the measured loop; returns how many units (requests, pages, events) it did."""
    if kind == "get":
        await _lanes(lambda: variant.get(JOB_ID), n, concurrency)
        return n
    if kind == "create":
        await _lanes(variant.create, n, concurrency)
        return n
    if kind == "paginate":
        passes = max(1, -(-n // (LIST_SIZE // PAGE)))
        for _ in range(passes):
            Check.count("jobs seen", await variant.paginate(PAGE, LIST_SIZE), LIST_SIZE)
        return passes * (LIST_SIZE // PAGE)
    events = await variant.stream(f"job_sse_{n}")
    Check.count("events", events, n + 1)
    return events


async def measure(args: argparse.Namespace) -> Dict[str, Any]:
    try:
        variant = load(args.variant)
        await variant.open(args.base_url)
    except Unavailable as exc:
        return {"status": "unavailable", "reason": str(exc)}
    try:
        try:
            await warm_up(variant, args.scenario, args.warmup, args.concurrency)
        except Exception as exc:  # a variant not ready yet is reported, not fatal
            return {"status": "unavailable", "reason": f"warm-up failed: {type(exc).__name__}: {exc}"[:500]}
        gc.collect()
        profiler: Any = None
        if args.profile:
            import cProfile

            # CPU time, not wall time: preemption by other processes on a shared machine
            # (and the wait for the server) must not count as the code's cost.
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        stats0 = await server_stats(args.base_url)
        cpu0, wall0 = _cpu(), time.perf_counter()
        try:
            units = await timed(variant, args.scenario, args.n, args.concurrency)
        except Exception as exc:
            return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:500]}
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
        stats1 = await server_stats(args.base_url)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    finally:
        await variant.close()
    return {
        "status": "ok",
        "units": units,
        "cpu_s": cpu,
        "wall_s": wall,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        # New TCP connections the client opened during the timed loop (pool churn).
        # (The second stats request's own connection is left out.)
        "connections": stats1["connections"] - stats0["connections"] - 1,
    }


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Run one benchmark variant in this process.")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--scenario", required=True, choices=KINDS)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--profile", default="", help="write cProfile stats of the timed loop here")
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        sys.exit("the benchmark worker only talks to a loopback server")

    async def bounded() -> Dict[str, Any]:
        return await asyncio.wait_for(measure(args), timeout=args.timeout)

    try:
        result = asyncio.run(bounded())
    except TimeoutError:
        result = {"status": "error", "reason": f"timed out after {args.timeout:.0f} s"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
