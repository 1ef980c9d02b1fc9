"""``GET /api/v1/jobs/{id}/events``: the event sequence, deltas, terminal events,
``Last-Event-ID`` resume, keep-alive comments and the end of the stream."""

from __future__ import annotations

import json
import asyncio
from typing import Any, Dict, List, Tuple, Optional

import httpx
import pytest

from microdc.testing import Faults, FakeMicroDC

from .conftest import submit, assert_error

Event = Tuple[str, str, Dict[str, Any]]


async def _read_events(
    http: httpx.AsyncClient,
    job_id: str,
    *,
    last_event_id: Optional[str] = None,
    stop_after: Optional[int] = None,
    comments: Optional[List[str]] = None,
    into: Optional[List[Event]] = None,
    timeout: float = 5.0,
) -> List[Event]:
    """The stream's events as ``(id, event, data)``, until it ends or ``stop_after`` events
    (also appended to ``into`` as they arrive, so a caller keeps them if the stream breaks)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    events: List[Event] = into if into is not None else []

    async def read() -> None:
        async with http.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-request-id"].startswith("req_")
            fields: Dict[str, str] = {}
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    if comments is not None:
                        comments.append(line)
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif fields:
                    events.append((fields["id"], fields["event"], json.loads(fields["data"])))
                    fields = {}
                    if stop_after is not None and len(events) >= stop_after:
                        return

    await asyncio.wait_for(read(), timeout)
    return events


async def _advance_until_done(fake: FakeMicroDC, job_id: str, step: float = 1.0, pause: float = 0.01) -> None:
    for _ in range(200):  # bounded: at most 200 steps
        await asyncio.sleep(pause)
        fake.advance(step)
        if fake.jobs[job_id]["status"] in ("completed", "failed", "cancelled"):
            return


async def test_a_finished_job_streams_its_whole_history_then_ends(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http)
    fake.advance(10)

    events = await _read_events(http, job["id"])

    assert [(event_id, name) for event_id, name, _ in events] == [
        ("1", "job.status"),
        ("2", "job.status"),
        ("3", "job.output.delta"),
        ("4", "job.output.delta"),
        ("5", "job.output.delta"),
        ("6", "job.output.delta"),
        ("7", "job.completed"),
    ]
    assert events[0][2] == {"id": job["id"], "status": "queued", "progress": 0.0}
    assert events[1][2] == {"id": job["id"], "status": "running", "progress": 0.0}
    deltas = "".join(data["delta"] for _, name, data in events if name == "job.output.delta")
    final = events[-1][2]
    assert final["object"] == "job"
    assert final["status"] == "completed"
    assert deltas == final["result"]["text"] == "echo: hello brave new world"


async def test_a_live_stream_follows_the_clock(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http, type="llm_embed", model="embed-1", texts=["x"], prompt=None)

    reader = asyncio.ensure_future(_read_events(http, job["id"]))
    await _advance_until_done(fake, job["id"])
    events = await reader

    assert [name for _, name, _ in events] == ["job.status", "job.status", "job.status", "job.completed"]
    assert [data.get("progress") for _, _, data in events[:3]] == [0.0, 0.0, 0.5]
    assert events[-1][2]["result"]["type"] == "llm_embed"


async def test_the_first_event_arrives_while_the_job_still_runs(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http)

    first = await _read_events(http, job["id"], stop_after=1)

    assert first == [("1", "job.status", {"id": job["id"], "status": "queued", "progress": 0.0})]
    assert fake.jobs[job["id"]]["status"] == "queued"


async def test_event_streams_tell_proxies_neither_to_buffer_nor_to_cache(http: httpx.AsyncClient) -> None:
    # Behind nginx's default proxy_buffering, a stream's deltas would otherwise arrive all at once at its end.
    job = await submit(http)
    headers = {"Accept-Encoding": "gzip"}
    async with http.stream("GET", f"/api/v1/jobs/{job['id']}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers  # never compressed: compressors buffer too


async def test_last_event_id_resumes_without_loss_or_repeat(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http, prompt="one two three four five six seven")
    fake.advance(10)
    full = await _read_events(http, job["id"])

    other = await submit(http, prompt="one two three four five six seven")
    fake.advance(5)
    start = await _read_events(http, other["id"], stop_after=3)
    resume_task = asyncio.ensure_future(_read_events(http, other["id"], last_event_id=start[-1][0]))
    await _advance_until_done(fake, other["id"])
    rest = await resume_task

    def shape(events: List[Event]) -> List[Tuple[str, str, Any]]:
        return [(i, name, data.get("delta", data.get("status"))) for i, name, data in events]

    assert shape(start + rest) == shape(full)
    assert [i for i, _, _ in start + rest] == [str(n) for n in range(1, len(full) + 1)]


async def test_resume_after_the_terminal_event_gets_an_empty_stream(
    local: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    job = await submit(local)
    fake.advance(10)

    assert await _read_events(local, job["id"], last_event_id="7") == []
    assert [i for i, _, _ in await _read_events(local, job["id"], last_event_id="5")] == ["6", "7"]


@pytest.mark.parametrize("value", ["abc", "-1"])
async def test_a_bad_last_event_id_is_400(local: httpx.AsyncClient, value: str) -> None:
    job = await submit(local)

    response = await local.get(f"/api/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": value})

    assert_error(response, 400, "invalid_parameter", "Last-Event-ID")


async def test_keep_alive_comments_while_nothing_happens(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http)
    fake.advance(2)
    comments: List[str] = []

    reader = asyncio.ensure_future(_read_events(http, job["id"], comments=comments))
    for _ in range(100):  # the fake sends one every 0.05 s; wait for three, at most 2 s
        if len(comments) >= 3:
            break
        await asyncio.sleep(0.02)
    fake.advance(8)
    events = await reader

    assert len(comments) >= 3
    assert set(comments) == {": keep-alive"}
    assert events[-1][1] == "job.completed"


async def test_a_cancel_ends_the_stream_with_job_cancelled(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http)
    fake.advance(5)

    reader = asyncio.ensure_future(_read_events(http, job["id"]))
    await asyncio.sleep(0.05)
    await http.delete(f"/api/v1/jobs/{job['id']}")
    events = await reader
    replay = await _read_events(http, job["id"])

    assert [name for _, name, _ in events] == ["job.status", "job.status", "job.output.delta", "job.cancelled"]
    assert events[-1][2]["status"] == "cancelled"
    assert [(i, name) for i, name, _ in replay] == [(i, name) for i, name, _ in events]


async def test_failed_jobs_end_with_job_failed(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(local, prompt="[fail]")
    fake.advance(10)

    events = await _read_events(local, job["id"])

    assert "job.output.delta" not in [name for _, name, _ in events]
    assert events[-1][1] == "job.failed"
    assert events[-1][2]["error"]["code"] == "model_error"


async def test_leaving_a_stream_early_cancels_the_server_side(local: httpx.AsyncClient) -> None:
    job = await submit(local)
    before = len(asyncio.all_tasks())

    for _ in range(5):
        assert len(await _read_events(local, job["id"], stop_after=1)) == 1
    await asyncio.sleep(0.01)

    assert len(asyncio.all_tasks()) == before


async def test_stream_drop_after_cuts_streams_and_last_event_id_recovers_every_event(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    job = await submit(http)
    fake.advance(10)
    full = await _read_events(http, job["id"])
    fake.faults = Faults(stream_drop_after=3, paths=["/api/v1/jobs/*/events"])

    collected: List[Event] = []
    cuts = 0
    for _ in range(10):  # 7 events, 3 per connection: 3 connections
        last = collected[-1][0] if collected else None
        try:
            await _read_events(http, job["id"], last_event_id=last, into=collected)
            break
        except (httpx.ReadError, httpx.RemoteProtocolError):
            cuts += 1

    assert cuts == 2
    assert [(i, name) for i, name, _ in collected] == [(i, name) for i, name, _ in full]
    assert await _read_events(http, job["id"], last_event_id="7") == []
