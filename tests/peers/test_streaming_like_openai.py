"""What openai-python's ``tests/test_streaming.py`` and ``tests/test_sse_framing.py`` pin for
``AsyncStream``'s event-stream framing, in this SDK's words and public API.

Framing is fed as the peers feed it, an ``httpx.Response`` streaming chosen chunks
(chunk boundaries do not survive a socket); closing is checked over both transports
against a loopback server. Event data here is JSON, as this SDK parses every event's
data (the peers' decoder tests use bare words like ``ok``; here they are ``"ok"``).

A block without ``data`` lines dispatches no event (the WHATWG rule); openai-python
yields one with empty data. Streams of a stream class with no terminal event names,
as these are, end when the server ends them.
"""

from __future__ import annotations

import json
import asyncio
from typing import Any, List, Iterable, AsyncIterator, cast

import httpx
import pytest

from microdc import AsyncStream

from .._wire import wired
from ..reliability._raw_server import send, response, send_then_hang


def _stream(chunks: Iterable[bytes]) -> AsyncStream[Any]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return AsyncStream(cast_to=object, response=httpx.Response(200, content=body()))


async def events(*chunks: bytes) -> List[Any]:
    """The items of a stream of ``chunks``: ``{"event", "id", "data"}`` each."""
    return [item async for item in _stream(chunks)]


def fragments(data: bytes, size: int) -> List[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_an_event_has_its_name_and_its_json_data() -> None:
    assert await events(b"event: completion\n", b'data: {"foo":true}\n', b"\n") == [
        {"event": "completion", "id": None, "data": {"foo": True}}
    ]


async def test_data_without_an_event_name_has_none_for_a_name() -> None:
    assert await events(b'data: {"foo":true}\n', b"\n") == [{"event": None, "id": None, "data": {"foo": True}}]


async def test_a_block_without_data_dispatches_no_event() -> None:
    # openai-python yields {event: "ping", data: ""} for each of these blocks.
    assert await events(b"event: ping\n", b"\n", b"event: completion\n", b"\n") == []


async def test_several_events_each_keep_their_name_and_data() -> None:
    items = await events(
        b"event: ping\n", b'data: {"foo":true}\n', b"\n", b"event: completion\n", b'data: {"bar":false}\n', b"\n"
    )
    assert [(item["event"], item["data"]) for item in items] == [
        ("ping", {"foo": True}),
        ("completion", {"bar": False}),
    ]


async def test_data_lines_are_joined_with_newlines_empty_ones_included() -> None:
    chunks = (b"event: ping\n", b"data: {\n", b'data: "foo":\n', b"data: \n", b"data:\n", b"data: true}\n", b"\n\n")
    assert [item["data"] for item in await events(*chunks)] == [{"foo": True}]


async def test_escaped_newlines_inside_a_json_string_are_not_line_ends() -> None:
    items = await events(b"event: ping\n", b'data: {"foo": "my long\\n\\ncontent"}', b"\n\n")
    assert [item["data"] for item in items] == [{"foo": "my long\n\ncontent"}]


async def test_unicode_line_separators_inside_data_are_not_line_ends() -> None:
    chunks = (
        b'data: {"content":" culpa"}\n',
        b"\n",
        b'data: {"content":" \xe2\x80\xa8"}\n',
        b"\n",
        b'data: {"content":"foo"}\n',
        b"\n",
    )
    assert [item["data"] for item in await events(*chunks)] == [
        {"content": " culpa"},
        {"content": " \u2028"},
        {"content": "foo"},
    ]


async def test_a_character_split_across_chunks_is_decoded_whole() -> None:
    chunks = (
        b'data: {"content":"',
        b"\xd0",
        b"\xb8\xd0\xb7\xd0",
        b"\xb2\xd0\xb5\xd1\x81\xd1\x82\xd0\xbd\xd0\xb8",
        b'"}\n',
        b"\n",
    )
    assert [item["data"] for item in await events(*chunks)] == [{"content": "известни"}]


@pytest.mark.parametrize("line", [b":x\n", b'data: "x"\n', b"ignored:x\n"])
@pytest.mark.parametrize("size", [1, 97, 100_000])
async def test_an_event_the_stream_never_finishes_is_not_dispatched(line: bytes, size: int) -> None:
    assert await events(*fragments(line * 2000, size)) == []


@pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"])
async def test_any_chunk_boundary_and_an_empty_chunk_give_the_same_event(ending: bytes) -> None:
    frame = b'data: "ok"' + ending + ending
    for split in range(len(frame) + 1):
        items = await events(frame[:split], b"", frame[split:])
        assert [item["data"] for item in items] == ["ok"], f"split at byte {split}"


async def test_many_events_in_one_chunk_are_all_dispatched() -> None:
    assert [item["data"] for item in await events(b'data: "ok"\n\n' * 2000)] == ["ok"] * 2000


async def test_an_event_larger_than_64_mib_is_decoded() -> None:
    piece = b"x" * (1024 * 1024)
    (item,) = await events(b'data: "', *[piece] * 64, b'x"\n\n')
    assert len(item["data"]) == 64 * 1024 * 1024 + 1
    assert item["data"].count("x") == len(item["data"])


async def test_large_events_and_many_data_lines_are_decoded() -> None:
    value = "x" * (2 * 1024 * 1024) + "известни\u2028"
    frame = ("data: " + json.dumps(value) + "\r\n\r\n").encode()
    assert [item["data"] for item in await events(*fragments(frame, 4093))] == [value]
    many = await events(b"data: [\n" + b"data: 1,\n" * 10_000 + b"data: 1]\n\n")
    assert [item["data"] for item in many] == [[1] * 10_001]


async def test_mixed_line_ends_split_characters_and_an_unfinished_event() -> None:
    frame = 'id:one\r\ndata:"известни"\r\n\ndata:"two"\n\rdata:"unfinished"'.encode()
    items = await events(*fragments(frame, 1))
    assert [(item["data"], item["id"]) for item in items] == [("известни", "one"), ("two", "one")]


@pytest.mark.parametrize("line", [b":x\n", b"ignored:x\n"])
async def test_ignored_lines_between_events_change_nothing(line: bytes) -> None:
    assert [item["data"] for item in await events(*[line] * 10_000, b'data: "ok"\n', b"\n")] == ["ok"]


class _Body(httpx.AsyncByteStream):
    """A body that sends half an event, then fails (``RuntimeError``) or waits until cancelled."""

    def __init__(self, *, fail: bool) -> None:
        self.fail = fail
        self.started = asyncio.Event()
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'data: "partial"\n'
        self.started.set()
        if self.fail:
            raise RuntimeError("stream interrupted")
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


def _stream_of(body: _Body) -> AsyncStream[Any]:
    request = httpx.Request("GET", "http://127.0.0.1:9/events")
    return AsyncStream(cast_to=object, response=httpx.Response(200, stream=body, request=request))


async def test_an_error_while_reading_closes_the_response_and_propagates() -> None:
    body = _Body(fail=True)
    stream = _stream_of(body)
    with pytest.raises(RuntimeError, match="stream interrupted"):
        await stream.__anext__()
    assert stream.response.is_closed
    assert body.closed


async def test_cancelling_a_read_closes_the_response_and_drops_the_half_event() -> None:
    body = _Body(fail=False)
    stream = _stream_of(body)
    task = asyncio.ensure_future(stream.__anext__())
    await asyncio.wait_for(body.started.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.response.is_closed
    assert body.closed
    with pytest.raises(StopAsyncIteration):  # the half-received event is not delivered later
        await stream.__anext__()


async def test_leaving_the_block_after_an_event_closes_the_connection(transport: str) -> None:
    head = response(200, headers={"content-type": "text/event-stream"}, content_length=None)
    answer = send_then_hang(
        head.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n") + b'data: {}\n\ndata: "partial"'
    )
    async with wired(transport, answer, send(response(200, b"{}"))) as (client, server):
        opened = await client.get("/events", cast_to=object, sse_cls=AsyncStream[Any])
        stream = cast("AsyncStream[Any]", opened)
        async with stream:
            assert (await stream.__anext__())["data"] == {}
        assert stream.response.is_closed
        await client.get("/after", cast_to=object)  # the client carries on
    assert [r.target for r in server.requests] == ["/events", "/after"]
