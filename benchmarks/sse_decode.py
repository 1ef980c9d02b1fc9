"""Decoding one large event-stream event: the SDK's decoder and ``AsyncStream`` next to ``json.loads``.

::

    uv run python -m benchmarks.sse_decode                  # 1, 8 and 32 MiB, 5 repetitions
    uv run python -m benchmarks.sse_decode --sizes 1,4 --reps 3
    uv run python -m benchmarks.sse_decode --figures        # also rewrite benchmarks/figures/sse_decode.json

A terminal ``job.completed`` event carries the whole Job, so waiting on a large
embeddings or document job means one event of many MiB. This builds one such event
per size and kind of result (``embeddings``: an ``llm_embed`` Job, float lists;
``text``: a ``document`` Job, one long string), cuts it into 64 KiB chunks as a
socket would deliver it, and times on the process's CPU clock, in one process:

* **json.loads** of the event's data (the bytes a parser has to read anyway);
* **decoder**: ``SSEDecoder.feed`` over the chunks, to the one ``ServerSentEvent``;
* **AsyncStream**: the whole item, ``AsyncStream[JobEvent]`` over an ``httpx.Response``
  streaming the chunks, to the parsed ``JobTerminalEvent`` with its ``Job`` (decoding,
  JSON parsing and model building included).

Repetitions interleave the three; cells are medians, and each ratio is the median of
per-repetition ratios to ``json.loads``. Targets (PRODUCT.md section 3): decoder and
AsyncStream item within 2x ``json.loads`` at every size, and growing linearly: their
ratio to ``json.loads`` at the largest size at most 2x the ratio at the smallest (a
decoder that re-joins the partial line per chunk multiplies it by the size ratio,
32x here). CPU per MiB is shown too; past about 32 MiB every allocation is a fresh
``mmap`` (glibc's threshold), so each MiB costs a little more for ``json.loads`` as
well. Nothing touches the network.

``--figures`` writes the run to ``benchmarks/figures/sse_decode.json``, which the
documentation's Performance page draws (``benchmarks/report.py``); the file's
``before`` entry, the decoder this one replaced (which no run of this code can
measure), is kept as it is.
"""

from __future__ import annotations

import gc
import os
import json
import time
import asyncio
import argparse
import statistics
from typing import Any, Dict, List, Callable, AsyncIterator
from pathlib import Path
from dataclasses import asdict, dataclass

import httpx

from microdc import AsyncStream
from microdc._sse import SSEDecoder
from microdc.types import JobEvent, JobTerminalEvent

from .payloads import job

MIB = 1024 * 1024
CHUNK = 64 * 1024
FIGURES = Path(__file__).resolve().parent / "figures" / "sse_decode.json"
KINDS = ("embeddings", "text")
TARGET_RATIO = 2.0
TARGET_GROWTH = 2.0
"""How much the ratio to json.loads may grow from the smallest to the largest size."""


def result_job(kind: str, size: int) -> Dict[str, Any]:
    """A completed Job whose JSON is about ``size`` bytes, mostly its result."""
    base = job("job_01JD7Q3M8ZK4X2N6V9B5T1R0AC")
    if kind == "text":
        base.update(type="document", model="doc-1")
        base["result"] = {"type": "document", "text": "", "page_count": 1}
        filler = size - len(json.dumps(base))
        line = "The quick brown fox jumps over the lazy dog, page after page. "
        base["result"]["text"] = (line * (filler // len(line) + 1))[: max(filler, 0)]
        return base
    base.update(type="llm_embed", model="embed-1")
    row = [round(0.001 * ((i * 7919) % 2000) - 1.0, 6) for i in range(256)]
    row_bytes = len(json.dumps(row)) + 2
    rows = max(1, (size - len(json.dumps(base))) // row_bytes)
    base["result"] = {"type": "llm_embed", "embeddings": [row] * rows, "dimensions": len(row)}
    return base


def event_chunks(data: bytes) -> List[bytes]:
    event = b"id: 42\nevent: job.completed\ndata: " + data + b"\n\n"
    return [event[i : i + CHUNK] for i in range(0, len(event), CHUNK)]


def time_json(data: bytes) -> float:
    start = time.process_time()
    value = json.loads(data)
    elapsed = time.process_time() - start
    del value
    return elapsed


def time_decoder(chunks: List[bytes]) -> float:
    start = time.process_time()
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    elapsed = time.process_time() - start
    if [event.event for event in events] != ["job.completed"]:
        raise SystemExit(f"benchmarks.sse_decode: the decoder gave {events!r:.200}")
    return elapsed


async def _items(chunks: List[bytes]) -> List[JobEvent]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    request = httpx.Request("GET", "http://127.0.0.1/api/v1/jobs/job_1/events")
    response = httpx.Response(200, content=body(), request=request)
    stream: AsyncStream[JobEvent] = AsyncStream(cast_to=JobEvent, response=response)  # type: ignore[arg-type]
    return [item async for item in stream]


def time_stream(chunks: List[bytes], loop: asyncio.AbstractEventLoop) -> float:
    start = time.process_time()
    items = loop.run_until_complete(_items(chunks))
    elapsed = time.process_time() - start
    if len(items) != 1 or not isinstance(items[0], JobTerminalEvent) or items[0].data.status != "completed":
        raise SystemExit(f"benchmarks.sse_decode: AsyncStream gave {items!r:.200}")
    return elapsed


@dataclass
class Row:
    kind: str
    mib: int
    data_bytes: int
    json_ms: float
    decoder_ms: float
    stream_ms: float
    decoder_ratio: float
    stream_ratio: float


def measure(kind: str, mib: int, reps: int, loop: asyncio.AbstractEventLoop) -> Row:
    data = json.dumps(result_job(kind, mib * MIB), separators=(",", ":")).encode()
    chunks = event_chunks(data)
    timers: Dict[str, Callable[[], float]] = {
        "json": lambda: time_json(data),
        "decoder": lambda: time_decoder(chunks),
        "stream": lambda: time_stream(chunks, loop),
    }
    for timer in timers.values():  # warm-up: validators built, allocator primed
        timer()
    runs: Dict[str, List[float]] = {name: [] for name in timers}
    for _ in range(reps):
        for name, timer in timers.items():
            gc.collect()
            runs[name].append(timer())
    json_runs = runs["json"]
    return Row(
        kind=kind,
        mib=mib,
        data_bytes=len(data),
        json_ms=statistics.median(json_runs) * 1e3,
        decoder_ms=statistics.median(runs["decoder"]) * 1e3,
        stream_ms=statistics.median(runs["stream"]) * 1e3,
        decoder_ratio=statistics.median(d / j for d, j in zip(runs["decoder"], json_runs, strict=True)),
        stream_ratio=statistics.median(s / j for s, j in zip(runs["stream"], json_runs, strict=True)),
    )


def report(rows: List[Row]) -> List[str]:
    lines = [
        "| result | event | json.loads | decoder | AsyncStream item | decoder / json | item / json |"
        " ms per MiB (json, decoder, item) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_mib = ", ".join(f"{ms / r.mib:.2f}" for ms in (r.json_ms, r.decoder_ms, r.stream_ms))
        lines.append(
            f"| {r.kind} | {r.mib} MiB ({r.data_bytes:,} B) | {r.json_ms:.1f} ms | {r.decoder_ms:.1f} ms | "
            f"{r.stream_ms:.1f} ms | {r.decoder_ratio:.2f}x | {r.stream_ratio:.2f}x | {per_mib} |"
        )
    lines.append("")
    failures = 0
    for kind in sorted({r.kind for r in rows}):
        mine = sorted((r for r in rows if r.kind == kind), key=lambda r: r.mib)
        for r in mine:
            for label, ratio in (("decoder", r.decoder_ratio), ("AsyncStream item", r.stream_ratio)):
                ok = ratio <= TARGET_RATIO
                failures += not ok
                lines.append(
                    f"{'pass' if ok else 'MISS'}: {kind} {r.mib} MiB {label} {ratio:.2f}x json.loads"
                    f" (target <= {TARGET_RATIO:.1f}x)"
                )
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            for label, attr in (("decoder", "decoder_ratio"), ("AsyncStream item", "stream_ratio")):
                growth = getattr(large, attr) / getattr(small, attr)
                ok = growth <= TARGET_GROWTH
                failures += not ok
                lines.append(
                    f"{'pass' if ok else 'MISS'}: {kind} {label} / json.loads at {large.mib} MiB is {growth:.2f}x"
                    f" that at {small.mib} MiB (target <= {TARGET_GROWTH:.1f}x: linear)"
                )
    lines.append(f"{failures} target(s) missed" if failures else "every target met")
    return lines


def write_figures(rows: List[Row], *, reps: int, command: str, load: Dict[str, List[float]]) -> None:
    """Rewrite ``figures/sse_decode.json`` from this run, keeping its ``before`` entry."""
    from .report import run_meta

    before: List[Dict[str, Any]] = []
    if FIGURES.exists():
        before = json.loads(FIGURES.read_text(encoding="utf-8")).get("before", [])
    figures = {
        "source": f"uv run python -m benchmarks.sse_decode --figures ({command})",
        "meta": {**run_meta(command, reps, (load["start"][0], load["end"][0])), "chunk_kib": CHUNK // 1024},
        "rows": [
            {key: round(value, 2) if isinstance(value, float) else value for key, value in asdict(row).items()}
            for row in rows
        ],
        "before": before,
    }
    FIGURES.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {FIGURES.relative_to(FIGURES.parents[2])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1,8,32", help="event sizes in MiB, comma-separated")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"results to build: {', '.join(KINDS)}")
    parser.add_argument("--figures", action="store_true", help="also rewrite benchmarks/figures/sse_decode.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown --kinds {unknown}; choose from {', '.join(KINDS)}")
    load_start = os.getloadavg()
    loop = asyncio.new_event_loop()
    try:
        rows = [measure(kind, mib, args.reps, loop) for kind in kinds for mib in sizes]
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())  # the chunk generators httpx leaves open
        loop.close()
    print("\n".join(report(rows)))
    if args.figures:
        command = f"--sizes {args.sizes} --reps {args.reps} --kinds {','.join(kinds)}"
        write_figures(
            rows, reps=args.reps, command=command, load={"start": list(load_start), "end": list(os.getloadavg())}
        )


if __name__ == "__main__":
    main()
