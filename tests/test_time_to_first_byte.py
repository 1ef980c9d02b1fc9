"""Time to first byte per attempt: on ``ResponseInfo`` and in ``Metrics``, over a real loopback connection.

The server sends the headers, then holds the body until the client has seen them;
meanwhile the test moves the SDK's virtual clock one second forward. So the time to
first byte is below one second and the latency above it, without sleeping.
"""

from __future__ import annotations

import json
import asyncio
from typing import List, AsyncIterator

import httpx
import pytest

from microdc import AsyncMicroDC
from microdc._clock import InstantClock
from microdc.lib.hooks import Hooks, ResponseInfo
from microdc.lib.retry import disable_retry_delays
from microdc.lib.metrics import Metrics

from .conftest import API_KEY
from .reliability._raw_server import RawServer, RawRequest

BODY = json.dumps({"id": "job_1", "object": "job"}).encode()
HEAD = (
    f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: req_1\r\ncontent-length: {len(BODY)}\r\n\r\n"
).encode()


class SlowBody:
    """A server answer (headers now, body once released) and the httpx hook that releases it."""

    def __init__(self, clock: InstantClock) -> None:
        self.clock = clock
        self.headers_seen = asyncio.Event()

    async def answer(self, _request: RawRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(HEAD)
        await writer.drain()
        await asyncio.wait_for(self.headers_seen.wait(), timeout=10)
        writer.write(BODY)
        await writer.drain()
        return True

    async def on_headers(self, _response: httpx.Response) -> None:
        await self.clock.sleep(1.0)  # virtual: moves the SDK clock one second on
        self.headers_seen.set()


@pytest.fixture
async def slow() -> AsyncIterator[tuple[SlowBody, str]]:
    with disable_retry_delays() as clock:
        slow = SlowBody(clock)
        async with RawServer(slow.answer) as server:
            yield slow, server.url


async def test_response_info_has_time_to_first_byte_before_the_body(slow: tuple[SlowBody, str]) -> None:
    body, url = slow
    infos: List[ResponseInfo] = []
    async with (
        httpx.AsyncClient(event_hooks={"response": [body.on_headers]}) as http,
        AsyncMicroDC(api_key=API_KEY, base_url=url, http_client=http, hooks=Hooks(on_response=infos.append)) as client,
    ):
        await client.get("/api/v1/jobs/job_1", cast_to=object)
    (info,) = infos
    assert info.time_to_first_byte is not None
    assert 0 <= info.time_to_first_byte < 1.0 <= info.elapsed


async def test_metrics_records_time_to_first_byte(slow: tuple[SlowBody, str]) -> None:
    body, url = slow
    metrics = Metrics()
    async with (
        httpx.AsyncClient(event_hooks={"response": [body.on_headers]}) as http,
        AsyncMicroDC(api_key=API_KEY, base_url=url, http_client=http, hooks=metrics) as client,
    ):
        await client.get("/api/v1/jobs/job_1", cast_to=object)
    snap = metrics.snapshot()
    ttfb, latency = snap["time_to_first_byte"], snap["latency"]
    assert ttfb["count"] == latency["count"] == 1
    assert ttfb["sum"] < 1.0 <= latency["sum"]
    assert sum(ttfb["buckets"].values()) == 1


async def test_a_streamed_attempt_is_timed_to_its_headers() -> None:
    infos: List[ResponseInfo] = []
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}, request=request))
    async with (
        httpx.AsyncClient(transport=transport) as http,
        AsyncMicroDC(
            api_key=API_KEY, base_url="http://x.test", http_client=http, hooks=Hooks(on_response=infos.append)
        ) as client,
    ):
        await client.get("/x", cast_to=httpx.Response, read_body=False)
    assert infos[0].time_to_first_byte == infos[0].elapsed


def test_metrics_without_a_measurement_counts_none() -> None:
    metrics = Metrics()
    assert metrics.snapshot()["time_to_first_byte"] == {
        "buckets": dict.fromkeys(metrics.snapshot()["latency"]["buckets"], 0),
        "count": 0,
        "sum": 0.0,
    }


async def test_time_to_first_byte_is_measured_over_aiohttp_too() -> None:
    from microdc import DefaultAioHttpClient

    async def answer(_request: RawRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(HEAD + BODY)
        await writer.drain()
        return True

    infos: List[ResponseInfo] = []
    async with (
        RawServer(answer) as server,
        DefaultAioHttpClient() as http,
        AsyncMicroDC(
            api_key=API_KEY, base_url=server.url, http_client=http, hooks=Hooks(on_response=infos.append)
        ) as client,
    ):
        await client.get("/api/v1/jobs/job_1", cast_to=object)
    (info,) = infos
    assert info.time_to_first_byte is not None
    assert 0 <= info.time_to_first_byte <= info.elapsed
