"""``timeout.pool`` bounds the wait for a connection, the SDK's own queue in front of the pool included.

A loopback server holds every answer until the test lets it go, so the calls in flight
keep their connections and the next call queues. The wait is real time (a pool
timeout is a transport timeout, as in httpx), so the bounds below leave a wide margin
for a loaded machine (the 50 ms target is measured in ``benchmarks/``).
"""

from __future__ import annotations

import time
import asyncio
import contextlib
from typing import List, Tuple, AsyncGenerator, cast

import anyio
import httpx
import pytest
import anyio.lowlevel

from microdc import AsyncMicroDC, APITimeoutError, DefaultAioHttpClient, DefaultAsyncHttpxClient
from microdc._gate import InFlightGate
from microdc.lib.hooks import Hooks, RetryInfo
from microdc.lib.retry import disable_retry_delays

from ._loopback import serve_raw
from ._transports import transport

__all__ = ["transport"]  # the fixture, imported for pytest

SLACK = 2.0  # real seconds a loaded machine may add; without the bound the call waits until the test ends


@contextlib.asynccontextmanager
async def holding_server() -> AsyncGenerator[Tuple[str, anyio.Event, List[str]], None]:
    """A server that answers each request only once ``release`` is set; ``seen`` lists the paths it got."""
    release, seen = anyio.Event(), cast(List[str], [])

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.split(b" ")[1].decode())
            await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
            await writer.drain()

    async with serve_raw(hold) as base_url:
        try:
            yield base_url, release, seen
        finally:
            release.set()


async def until_busy(seen: List[str]) -> None:
    """Let the loop run until the server holds two requests (both connections busy); at most 10 s."""
    with anyio.fail_after(10):
        while len(seen) < 2:
            await anyio.lowlevel.checkpoint()


async def get(client: AsyncMicroDC, path: str) -> None:
    await client.get(path, cast_to=object)


def two_connections(transport: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    if transport == "aiohttp":
        pytest.importorskip("aiohttp")
        return DefaultAioHttpClient(limits=limits)
    return DefaultAsyncHttpxClient(limits=limits)


async def test_a_call_queued_past_max_connections_raises_within_timeout_pool(transport: str) -> None:
    timeout = httpx.Timeout(30.0, pool=0.5)
    answers: List[object] = []
    waited = 0.0
    async with (
        holding_server() as (base_url, release, seen),
        two_connections(transport) as http,
        AsyncMicroDC(api_key="test", base_url=base_url, http_client=http, timeout=timeout, max_retries=0) as client,
        anyio.create_task_group() as group,
    ):

        async def hold(path: str) -> None:
            answers.append(await client.get(path, cast_to=object))

        group.start_soon(hold, "/first")
        group.start_soon(hold, "/second")
        await until_busy(seen)
        joined = time.monotonic()
        with anyio.fail_after(30), pytest.raises(APITimeoutError):
            await client.get("/queued", cast_to=object)
        waited = time.monotonic() - joined
        release.set()
    assert 0.45 <= waited <= 0.5 + SLACK
    assert sorted(seen) == ["/first", "/second"]  # the queued call never reached the server
    assert answers == [{}, {}]


async def test_a_pool_timeout_is_retried_as_a_timeout(transport: str) -> None:
    delays: List[RetryInfo] = []
    hooks = Hooks(on_retry=delays.append)
    async with (
        holding_server() as (base_url, release, seen),
        two_connections(transport) as http,
        AsyncMicroDC(
            api_key="test", base_url=base_url, http_client=http, timeout=httpx.Timeout(30.0, pool=0.2), hooks=hooks
        ) as client,
        anyio.create_task_group() as group,
    ):
        for path in ("/first", "/second"):
            group.start_soon(get, client, path)
        await until_busy(seen)
        with disable_retry_delays(), anyio.fail_after(30), pytest.raises(APITimeoutError):
            await client.get("/queued", cast_to=object, max_retries=2)
        release.set()
    assert [type(info.error) for info in delays] == [APITimeoutError, APITimeoutError]


async def test_a_place_taken_after_waiting_leaves_the_pool_the_rest_of_timeout_pool() -> None:
    gate = InFlightGate(1)
    places = gate.place()
    assert places is not None
    first = httpx.Request("GET", "http://h.test/", extensions={"timeout": {"pool": 5.0, "read": 1.0}})
    await gate.enter(places, first)
    shared = {"pool": 5.0, "read": 1.0}
    second = httpx.Request("GET", "http://h.test/", extensions={"timeout": shared})

    async def leave_soon() -> None:
        await asyncio.sleep(0.3)
        places.release()

    async with anyio.create_task_group() as group:
        group.start_soon(leave_soon)
        await gate.enter(places, second)
    left = second.extensions["timeout"]
    assert 0 < left["pool"] <= 4.75
    assert left["read"] == 1.0
    assert shared == {"pool": 5.0, "read": 1.0}  # a dict another request may hold is not changed
    assert first.extensions["timeout"] == {"pool": 5.0, "read": 1.0}  # no wait: untouched


async def test_a_free_place_is_taken_without_waiting() -> None:
    gate = InFlightGate(2)
    places = gate.place()
    assert places is not None
    request = httpx.Request("GET", "http://h.test/", extensions={"timeout": {"pool": 0.0}})
    await gate.enter(places, request)
    await gate.enter(places, request)  # pool=0 and both places free: no PoolTimeout
    with pytest.raises(httpx.PoolTimeout, match=r"timeout\.pool \(0 s\)"):
        await gate.enter(places, request)
