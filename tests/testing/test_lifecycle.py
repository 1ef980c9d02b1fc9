"""A job's life on the clock: states, progress, timestamps, usage and results of
each model, timeouts, forced failures and job durations."""

from __future__ import annotations

import math
import asyncio
from typing import Any, Dict, List

import httpx
import pytest

from microdc.testing import FakeMicroDC, ManualClock, MonotonicClock

from .conftest import submit

HELLO = "hello brave new world"


async def _job(http: httpx.AsyncClient, job_id: str) -> Dict[str, Any]:
    body: Dict[str, Any] = (await http.get(f"/api/v1/jobs/{job_id}")).json()
    return body


async def test_queued_then_running_then_completed_on_the_manual_clock(
    local: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    job = await submit(local)
    seen: List[Any] = []
    for step in (1.9, 0.1, 4.0, 3.9, 0.1, 50.0):
        fake.advance(step)
        now = await _job(local, job["id"])
        seen.append((now["status"], now["progress"]))

    assert seen == [
        ("queued", 0.0),
        ("running", 0.0),
        ("running", 0.5),
        ("running", 0.9875),
        ("completed", 1.0),
        ("completed", 1.0),
    ]
    done = await _job(local, job["id"])
    assert done["started_at"] == "2025-01-01T00:00:02.000Z"
    assert done["completed_at"] == "2025-01-01T00:00:10.000Z"
    assert done["error"] is None
    assert done["result"] == {"type": "llm_complete", "text": f"echo: {HELLO}", "finish_reason": "stop"}
    # 4 words in, 5 out; echo-1 costs $0.5 / $1.5 per million tokens.
    assert done["usage"] == {
        "input_tokens": 4,
        "output_tokens": 5,
        "total_tokens": 9,
        "cost_usd": pytest.approx((4 * 0.5 + 5 * 1.5) / 1e6),
    }


async def test_chat_answers_the_last_user_message(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]
    job = await submit(local, type="llm_chat", messages=messages, prompt=None)
    fake.advance(10)

    done = await _job(local, job["id"])

    assert done["result"] == {
        "type": "llm_chat",
        "message": {"role": "assistant", "content": "echo: second question"},
        "finish_reason": "stop",
    }
    assert done["usage"]["input_tokens"] == 8


async def test_max_tokens_cuts_the_answer_with_finish_reason_length(
    local: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    job = await submit(local, max_tokens=2)
    fake.advance(10)

    done = await _job(local, job["id"])

    assert done["result"] == {"type": "llm_complete", "text": "echo: hello", "finish_reason": "length"}
    assert done["usage"]["output_tokens"] == 2


async def test_embeddings_are_deterministic_and_normalized_when_asked(
    local: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    texts = ["alpha", "beta", "alpha"]
    normalized = await submit(local, type="llm_embed", model="embed-1", texts=texts, prompt=None)
    raw = await submit(local, type="llm_embed", model="embed-1", texts=texts, normalize=False, prompt=None)
    fake.advance(10)

    unit = (await _job(local, normalized["id"]))["result"]
    plain = (await _job(local, raw["id"]))["result"]

    assert unit["type"] == "llm_embed"
    assert unit["dimensions"] == plain["dimensions"] == 8
    assert len(unit["embeddings"]) == 3
    assert all(len(vector) == 8 for vector in unit["embeddings"])
    assert unit["embeddings"][0] == unit["embeddings"][2] != unit["embeddings"][1]
    for vector in unit["embeddings"]:
        assert math.sqrt(sum(v * v for v in vector)) == pytest.approx(1.0)
    assert plain["embeddings"][0] != unit["embeddings"][0]
    assert all(-1.0 <= v <= 1.0 for v in plain["embeddings"][0])
    norm = math.sqrt(sum(v * v for v in plain["embeddings"][0]))
    assert [v / norm for v in plain["embeddings"][0]] == pytest.approx(unit["embeddings"][0])


async def test_a_timeout_shorter_than_the_job_fails_it(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(local, timeout_seconds=5)
    fake.advance(4.9)
    assert (await _job(local, job["id"]))["status"] == "running"
    fake.advance(0.1)

    failed = await _job(local, job["id"])

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "timeout"
    assert failed["completed_at"] == "2025-01-01T00:00:05.000Z"
    assert failed["result"] is None
    assert failed["progress"] == 0.375
    assert failed["usage"]["output_tokens"] == 0


async def test_fail_marker_fails_the_job_with_model_error(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(local, prompt="please [fail] now")
    fake.advance(9)
    assert (await _job(local, job["id"]))["status"] == "running"
    fake.advance(1)

    failed = await _job(local, job["id"])

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "model_error"
    assert "[fail]" in failed["error"]["message"]
    assert failed["result"] is None


async def test_job_duration_per_model_and_as_a_function(clock: ManualClock) -> None:
    durations = {"echo-1": 4.0, "*": 20.0}
    fake = FakeMicroDC(job_duration=durations, clock=clock)
    async with fake.http_client() as http:
        echo = await submit(http)
        embed = await submit(http, type="llm_embed", model="embed-1", texts=["x"], prompt=None)
        fake.job_duration = lambda body: 7.0 if body["priority"] == "high" else 1.0
        high = await submit(http, priority="high")
        low = await submit(http, priority="low")
        fake.advance(4)
        states = {
            name: (await _job(http, job["id"]))["status"]
            for name, job in [("echo", echo), ("embed", embed), ("high", high), ("low", low)]
        }

    assert states == {"echo": "completed", "embed": "running", "high": "running", "low": "completed"}


async def test_zero_duration_jobs_finish_at_once_but_are_answered_queued(clock: ManualClock) -> None:
    fake = FakeMicroDC(job_duration=0, clock=clock)
    async with fake.http_client() as http:
        answer = await submit(http)
        now = await _job(http, answer["id"])

    assert answer["status"] == "queued"
    assert now["status"] == "completed"
    assert now["started_at"] == now["completed_at"] == now["created_at"]


async def test_real_clock_by_default_and_advance_needs_a_manual_clock() -> None:
    fake = FakeMicroDC(job_duration=0.05)
    assert isinstance(fake.clock, MonotonicClock)
    with pytest.raises(TypeError, match="ManualClock"):
        fake.advance(1)
    async with fake.http_client() as http:
        job = await submit(http)
        for _ in range(100):  # at most ~1 s
            if (await _job(http, job["id"]))["status"] == "completed":
                break
            await asyncio.sleep(0.01)
        done = await _job(http, job["id"])

    assert done["status"] == "completed"
    assert done["created_at"] < done["completed_at"]


def test_manual_clock_refuses_to_go_back() -> None:
    clock = ManualClock(start=5)
    with pytest.raises(ValueError, match="back"):
        clock.advance(-1)
    clock.advance(2.5)
    assert clock.now() == 7.5
