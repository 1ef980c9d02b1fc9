"""Scale: ``client.jobs.batch`` over 10,000 and 1,000,000 inputs (PRODUCT.md section 3), and its CPU
per input beside a plain ``jobs.create`` loop.

::

    uv run python -m benchmarks.batch_scale                       # 10,000 and 1,000,000, then a resume run
    uv run python -m benchmarks.batch_scale --sizes 10000 100000 --resume 100000
    uv run python -m benchmarks.batch_scale --versus-create 10000 # batch vs create, both transports

Each run is ``jobs.batch(inputs, wait=False, state_file=..., concurrency=64)`` over a
generator of ``llm_complete`` inputs, sent with ``DefaultAioHttpClient``, in a fresh client process (so its peak RSS is
its own), against a loopback server in another process (``--serve``: a small raw
asyncio HTTP server that answers ``jobs.create`` with a queued Job, one job per
distinct ``Idempotency-Key``, and counts them; its memory is not the client's).
Every process is started and stopped by PID.

Measured in the client process:

* **peak RSS** — ``ru_maxrss`` at the end of the run;
* **longest stall** — a task sleeps 10 ms in a loop and records by how much each
  sleep overshot: the longest time the event loop was busy with something else;
* **CPU per input** — user + system CPU of the client process over the run, divided
  by the number of inputs.

The resume run cancels a batch once half of its inputs are submitted
(``run.cancel()``), runs it again with the same state file, and checks the server
saw exactly N distinct keys and made exactly N jobs.

``--versus-create N`` measures, for each transport (the default client and
``DefaultAioHttpClient``), in one fresh client process and through the same client:
N plain ``jobs.create`` calls from 64 tasks sharing the inputs, and ``jobs.batch``
over the same N inputs (``wait=False``, a state file, ``concurrency=64``), each
repeated and interleaved (create, batch, create, batch, ...) after a warm-up of both;
it reports the process CPU per input of each and their ratio (target: batch <= 1.5 x
create). ``--profile`` adds a cProfile of one batch run, grouped by module.
"""

from __future__ import annotations

import os
import sys
import json
import time
import signal
import asyncio
import argparse
import resource
import tempfile
import contextlib
import subprocess
from typing import Any, Dict, List, Iterator, Optional, AsyncGenerator
from pathlib import Path

PROMPT_MODEL = "echo-1"
CONCURRENCY = 64
_SUBMIT = b"/api/v1/jobs/submit"
_STATS = b"/__scale/stats"
_JOB = (
    b'{"id":"job_%08d","object":"job","type":"llm_complete","model":"echo-1","status":"queued",'
    b'"priority":"normal","metadata":{},"timeout_seconds":300,"progress":0,'
    b'"created_at":"2026-01-01T00:00:00Z","started_at":null,"completed_at":null,'
    b'"acknowledged":false,"acknowledged_at":null,"usage":null,"error":null,"result":null}'
)


# --- the server (its own process) -------------------------------------------------------


_KEYS: Dict[bytes, int] = {}  # idempotency key -> job number, for the whole server
_COUNTS: Dict[str, int] = {"submissions": 0, "replayed": 0}


class ScaleServer(asyncio.Protocol):
    """HTTP/1.1 keep-alive; ``POST .../submit`` makes one job per distinct key; ``GET /__scale/stats``."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Optional[Exception]) -> None:  # noqa: ARG002
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while self.transport is not None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            lower = head.lower()
            length = 0
            i = lower.find(b"\r\ncontent-length:")
            if i >= 0:
                j = lower.find(b"\r\n", i + 2)
                length = int(head[i + 17 : j if j >= 0 else len(head)])
            total = end + 4 + length
            if len(buf) < total:
                return
            del buf[:total]
            method, target = head.split(b" ", 2)[:2]
            self.transport.write(self.respond(method, target.partition(b"?")[0], lower))

    def respond(self, method: bytes, path: bytes, lower: bytes) -> bytes:
        if method == b"POST" and path == _SUBMIT:
            i = lower.find(b"\r\nidempotency-key:")
            key = lower[i + 18 : lower.find(b"\r\n", i + 2)].strip() if i >= 0 else b""
            _COUNTS["submissions"] += 1
            job = _KEYS.get(key)
            if job is None:
                job = _KEYS[key] = len(_KEYS)
            else:
                _COUNTS["replayed"] += 1
            return self.answer(201, _JOB % job)
        if path == _STATS:
            stats = {**_COUNTS, "distinct_keys": len(_KEYS), "jobs": len(_KEYS)}
            return self.answer(200, json.dumps(stats).encode())
        return self.answer(404, b'{"error":{"type":"not_found","code":"not_found","message":"no route","param":null}}')

    @staticmethod
    def answer(status: int, body: bytes) -> bytes:
        return (
            b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\nx-request-id: req_1\r\n\r\n%s"
            % (
                status,
                len(body),
                body,
            )
        )


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(ScaleServer, "127.0.0.1", 0, backlog=1024)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:  # ends on a signal or when the parent is gone
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    server.close()


# --- one client run (its own process) -----------------------------------------------------


def inputs(count: int) -> Iterator[Dict[str, Any]]:
    for i in range(count):
        yield {"prompt": f"Summarise document number {i} in one line.", "metadata": {"n": str(i)}}


async def client_run(base_url: str, count: int, state: str, cancel_at: Optional[int]) -> Dict[str, Any]:
    from microdc import AsyncMicroDC, DefaultAioHttpClient

    # (overshoot, process CPU during it) of the longest stall, and the longest stall during
    # which the process itself was busy (CPU >= half the wall time): a stall the process
    # spent waiting for a CPU (a loaded machine) is the first kind only.
    longest = [0.0, 0.0]
    longest_busy = [0.0]

    async def watch() -> None:
        while True:
            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.sleep(0.01)
            over = time.perf_counter() - start - 0.01
            used = time.process_time() - cpu
            if over > longest[0]:
                longest[:] = [over, used]
            if used >= (over + 0.01) / 2 and over > longest_busy[0]:
                longest_busy[0] = over

    cpu0, wall0 = time.process_time(), time.perf_counter()
    watcher = asyncio.ensure_future(watch())
    async with (
        DefaultAioHttpClient() as http,
        AsyncMicroDC(api_key="bench", base_url=base_url, http_client=http) as client,
    ):
        run = client.jobs.batch(
            inputs(count),
            defaults={"type": "llm_complete", "model": PROMPT_MODEL, "max_tokens": 16},
            wait=False,
            state_file=state,
            batch_id="scale",
            concurrency=CONCURRENCY,
        )
        seen = 0
        async with run:
            async for _item in run:
                seen += 1
                if cancel_at is not None and seen == cancel_at:
                    await run.cancel()
        summary = run.summary()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "inputs": count,
        "items": seen,
        "counts": summary.counts,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_input_us": cpu / count * 1e6,
        "max_stall_ms": longest[0] * 1e3,
        "max_stall_cpu_ms": longest[1] * 1e3,
        "max_busy_stall_ms": longest_busy[0] * 1e3,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# --- batch against a plain create loop (one client process per transport) ----------------------


@contextlib.asynccontextmanager
async def _client(base_url: str, transport: str) -> AsyncGenerator[Any, None]:
    from microdc import AsyncMicroDC, DefaultAioHttpClient

    if transport == "aiohttp":
        async with (
            DefaultAioHttpClient() as http,
            AsyncMicroDC(api_key="bench", base_url=base_url, http_client=http) as client,
        ):
            yield client
    else:
        async with AsyncMicroDC(api_key="bench", base_url=base_url) as client:
            yield client


_DEFAULTS: Dict[str, Any] = {"type": "llm_complete", "model": PROMPT_MODEL, "max_tokens": 16}


async def _create_loop(client: Any, count: int) -> None:
    """``count`` plain ``jobs.create`` calls, from ``CONCURRENCY`` tasks sharing the inputs."""
    shared = inputs(count)

    async def worker() -> None:
        for params in shared:
            await client.jobs.create(**_DEFAULTS, **params)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def _batch(client: Any, count: int, state: str, batch_id: str) -> None:
    run = client.jobs.batch(
        inputs(count), defaults=_DEFAULTS, wait=False, state_file=state, batch_id=batch_id, concurrency=CONCURRENCY
    )
    summary = await run.wait()
    assert summary.counts["submitted"] == count, summary


async def compare_run(base_url: str, count: int, tmp: str, transport: str, reps: int, profile: bool) -> Dict[str, Any]:
    cpu: Dict[str, List[float]] = {"create": [], "batch": []}
    async with _client(base_url, transport) as client:
        await _create_loop(client, min(count, 2000))  # warm-up: imports, pools, caches
        await _batch(client, min(count, 2000), f"{tmp}/warm-{transport}.sqlite3", f"warm-{transport}")
        for rep in range(reps):
            start = time.process_time()
            await _create_loop(client, count)
            cpu["create"].append(time.process_time() - start)
            start = time.process_time()
            await _batch(client, count, f"{tmp}/{transport}-{rep}.sqlite3", f"cmp-{transport}-{rep}")
            cpu["batch"].append(time.process_time() - start)
        profiled = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            await _batch(client, count, f"{tmp}/{transport}-profile.sqlite3", f"profile-{transport}")
            profiler.disable()
            profiled = _by_module(profiler)
    create_us = sorted(cpu["create"])[len(cpu["create"]) // 2] / count * 1e6
    batch_us = sorted(cpu["batch"])[len(cpu["batch"]) // 2] / count * 1e6
    return {
        "transport": transport,
        "inputs": count,
        "create_us": [c / count * 1e6 for c in cpu["create"]],
        "batch_us": [c / count * 1e6 for c in cpu["batch"]],
        "ratio": batch_us / create_us,
        "ratios": [b / c for b, c in zip(cpu["batch"], cpu["create"], strict=True)],
        "profile": profiled,
    }


def _by_module(profiler: Any) -> List[str]:
    """The profiled run's self time per module (the SDK's own modules by name), most first."""
    import pstats
    from collections import defaultdict

    stats: Any = getattr(pstats.Stats(profiler), "stats")  # noqa: B009 (not in the type stubs)
    per_module: Dict[str, float] = defaultdict(float)
    for (filename, _line, _name), entry in stats.items():
        path = str(filename).replace("\\", "/")
        if "/src/microdc/" in path:
            module = "microdc/" + path.split("/src/microdc/", 1)[1]
        elif "/site-packages/" in path:
            module = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        else:
            module = "python" if path.startswith(os.path.dirname(os.__file__)) else path
        per_module[module] += entry[2]
    total = sum(per_module.values()) or 1.0
    ranked = sorted(per_module.items(), key=lambda item: -item[1])[:25]
    return [f"{seconds * 1e3:8.1f} ms {seconds / total:6.1%}  {module}" for module, seconds in ranked]


def versus_create(count: int, reps: int, timeout: float, profile: bool) -> None:
    rows: List[Dict[str, Any]] = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="batch-vs-create-") as tmp:
        for transport in ("httpx", "aiohttp"):
            process, port = _server()
            try:
                args = ["--compare", str(count), "--transport", transport, "--port", str(port), "--state", tmp]
                rows.append(_child([*args, "--reps", str(reps), *(["--profile"] if profile else [])], timeout))
            finally:
                stop_process(process)
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; now: {os.getloadavg()[0]:.2f}")
    print("| client | inputs | jobs.create CPU / call | jobs.batch CPU / input | batch ÷ create (each repetition) |")
    print("|---|---|---|---|---|")
    failed = False
    for row in rows:
        creates = "/".join(f"{v:.0f}" for v in row["create_us"])
        batches = "/".join(f"{v:.0f}" for v in row["batch_us"])
        ratios = ", ".join(f"{v:.2f}" for v in row["ratios"])
        name = "default (httpx)" if row["transport"] == "httpx" else "DefaultAioHttpClient"
        print(f"| {name} | {row['inputs']:,} | {creates} µs | {batches} µs | {row['ratio']:.2f}x ({ratios}) |")
        failed = failed or row["ratio"] > 1.5
        for line in row["profile"] or ():
            print(f"    {line}")
    print("target: batch <= 1.5 x create on both clients: " + ("MISS" if failed else "met"))
    sys.exit(1 if failed else 0)


# --- the harness ---------------------------------------------------------------------------


def _child(args: List[str], timeout: float) -> Dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.batch_scale", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"client run failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _stats(port: int) -> Dict[str, int]:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/__scale/stats").json()


def _server() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.batch_scale", "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if line[:1] != ["LISTENING"]:
        process.kill()
        raise SystemExit("the scale server did not start")
    return process, int(line[1])


def stop_process(process: subprocess.Popen[str]) -> None:
    """Stop a process this harness started (by PID: SIGTERM, then SIGKILL after 30 s)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _server_rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def harness(sizes: List[int], resume: Optional[int], timeout: float) -> None:
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="batch-scale-") as tmp:
        for count in sizes:
            process, port = _server()
            try:
                result = _child(
                    ["--client", str(count), "--port", str(port), "--state", f"{tmp}/s{count}.sqlite3"], timeout
                )
                stats = _stats(port)
                result["server_rss_mib"] = _server_rss_mib(process.pid)
            finally:
                stop_process(process)
            result.update(kind="full run", server=stats)
            rows.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
        if resume:
            process, port = _server()
            state = f"{tmp}/resume.sqlite3"
            try:
                first = _child(
                    ["--client", str(resume), "--port", str(port), "--state", state, "--cancel-at", str(resume // 2)],
                    timeout,
                )
                after_cancel = _stats(port)
                second = _child(["--client", str(resume), "--port", str(port), "--state", state], timeout)
                stats = _stats(port)
                second["server_rss_mib"] = _server_rss_mib(process.pid)
            finally:
                stop_process(process)
            second.update(kind="resumed", server=stats, first=first, after_cancel=after_cancel)
            rows.append(second)
            print(json.dumps(second), file=sys.stderr, flush=True)
    print(table(rows))
    base = next((r for r in rows if r["kind"] == "full run"), None)
    failed = False
    for row in rows:
        server = row["server"]
        if server["distinct_keys"] != row["inputs"] or server["jobs"] != row["inputs"]:
            print(
                f"FAIL: {row['inputs']} inputs, but {server['distinct_keys']} keys / {server['jobs']} jobs",
                file=sys.stderr,
            )
            failed = True
    if base is not None:
        for row in rows:
            ratio = row["cpu_per_input_us"] / base["cpu_per_input_us"]
            print(
                f"{row['kind']} {row['inputs']:,}: CPU/input {ratio:.2f}x the {base['inputs']:,}-input run",
                file=sys.stderr,
            )
    sys.exit(1 if failed else 0)


def table(rows: List[Dict[str, Any]]) -> str:
    lines = [
        "| run | inputs | wall | client CPU / input | longest event-loop stall (process CPU in it) "
        "| longest stall with the process busy | peak RSS (client) | state file | server: keys / jobs / replayed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        server = row["server"]
        lines.append(
            f"| {row['kind']} | {row['inputs']:,} | {row['wall_s']:.0f} s | {row['cpu_per_input_us']:.0f} µs | "
            f"{row['max_stall_ms']:.0f} ms ({row['max_stall_cpu_ms']:.0f} ms) | {row['max_busy_stall_ms']:.0f} ms | "
            f"{row['peak_rss_mib']:.0f} MiB | {row['state_mib']:.0f} MiB | "
            f"{server['distinct_keys']:,} / {server['jobs']:,} / {server['replayed']:,} |"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.batch_scale", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--resume", type=int, default=None, help="inputs of the resume run (default: the largest size)")
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds a client run may take")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--cancel-at", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--versus-create", type=int, metavar="N", help="batch vs plain jobs.create over N inputs")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each, with --versus-create")
    parser.add_argument("--profile", action="store_true", help="with --versus-create: profile one batch run")
    parser.add_argument("--compare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--transport", default="httpx", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve())
        return
    if args.versus_create is not None:
        versus_create(args.versus_create, args.reps, args.timeout, args.profile)
        return
    if args.compare is not None:
        base_url = f"http://127.0.0.1:{args.port}"
        result = asyncio.run(compare_run(base_url, args.compare, args.state, args.transport, args.reps, args.profile))
        print(json.dumps(result))
        return
    if args.client is not None:
        result = asyncio.run(client_run(f"http://127.0.0.1:{args.port}", args.client, args.state, args.cancel_at))
        result["state_mib"] = os.path.getsize(args.state) / 2**20
        print(json.dumps(result))
        return
    resume = None if args.no_resume else (args.resume or max(args.sizes))
    harness(args.sizes, resume, args.timeout)


if __name__ == "__main__":
    main()
