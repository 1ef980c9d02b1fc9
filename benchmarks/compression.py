"""Compression on loopback: what gzip saves in bytes and costs the client in CPU per answer.

::

    uv run python -m benchmarks.compression                 # 300 requests per answer and encoding
    uv run python -m benchmarks.compression --requests 1000 --reps 5
    uv run python -m benchmarks.compression --figures       # also rewrite benchmarks/figures/compression.json

The server is ``python -m microdc.testing`` in a child process on 127.0.0.1 and a
free port (started and stopped by PID), so its compression work never counts as the
client's. It holds 100 completed jobs and one completed ``llm_embed`` job of 512
texts. Two answers are fetched with a plain ``httpx.AsyncClient`` (the SDK's default
transport), once with ``Accept-Encoding: identity`` and once with ``gzip``:

* **page** — ``GET /api/v1/jobs?limit=100``, a page of 100 jobs;
* **embeddings** — ``GET /api/v1/jobs/{id}`` of the embed job.

For each, it prints the bytes on the wire, the client's CPU per request (process
time around the loop: reading, decoding and ``json.loads``), wall time per request,
and the pure decode cost (``zlib`` on the same body, timed on its own). Repetitions
alternate the encodings; cells are medians. The CPU a request costs the client with
gzip minus without is what decoding costs on loopback, where bytes are free; over a
real network the bytes saved are what it buys.

``--figures`` writes the run to ``benchmarks/figures/compression.json``, which the
documentation's Performance page draws (``benchmarks/report.py``).
"""

from __future__ import annotations

import os
import sys
import json
import time
import zlib
import asyncio
import argparse
import statistics
import subprocess
from typing import Dict, List, Tuple, Optional
from pathlib import Path
from dataclasses import asdict, dataclass

import httpx

API_KEY = "bench"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
ENCODINGS = ("identity", "gzip")
FIGURES = Path(__file__).resolve().parent / "figures" / "compression.json"


@dataclass
class Sample:
    wire_bytes: int
    body_bytes: int
    cpu_us: float
    wall_us: float


def start_server() -> Tuple[subprocess.Popen[str], str]:
    """``python -m microdc.testing`` on a free port; its base URL from its first line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "microdc.testing", "--port", "0", "--api-key", API_KEY, "--job-duration", "0.01"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        stop_server(process)
        raise SystemExit(f"benchmarks.compression: the fake did not start (said {line!r})")
    return process, line


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def seed(http: httpx.AsyncClient) -> str:
    """100 finished chat jobs and one finished embed job (its id returned)."""
    for n in range(100):
        body = {
            "type": "llm_chat",
            "model": "echo-1",
            "messages": [{"role": "user", "content": f"Say something about item {n}."}],
            "metadata": {"batch": "compression", "n": str(n)},
        }
        (await http.post("/api/v1/jobs/submit", json=body)).raise_for_status()
    texts = [f"text number {n} to embed" for n in range(512)]
    embed = await http.post("/api/v1/jobs/submit", json={"type": "llm_embed", "model": "embed-1", "texts": texts})
    embed.raise_for_status()
    job_id: str = embed.json()["id"]
    for _ in range(500):  # bounded: the jobs take 10 ms each on the fake's clock
        if (await http.get(f"/api/v1/jobs/{job_id}/status")).json()["status"] == "completed":
            return job_id
        await asyncio.sleep(0.01)
    raise SystemExit("benchmarks.compression: the embed job did not finish")


async def measure(http: httpx.AsyncClient, url: str, encoding: str, requests: int) -> Sample:
    headers = {"Accept-Encoding": encoding}
    for _ in range(20):  # warm-up
        (await http.get(url, headers=headers)).json()
    wire = body = 0
    encoded = ""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        response = await http.get(url, headers=headers)
        response.json()
        wire, body = response.num_bytes_downloaded, len(response.content)
        encoded = response.headers.get("content-encoding", "")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if encoding == "gzip" and encoded != "gzip":
        raise SystemExit(f"benchmarks.compression: {url} came back uncompressed")
    return Sample(wire, body, cpu / requests * 1e6, wall / requests * 1e6)


@dataclass(frozen=True)
class Row:
    """One answer's medians, without and with gzip."""

    answer: str
    wire_bytes_identity: int
    wire_bytes_gzip: int
    cpu_us_identity: float
    cpu_us_gzip: float
    zlib_us: float
    """What ``zlib`` alone takes to decode the body once."""
    wall_us_identity: float
    wall_us_gzip: float


def decode_us(http_body: bytes, repeat: int = 200) -> float:
    """Microseconds ``zlib`` takes to gunzip ``http_body`` once (median of a few runs)."""
    compressed = zlib.compress(http_body, 6)
    runs: List[float] = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(repeat):
            zlib.decompress(compressed)
        runs.append((time.process_time() - start) / repeat * 1e6)
    return statistics.median(runs)


async def run(requests: int, reps: int) -> List[Row]:
    process, base_url = start_server()
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=30) as http:
            embed_id = await seed(http)
            answers = {"page of 100 jobs": "/api/v1/jobs?limit=100", "embeddings (512 x 8)": f"/api/v1/jobs/{embed_id}"}
            samples: Dict[Tuple[str, str], List[Sample]] = {}
            for _ in range(reps):
                for name, url in answers.items():
                    for encoding in ENCODINGS:
                        sample = await measure(http, url, encoding, requests)
                        samples.setdefault((name, encoding), []).append(sample)
            bodies = {
                name: (await http.get(url, headers={"Accept-Encoding": "identity"})).content
                for name, url in answers.items()
            }
    finally:
        stop_server(process)
    return [_row(name, body, samples) for name, body in bodies.items()]


def _row(name: str, body: bytes, samples: Dict[Tuple[str, str], List[Sample]]) -> Row:
    def median(encoding: str, field: str) -> float:
        return statistics.median(float(getattr(s, field)) for s in samples[(name, encoding)])

    return Row(
        answer=name,
        wire_bytes_identity=round(median("identity", "wire_bytes")),
        wire_bytes_gzip=round(median("gzip", "wire_bytes")),
        cpu_us_identity=median("identity", "cpu_us"),
        cpu_us_gzip=median("gzip", "cpu_us"),
        zlib_us=decode_us(body),
        wall_us_identity=median("identity", "wall_us"),
        wall_us_gzip=median("gzip", "wall_us"),
    )


def report(rows: List[Row], requests: int, reps: int) -> str:
    lines = [
        f"{requests} requests per cell, {reps} repetitions (medians); client: httpx {httpx.__version__}, "
        f"Python {sys.version.split()[0]}",
        "",
        "| answer | wire bytes identity → gzip | client CPU µs/req identity → gzip | decode µs (zlib) | wall µs/req identity → gzip |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        plain, packed = r.wire_bytes_identity, r.wire_bytes_gzip
        lines.append(
            f"| {r.answer} | {plain:,.0f} → {packed:,.0f} ({packed / plain:.0%}) "
            f"| {r.cpu_us_identity:,.0f} → {r.cpu_us_gzip:,.0f} ({r.cpu_us_gzip - r.cpu_us_identity:+,.0f}) "
            f"| {r.zlib_us:,.0f} | {r.wall_us_identity:,.0f} → {r.wall_us_gzip:,.0f} |"
        )
    return "\n".join(lines)


def write_figures(rows: List[Row], *, requests: int, reps: int, command: str, load: Tuple[float, float]) -> None:
    """Rewrite ``figures/compression.json`` (what the Performance page draws) from this run."""
    from .report import run_meta

    figures = {
        "source": f"uv run python -m benchmarks.compression --figures ({command})",
        "meta": {**run_meta(command, reps, load), "requests": requests, "client": f"httpx {httpx.__version__}"},
        "rows": [
            {key: round(value) if isinstance(value, float) else value for key, value in asdict(row).items()}
            for row in rows
        ],
    }
    FIGURES.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {FIGURES.relative_to(FIGURES.parents[2])}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compression", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=300, help="requests per answer, encoding and repetition")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (encodings alternate)")
    parser.add_argument("--figures", action="store_true", help="also rewrite benchmarks/figures/compression.json")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    rows = asyncio.run(run(args.requests, args.reps))
    print(report(rows, args.requests, args.reps))
    if args.figures:
        command = f"--requests {args.requests} --reps {args.reps}"
        write_figures(
            rows, requests=args.requests, reps=args.reps, command=command, load=(load_start, os.getloadavg()[0])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
