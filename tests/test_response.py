"""Raw responses (``with_raw_response``), streamed responses (``with_streaming_response``), binary answers."""

from __future__ import annotations

import asyncio
import datetime
from typing import List, cast
from pathlib import Path

import httpx
import pytest
from typing_extensions import Unpack

from microdc import BaseModel, AsyncMicroDC, NotFoundError, RequestOptions, AsyncAPIResponse, AsyncBinaryAPIResponse
from microdc._resource import AsyncAPIResource, with_response_mode
from microdc._response import (
    AsyncResponseContextManager,
    async_to_raw_page_wrapper,
    async_to_raw_response_wrapper,
    async_to_streamed_response_wrapper,
)
from microdc.pagination import AsyncPaginator, AsyncCursorPage

from .conftest import Recorder, ChunkStream, error, reply, make_client, stream_reply

pytestmark = pytest.mark.usefixtures("no_retry_delays")


class Thing(BaseModel):
    id: str
    size: int


class Things(AsyncAPIResource):
    """What a generated resource does."""

    async def content(self, **options: Unpack[RequestOptions]) -> AsyncBinaryAPIResponse:
        """What ``files.content`` does."""
        return await self._request("GET", "/api/v1/files/f_1/content", cast_to=AsyncBinaryAPIResponse, options=options)

    async def retrieve(self, thing_id: str, **options: Unpack[RequestOptions]) -> Thing:
        return await self._request(
            "GET",
            f"/api/v1/things/{thing_id}",
            path_template="/api/v1/things/{thing_id}",
            cast_to=Thing,
            options=options,
        )

    def list(self, **options: Unpack[RequestOptions]) -> AsyncPaginator[Thing, AsyncCursorPage[Thing]]:
        return self._get_api_list("/api/v1/things", page=AsyncCursorPage[Thing], model=Thing, options=options)


async def raw_get_thing(
    client: AsyncMicroDC, thing_id: str, **options: Unpack[RequestOptions]
) -> AsyncAPIResponse[Thing]:
    """``with_raw_response.retrieve``, as a generated raw view builds it."""
    return await async_to_raw_response_wrapper(with_response_mode(Things(client), "raw").retrieve)(thing_id, **options)


def streamed_get_thing(
    client: AsyncMicroDC, thing_id: str, **options: Unpack[RequestOptions]
) -> AsyncResponseContextManager[AsyncAPIResponse[Thing]]:
    """``with_streaming_response.retrieve``, as a generated streaming view builds it."""
    retrieve = with_response_mode(Things(client), "unread").retrieve
    return async_to_streamed_response_wrapper(retrieve)(thing_id, **options)


async def raw_list_things(
    client: AsyncMicroDC, **options: Unpack[RequestOptions]
) -> AsyncAPIResponse[AsyncCursorPage[Thing]]:
    """``with_raw_response.list``."""
    return await async_to_raw_page_wrapper(with_response_mode(Things(client), "raw").list)(**options)


THING = {"id": "t_1", "size": 3}


# ---------------------------------------------------------------- raw responses


async def test_raw_response_exposes_the_http_answer() -> None:
    recorder = Recorder(reply(200, THING, headers={"x-request-id": "req_raw", "x-extra": "yes"}))
    async with make_client(recorder) as client:
        raw = await raw_get_thing(client, "t_1")
    assert isinstance(raw, AsyncAPIResponse)
    assert raw.status_code == 200
    assert raw.headers["x-extra"] == "yes"
    assert raw.request_id == "req_raw"
    assert raw.http_request is recorder.last
    assert raw.http_request.url.path == "/api/v1/things/t_1"


async def test_raw_response_parse_gives_the_model() -> None:
    async with make_client(Recorder(reply(200, THING))) as client:
        raw = await raw_get_thing(client, "t_1")
        thing = await raw.parse()
    assert isinstance(thing, Thing)
    assert thing.size == 3
    assert thing._request_id == "req_123"


async def test_raw_response_parse_is_cached() -> None:
    async with make_client(Recorder(reply(200, THING))) as client:
        raw = await raw_get_thing(client, "t_1")
        assert await raw.parse() is await raw.parse()


async def test_raw_response_read_text_json() -> None:
    async with make_client(Recorder(reply(200, THING))) as client:
        raw = await raw_get_thing(client, "t_1")
        assert await raw.read() == b'{"id":"t_1","size":3}'
        assert await raw.text() == '{"id":"t_1","size":3}'
        assert await raw.json() == THING


async def test_raw_response_counts_retries() -> None:
    async with make_client(Recorder(error(500), error(503), reply(200, THING))) as client:
        raw = await raw_get_thing(client, "t_1")
    assert raw.retries_taken == 2
    assert raw.http_request.headers["x-stainless-retry-count"] == "2"


async def test_raw_response_without_retries() -> None:
    async with make_client(Recorder(reply(200, THING))) as client:
        raw = await raw_get_thing(client, "t_1")
    assert raw.retries_taken == 0


async def test_raw_response_elapsed_is_the_http_elapsed() -> None:
    body = ChunkStream([b'{"id": "t_1", "size": 3}'])
    async with make_client(Recorder(stream_reply(body, content_type="application/json"))) as client:
        raw = await raw_get_thing(client, "t_1")
    assert isinstance(raw.elapsed, datetime.timedelta)
    assert raw.elapsed == raw.http_response.elapsed


async def test_raw_response_still_raises_status_errors() -> None:
    async with make_client(Recorder(error(404))) as client:
        with pytest.raises(NotFoundError):
            await raw_get_thing(client, "t_1")


async def test_raw_mode_belongs_to_the_view_not_to_the_resource() -> None:
    async with make_client(Recorder(reply(200, THING))) as client:
        things = Things(client)
        await async_to_raw_response_wrapper(with_response_mode(things, "raw").retrieve)("t_1")
        assert isinstance(await things.retrieve("t_1"), Thing)


@pytest.mark.parametrize("keyword", ["_response_mode", "response_mode", "stream", "stream_cls", "sse_cls"])
async def test_the_response_mode_is_no_keyword_a_caller_can_pass(keyword: str) -> None:
    recorder = Recorder(reply(200, {"id": "job_1", "object": "job"}))
    async with make_client(recorder) as client:
        with pytest.raises(TypeError, match=keyword):
            await client.jobs.retrieve("job_1", **{keyword: "raw"})  # type: ignore[arg-type]
    assert recorder.requests == []


async def test_raw_page_response_parses_to_a_page_that_can_continue() -> None:
    recorder = Recorder(
        reply(200, {"data": [THING], "has_more": True, "next_cursor": "t_1"}),
        reply(200, {"data": [{"id": "t_2", "size": 1}], "has_more": False, "next_cursor": None}),
    )
    async with make_client(recorder) as client:
        raw = await raw_list_things(client)
        assert raw.status_code == 200
        page = await raw.parse()
        assert isinstance(page, AsyncCursorPage)
        second = await page.get_next_page()
    assert [t.id for t in second.data] == ["t_2"]
    assert recorder.last.url.params["after"] == "t_1"


async def test_raw_response_repr_has_status_and_type() -> None:
    async with make_client(Recorder(reply(200, THING))) as client:
        raw = await raw_get_thing(client, "t_1")
    assert "200 OK" in repr(raw)
    assert "Thing" in repr(raw)


# ---------------------------------------------------------------- streamed responses


async def test_streamed_response_reads_nothing_until_asked() -> None:
    body = ChunkStream([b'{"id": "t_1",', b' "size": 3}'])
    async with (
        make_client(Recorder(stream_reply(body, content_type="application/json"))) as client,
        streamed_get_thing(client, "t_1") as response,
    ):
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "req_stream"
        assert body.yielded == 0
        assert not response.is_closed


async def test_streamed_response_is_closed_on_exit() -> None:
    body = ChunkStream([b"abc"])
    async with make_client(Recorder(stream_reply(body))) as client, streamed_get_thing(client, "t_1") as response:
        pass
    assert response.is_closed
    assert body.closed


async def test_streamed_response_is_closed_when_the_block_raises() -> None:
    body = ChunkStream([b"abc"])
    async with make_client(Recorder(stream_reply(body))) as client:
        with pytest.raises(KeyError):
            async with streamed_get_thing(client, "t_1"):
                raise KeyError("boom")
    assert body.closed


async def test_streamed_response_iter_bytes() -> None:
    body = ChunkStream([b"one ", b"two ", b"three"])
    async with make_client(Recorder(stream_reply(body))) as client, streamed_get_thing(client, "t_1") as response:
        chunks = [chunk async for chunk in response.iter_bytes()]
    assert b"".join(chunks) == b"one two three"
    assert body.yielded == 3


async def test_streamed_response_iter_text_decodes_split_utf8() -> None:
    data = "naïve café ☕".encode()
    body = ChunkStream([data[i : i + 1] for i in range(len(data))])
    async with (
        make_client(Recorder(stream_reply(body, content_type="text/plain; charset=utf-8"))) as client,
        streamed_get_thing(client, "t_1") as response,
    ):
        text = "".join([chunk async for chunk in response.iter_text()])
    assert text == "naïve café ☕"


async def test_streamed_response_iter_lines() -> None:
    body = ChunkStream([b"first\nsec", b"ond\r\nthird"])
    async with (
        make_client(Recorder(stream_reply(body, content_type="text/plain"))) as client,
        streamed_get_thing(client, "t_1") as response,
    ):
        lines = [line async for line in response.iter_lines()]
    assert lines == ["first", "second", "third"]


async def test_streamed_response_stream_to_file(tmp_path: Path) -> None:
    body = ChunkStream([b"\x00\x01", b"\x02" * 1000, b"end"])
    target = tmp_path / "out.bin"
    async with (
        make_client(Recorder(stream_reply(body, content_type="application/octet-stream"))) as client,
        streamed_get_thing(client, "t_1") as response,
    ):
        await response.stream_to_file(target)
    assert target.read_bytes() == b"\x00\x01" + b"\x02" * 1000 + b"end"


async def test_streamed_response_parse_reads_and_parses() -> None:
    body = ChunkStream([b'{"id": "t_1",', b' "size": 3}'])
    async with (
        make_client(Recorder(stream_reply(body, content_type="application/json"))) as client,
        streamed_get_thing(client, "t_1") as response,
    ):
        thing = await response.parse()
    assert isinstance(thing, Thing)
    assert thing.size == 3


async def test_streamed_error_raises_before_the_block() -> None:
    async with make_client(Recorder(error(404))) as client:
        with pytest.raises(NotFoundError):
            async with streamed_get_thing(client, "t_1"):
                pytest.fail("the block must not run")


async def test_streamed_response_retries_before_streaming() -> None:
    body = ChunkStream([b"ok"])
    recorder = Recorder(error(503), stream_reply(body))
    async with make_client(recorder) as client, streamed_get_thing(client, "t_1") as response:
        assert response.retries_taken == 1
        assert await response.read() == b"ok"


# ---------------------------------------------------------------- binary answers


async def get_content(client: AsyncMicroDC) -> AsyncBinaryAPIResponse:
    return await Things(client).content()


async def test_binary_response_read() -> None:
    async with make_client(Recorder(reply(200, content=b"\x89PNG\x00data"))) as client:
        content = await get_content(client)
    assert isinstance(content, AsyncBinaryAPIResponse)
    assert await content.read() == b"\x89PNG\x00data"
    assert content.status_code == 200


async def test_binary_response_iter_bytes() -> None:
    async with make_client(Recorder(reply(200, content=b"abcdef"))) as client:
        content = await get_content(client)
    assert b"".join([chunk async for chunk in content.iter_bytes(2)]) == b"abcdef"


async def test_binary_response_write_to_file(tmp_path: Path) -> None:
    async with make_client(Recorder(reply(200, content=b"\x00" * 10 + b"tail"))) as client:
        content = await get_content(client)
    await content.write_to_file(tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == b"\x00" * 10 + b"tail"


async def test_binary_response_streamed_reads_nothing_until_asked(tmp_path: Path) -> None:
    body = ChunkStream([b"part1-", b"part2"])
    async with (
        make_client(Recorder(stream_reply(body, content_type="application/octet-stream"))) as client,
        async_to_streamed_response_wrapper(with_response_mode(Things(client), "unread").content)() as response,
    ):
        assert body.yielded == 0
        await response.stream_to_file(tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == b"part1-part2"
    assert body.closed


async def test_httpx_response_cast_is_unread_only_when_streamed() -> None:
    async with make_client(Recorder(reply(200, content=b"x"))) as client:
        response = await client.get("/x", cast_to=httpx.Response)
    assert response.is_closed
    assert response.content == b"x"


# ---------------------------------------------------------------- the response mode belongs to one call

MODEL = {
    "id": "echo-1",
    "object": "model",
    "job_types": ["llm_complete"],
    "context_window": 8192,
    "max_output_tokens": 1024,
    "pricing": {"input_per_million_tokens": 1.0, "output_per_million_tokens": 2.0},
}


async def test_a_hook_calling_the_api_during_a_raw_call_gets_a_parsed_answer() -> None:
    from microdc.lib.hooks import Hooks, ResponseInfo
    from microdc.pagination import AsyncPage
    from microdc.types.model import Model

    inner: List[object] = []

    async def on_response(_info: ResponseInfo) -> None:
        if not inner:  # once: the hook's own call fires it again
            inner.append(None)
            inner[0] = await client.models.list()

    recorder = Recorder(reply(200, {"object": "list", "data": [MODEL]}))
    client = make_client(recorder, hooks=Hooks(on_response=on_response))
    async with client:
        raw = await client.models.with_raw_response.list()
    assert isinstance(raw, AsyncAPIResponse)
    page = inner[0]
    assert isinstance(page, AsyncPage)
    assert isinstance(cast("AsyncPage[Model]", page).data[0], Model)


async def test_a_task_started_during_a_raw_call_does_not_inherit_raw_mode() -> None:
    from microdc.lib.hooks import Hooks, RequestInfo
    from microdc.types.model import Model

    tasks: List[asyncio.Task[Model]] = []

    def on_request(_info: RequestInfo) -> None:
        if not tasks:
            tasks.append(asyncio.get_running_loop().create_task(client.models.retrieve("echo-1")))

    client = make_client(Recorder(reply(200, MODEL)), hooks=Hooks(on_request=on_request))
    async with client:
        raw = await client.models.with_raw_response.retrieve("echo-1")
        spawned = await tasks[0]
    assert isinstance(raw, AsyncAPIResponse)
    assert isinstance(spawned, Model)
    assert spawned.id == "echo-1"


async def test_the_next_page_of_a_raw_page_is_parsed() -> None:
    recorder = Recorder(
        reply(200, {"data": [THING], "has_more": True, "next_cursor": "t_1"}),
        reply(200, {"data": [{"id": "t_2", "size": 1}], "has_more": False, "next_cursor": None}),
    )
    async with make_client(recorder) as client:
        page = await (await raw_list_things(client)).parse()
        following = await page.get_next_page()
    assert isinstance(following, AsyncCursorPage)
    assert [thing.id for thing in following.data] == ["t_2"]
