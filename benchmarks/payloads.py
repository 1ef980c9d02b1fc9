"""Realistic MicroDC response bodies (PRODUCT.md section 1), built once as bytes.

Deterministic: the same process always serves the same bytes, so every client
variant parses exactly the same input.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

LIST_SIZE = 10_000
JOB_ID = "job_01JD7Q3M8ZK4X2N6V9B5T1R0AC"
CREATED = "2025-11-20T09:14:03.512Z"
STARTED = "2025-11-20T09:14:03.871Z"
COMPLETED = "2025-11-20T09:14:06.205Z"

_ANSWER = (
    "Queued jobs are picked up in priority order. Each job runs on a worker that streams "
    "tokens back as output deltas; when the model finishes, the job moves to completed, "
    "records its token usage and cost, and keeps the final message as its result until "
    "you acknowledge it. Failed jobs carry an error code and message instead."
)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def job(
    job_id: str = JOB_ID,
    *,
    kind: str = "llm_chat",
    status: str = "completed",
    index: int = 0,
) -> Dict[str, Any]:
    """A Job as the API answers it; ``status`` decides which fields are set."""
    terminal = status in ("completed", "failed", "cancelled")
    usage: Optional[Dict[str, Any]] = None
    result: Optional[Dict[str, Any]] = None
    error: Optional[Dict[str, Any]] = None
    if terminal:
        inp, out = 37 + index % 50, 112 + index % 90
        usage = {
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "cost_usd": round((inp * 0.15 + out * 0.6) / 1_000_000, 8),
        }
    if status == "completed":
        if kind == "llm_chat":
            result = {"type": kind, "message": {"role": "assistant", "content": _ANSWER}, "finish_reason": "stop"}
        else:
            text = _ANSWER[: 120 + index % 80]
            result = {"type": kind, "text": text, "finish_reason": "length" if index % 7 == 0 else "stop"}
    elif status == "failed":
        error = {"code": "timeout", "message": "The job ran past its timeout_seconds (300)."}
    return {
        "id": job_id,
        "object": "job",
        "type": kind,
        "model": "echo-1",
        "status": status,
        "priority": ("normal", "high", "low")[index % 3],
        "metadata": {"customer": "acme-corp", "pipeline": "support-triage", "batch": f"b{index // 100:04d}"},
        "timeout_seconds": 300,
        "progress": 1.0 if terminal else (0.0 if status == "queued" else 0.42),
        "created_at": CREATED,
        "started_at": None if status == "queued" else STARTED,
        "completed_at": COMPLETED if terminal else None,
        "acknowledged": False,
        "acknowledged_at": None,
        "usage": usage,
        "error": error,
        "result": result,
    }


def completed_job_bytes() -> bytes:
    """``GET /api/v1/jobs/{id}``: a completed llm_chat job."""
    return dumps(job())


def queued_job_bytes() -> bytes:
    """``POST /api/v1/jobs/submit``: the 201 answer, a queued llm_chat job."""
    return dumps(job("job_01JD7Q3N2B7Y5W0C4E8H6K9MPQ", status="queued"))


def list_jobs(count: int = LIST_SIZE) -> List[Dict[str, Any]]:
    """The jobs ``GET /api/v1/jobs`` pages over, newest first: a realistic mix of
    completed chat/complete jobs, running and failed ones."""
    out: List[Dict[str, Any]] = []
    for i in range(count):
        slot = i % 10
        kind = "llm_complete" if slot in (3, 7) else "llm_chat"
        status = "running" if slot == 5 else "failed" if slot == 9 else "completed"
        out.append(job(f"job_{count - i:026d}", kind=kind, status=status, index=i))
    return out


def page_bytes(data: List[Dict[str, Any]], has_more: bool) -> bytes:
    cursor = data[-1]["id"] if has_more and data else None
    return dumps({"object": "list", "data": data, "has_more": has_more, "next_cursor": cursor})


def sse_body_chunks(job_id: str, events: int) -> List[bytes]:
    """The SSE events of a job: ``events`` output deltas then ``job.completed``."""
    chunks: List[bytes] = []
    words = _ANSWER.split(" ")
    for i in range(events):
        data = dumps({"id": job_id, "delta": words[i % len(words)] + " "})
        chunks.append(b"id: %d\nevent: job.output.delta\ndata: %s\n\n" % (i + 1, data))
    final = dumps(job(job_id))
    chunks.append(b"id: %d\nevent: job.completed\ndata: %s\n\n" % (events + 1, final))
    return chunks
