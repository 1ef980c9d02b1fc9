"""``RetryPolicy(deadline=s)`` bounds the whole call, the attempt in flight included (PRODUCT.md "Time bounds").

On the SDK's virtual clocks the cut takes no real time: the fake's ``ManualClock``
(``fake.virtual_time()``) and ``disable_retry_delays()`` tell the deadline when they
jump. Against a peer that really is slow (a body that drips a byte at a time, a TLS
handshake that never ends) the cut comes in real time, so those tests measure it,
with a wide margin for a loaded machine (the 50 ms target is measured in
``benchmarks/``), against the many seconds the call would otherwise take.
"""

from __future__ import annotations

import time
import asyncio
import contextlib
from typing import Optional, AsyncIterator, AsyncGenerator, AsyncContextManager, cast

import anyio
import httpx
import pytest

from microdc import BaseModel, RateLimit, AsyncStream, RetryPolicy, AsyncMicroDC, APITimeoutError, _clock
from microdc.testing import Faults, FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays

from .conftest import Recorder, RetriesAndErrors, error, reply, make_client
from ._loopback import serve_raw
from ._transports import transport, http_client_for

__all__ = ["transport"]  # the fixture, imported for pytest

SLACK = 2.0  # seconds of real time a loaded machine may add to a cut; the calls cut here would take 10 s or more


@contextlib.asynccontextmanager
async def client_over(transport: str, base_url: str, **kwargs: object) -> AsyncGenerator[AsyncMicroDC, None]:
    async with (
        http_client_for(transport) as http_client,
        AsyncMicroDC(api_key="test", base_url=base_url, http_client=http_client, **kwargs) as client,  # type: ignore[arg-type]
    ):
        yield client


def dripping_server() -> AsyncContextManager[str]:
    """A server that answers 200 with a 10,000-byte body and sends it one byte every 0.2 s."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n")
        for _ in range(10_000):  # bounded: 2,000 s at most, ended by the client long before
            writer.write(b" ")
            await writer.drain()
            await anyio.sleep(0.2)  # the peer's pace (real time: what the deadline must cut)

    return serve_raw(drip)


def silent_server() -> AsyncContextManager[str]:
    """A TCP server that accepts connections and never says a word (a TLS handshake that stalls)."""

    async def say_nothing(_reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        pass  # the connection stays open, unanswered, until the server closes it

    return serve_raw(say_nothing, scheme="https")


# ---------------------------------------------------------------- in virtual time


async def test_a_slow_answer_is_cut_at_the_deadline_in_virtual_time(transport: str) -> None:
    fake = FakeMicroDC(clock=ManualClock(), faults=Faults(latency=30.0, paths=["/api/v1/models"]))
    failures = RetriesAndErrors()
    with fake.virtual_time() as clock, anyio.fail_after(10):  # a hang guard: the cut takes no real time
        async with (
            fake.serve(port=0) as base_url,
            client_over(transport, base_url, retry=RetryPolicy(deadline=1.0), timeout=60.0, hooks=failures) as client,
        ):
            started = clock.now()
            with pytest.raises(APITimeoutError, match="deadline of 1 s"):
                await client.models.list()
    assert clock.now() - started >= 1.0  # the fake's 30 s of latency passed on its clock, not ours
    assert failures.retries == []  # no retry starts past the deadline
    assert [type(info.error) for info in failures.errors] == [APITimeoutError]


async def test_a_call_waiting_for_the_rate_limit_is_cut_at_the_deadline_at_once() -> None:
    limit = RateLimit(10)
    recorder = Recorder(reply(200, {}))
    with disable_retry_delays() as clock, anyio.fail_after(10):
        async with make_client(recorder, rate_limit=limit, retry=RetryPolicy(deadline=2.0)) as client:
            limit.pause(30)
            with pytest.raises(APITimeoutError):
                await client.get("/x", cast_to=object)
    assert recorder.requests == []
    assert clock.skipped == pytest.approx(30.0, abs=0.1)


async def test_a_clock_jump_short_of_the_deadline_does_not_cut_the_attempt() -> None:
    limit = RateLimit(10)
    with disable_retry_delays(), anyio.fail_after(10):
        async with make_client(
            Recorder(reply(200, {"ok": True})), rate_limit=limit, retry=RetryPolicy(deadline=5.0)
        ) as client:
            limit.pause(3)
            assert await client.get("/x", cast_to=object) == {"ok": True}


class SlowEvents(httpx.AsyncByteStream):
    """An event stream whose events come a (virtual) second apart: each waits on the SDK clock."""

    def __init__(self, count: int) -> None:
        self.count = count

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for n in range(1, self.count + 1):
            await _clock.sleep(1.0)
            yield f'event: job.status\nid: {n}\ndata: {{"n": {n}}}\n\n'.encode()


async def test_reading_an_event_stream_is_not_bounded_by_the_deadline() -> None:
    def events(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=SlowEvents(5), request=request)

    with disable_retry_delays() as clock:
        async with make_client(Recorder(events), retry=RetryPolicy(deadline=0.5)) as client:
            stream = await client.get("/events", cast_to=Event, sse_cls=AsyncStream[Event])
            ids = [event.id async for event in cast("AsyncStream[Event]", stream)]
    assert ids == ["1", "2", "3", "4", "5"]
    assert clock.skipped == 5.0  # five virtual seconds of reading on a call whose deadline is 0.5 s


class Event(BaseModel):
    id: Optional[str] = None
    data: object = None


# ---------------------------------------------------------------- in real time, against slow peers


async def seconds_until_cut(transport: str, peer: AsyncContextManager[str]) -> float:
    """Real seconds a GET to ``peer`` takes with ``deadline=1`` (and 10 s timeouts) before it is cut."""
    async with (
        peer as base_url,
        client_over(transport, base_url, retry=RetryPolicy(deadline=1.0), timeout=httpx.Timeout(10.0)) as client,
    ):
        started = time.monotonic()
        with anyio.fail_after(30), pytest.raises(APITimeoutError, match="deadline"):
            await client.get("/slow", cast_to=object)
        return time.monotonic() - started


async def test_a_body_that_drips_a_byte_at_a_time_is_cut_at_the_deadline(transport: str) -> None:
    took = await seconds_until_cut(transport, dripping_server())
    assert 0.9 <= took <= 1.0 + SLACK  # the body alone would take 2,000 s; the read timeout never fires


async def test_a_stalled_tls_handshake_is_cut_at_the_deadline(transport: str) -> None:
    took = await seconds_until_cut(transport, silent_server())
    assert 0.9 <= took <= 1.0 + SLACK  # the connect timeout is 10 s


async def test_the_deadline_counts_the_virtual_wait_before_the_attempt_it_cuts() -> None:
    async def hang(_request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # until the deadline cancels it
        raise AssertionError("not reached")

    failures = RetriesAndErrors()
    policy = RetryPolicy(deadline=1.5, initial_delay=0.5, jitter=0.0)
    with disable_retry_delays() as clock:
        async with make_client(Recorder(error(503), hang), retry=policy, hooks=failures) as client:
            started = time.monotonic()
            with anyio.fail_after(30), pytest.raises(APITimeoutError, match="deadline"):
                await client.get("/x", cast_to=object)
            took = time.monotonic() - started
    assert clock.skipped == 0.5  # the wait after the 503, in no real time
    assert 0.9 <= took <= 1.0 + SLACK  # what was left of the deadline, in real time
    assert [info.delay for info in failures.retries] == [0.5]
    assert [type(info.error) for info in failures.errors] == [APITimeoutError]
