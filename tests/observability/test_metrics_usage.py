"""``Metrics`` counts the usage of every terminal Job the SDK sees, once per job, wherever it was seen:
an answer, an event stream's terminal event, a list page (``as_completed``, the watcher, ``jobs.batch``).
Against microdc.testing over loopback, on both transports, in virtual time."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from hypothesis import given, strategies as st

from microdc.types import Job, JobUsage
from microdc.lib.hooks import JobInfo, RecentIds
from microdc.lib.metrics import Metrics, TokenUsage

from ._served import Served, served
from .._transports import transport

__all__ = ["transport"]  # the fixture, imported for pytest


def charged(s: Served) -> Dict[str, TokenUsage]:
    """What the fake charged, by model, over every job it ran."""
    by_model: Dict[str, TokenUsage] = {}
    for job in s.fake.jobs.values():
        tokens = by_model.setdefault(job["model"], {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            tokens[key] += job["usage"][key]
    return by_model


def cost(s: Served) -> Dict[str, float]:
    by_model: Dict[str, float] = {}
    for job in s.fake.jobs.values():
        by_model[job["model"]] = by_model.get(job["model"], 0.0) + job["usage"]["cost_usd"]
    return by_model


async def test_jobs_that_ended_on_an_event_stream_are_counted(transport: str) -> None:
    metrics = Metrics()
    async with served(transport, metrics) as s:
        await s.client.jobs.create_and_wait(type="llm_complete", model="echo-1", prompt="one")
        await s.client.jobs.ask("two", model="echo-1")
        conv = s.client.jobs.conversation("echo-1")
        await conv.send("three")
        async for _ in conv.stream("four"):
            pass
        ended_on_the_stream = sum(1 for r in s.fake.requests if r.path.endswith("/events"))

    assert ended_on_the_stream == 4  # each job ended on its event stream, none was fetched after
    snap = metrics.snapshot()
    assert snap["tokens_by_model"] == charged(s)
    assert snap["cost_usd_by_model"] == pytest.approx(cost(s))


async def test_jobs_seen_on_list_pages_are_counted_once(transport: str) -> None:
    metrics = Metrics()
    async with served(transport, metrics) as s:
        ids = [(await s.client.jobs.create(type="llm_complete", model="echo-1", prompt=f"p{i}")).id for i in range(3)]
        async for _ in s.client.jobs.as_completed(ids):
            pass
        async with s.client.jobs.watcher(poll_interval=0.5) as watcher:
            delivered: List[Job] = []
            for job_id in ids:  # watched again: already counted
                watcher.watch(job_id, delivered.append)
            await watcher.join()
        async for _ in s.client.jobs.list(ids=ids):
            pass

    assert len(delivered) == 3
    assert metrics.snapshot()["tokens_by_model"] == charged(s)


async def test_a_batchs_jobs_are_counted(transport: str) -> None:
    metrics = Metrics()
    async with served(transport, metrics) as s:
        inputs: List[Dict[str, Any]] = [
            {"type": "llm_complete", "model": "echo-1", "prompt": f"b{i}"} for i in range(5)
        ]
        summary = await s.client.jobs.batch(inputs, poll_interval=0.5).wait()

    assert summary.counts["completed"] == 5
    assert metrics.snapshot()["tokens_by_model"] == charged(s)
    assert metrics.snapshot()["cost_usd_by_model"] == pytest.approx(cost(s))


def test_a_job_counted_by_one_client_is_not_counted_again_by_another() -> None:
    job = Job.model_construct(
        id="job_1",
        object="job",
        type="llm_complete",
        model="echo-1",
        status="completed",
        usage=JobUsage(input_tokens=2, output_tokens=3, total_tokens=5, cost_usd=0.5),
    )
    metrics = Metrics()
    metrics.on_job(JobInfo(job, "answer"))
    metrics.on_job(JobInfo(job, "list"))
    assert metrics.snapshot()["tokens_by_model"] == {
        "echo-1": {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}
    }


@given(st.lists(st.integers(min_value=0, max_value=30), max_size=200), st.integers(min_value=1, max_value=10))
def test_recent_ids_remember_the_last_ones_and_no_more(keys: List[int], size: int) -> None:
    seen = RecentIds(size)
    remembered: List[str] = []  # a model: most recently added last
    for key in map(str, keys):
        assert seen.add(key) is (key not in remembered)
        if key in remembered:
            remembered.remove(key)
        remembered.append(key)
        del remembered[:-size]
        assert len(seen) == len(remembered) <= size
        assert all(k in seen for k in remembered)
