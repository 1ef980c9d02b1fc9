"""The fake gzips answers of 1 KiB or more when ``Accept-Encoding`` asks, and never event streams."""

from __future__ import annotations

import gzip
import json
import asyncio
from typing import Any, Dict, List, Tuple

import httpx

from microdc.testing import FakeMicroDC
from microdc.testing._app import GZIP_MINIMUM_BYTES

from .conftest import submit

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


async def _raw(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Tuple[httpx.Response, bytes]:
    """The answer and its body exactly as sent (not decoded)."""
    async with http.stream(method, url, **kwargs) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


async def test_a_large_page_is_gzipped_when_asked(http: httpx.AsyncClient) -> None:
    for _ in range(5):
        await submit(http)

    response, raw = await _raw(http, "GET", "/api/v1/jobs", headers=GZIP)
    _, plain = await _raw(http, "GET", "/api/v1/jobs", headers=IDENTITY)

    assert len(plain) >= GZIP_MINIMUM_BYTES
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["x-request-id"].startswith("req_")
    assert json.loads(gzip.decompress(raw)) == json.loads(plain)
    assert len(raw) < len(plain) / 2


async def test_nothing_is_compressed_unless_asked(local: httpx.AsyncClient) -> None:
    for _ in range(5):
        await submit(local)

    response, raw = await _raw(local, "GET", "/api/v1/jobs", headers=IDENTITY)

    assert "content-encoding" not in response.headers
    assert json.loads(raw)["object"] == "list"
    assert int(response.headers["content-length"]) == len(raw)


async def test_a_small_answer_stays_plain(local: httpx.AsyncClient) -> None:
    job = await submit(local)

    response, raw = await _raw(local, "GET", f"/api/v1/jobs/{job['id']}/status", headers=GZIP)

    assert len(raw) < GZIP_MINIMUM_BYTES
    assert "content-encoding" not in response.headers
    assert json.loads(raw)["id"] == job["id"]


async def test_an_idempotent_replay_is_encoded_for_the_repeat(local: httpx.AsyncClient) -> None:
    body = {"type": "llm_complete", "model": "echo-1", "prompt": "hi", "metadata": {"note": "x" * GZIP_MINIMUM_BYTES}}
    key = {"Idempotency-Key": "compression-replay"}

    first, first_raw = await _raw(local, "POST", "/api/v1/jobs/submit", json=body, headers={**GZIP, **key})
    again, again_raw = await _raw(local, "POST", "/api/v1/jobs/submit", json=body, headers={**IDENTITY, **key})

    assert first.status_code == again.status_code == 201
    assert first.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in again.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert json.loads(gzip.decompress(first_raw)) == json.loads(again_raw)


async def test_event_streams_are_never_compressed_and_still_stream(fake: FakeMicroDC) -> None:
    events: List[Dict[str, str]] = []
    async with (
        fake.serve() as base_url,
        httpx.AsyncClient(base_url=base_url, headers={"Authorization": "Bearer test-key", **GZIP}, timeout=10) as http,
    ):
        job = await submit(http, prompt="a long prompt " * 200)

        async def first_event() -> httpx.Headers:
            async with http.stream("GET", f"/api/v1/jobs/{job['id']}/events") as response:
                fields: Dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line and not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
                    elif not line and fields:
                        events.append(fields)
                        return response.headers
            raise AssertionError("the stream ended before its first event")

        # The job is far from done (the clock does not move): an event that arrives
        # now was sent on its own, not held back by a compressor.
        headers = await asyncio.wait_for(first_event(), 5.0)

    assert headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in headers
    assert events[0]["event"] == "job.status"
