"""Cursor pages and the paginator: ``await`` for the first page, ``async for`` over every item."""

from __future__ import annotations

from typing import Dict, List, Optional

import httpx
import pytest

from microdc import APIError, BaseModel, AsyncMicroDC, NotFoundError
from microdc.pagination import AsyncPage, AsyncPaginator, AsyncCursorPage

from .conftest import Recorder, error, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")


class Job(BaseModel):
    id: str


def page(ids: List[str], next_cursor: Optional[str], *, has_more: Optional[bool] = None) -> Dict[str, object]:
    more = next_cursor is not None if has_more is None else has_more
    return {"object": "list", "data": [{"id": i} for i in ids], "has_more": more, "next_cursor": next_cursor}


THREE_PAGES = (
    reply(200, page(["job_1", "job_2"], "job_2")),
    reply(200, page(["job_3", "job_4"], "job_4")),
    reply(200, page(["job_5"], None)),
)


def list_jobs(client: AsyncMicroDC, **query: object) -> AsyncPaginator[Job, AsyncCursorPage[Job]]:
    """What ``jobs.list`` does."""
    return client.get_api_list("/api/v1/jobs", page=AsyncCursorPage[Job], query=query)


async def collect_ids(paginator: AsyncPaginator[Job, AsyncCursorPage[Job]], *, into: List[str]) -> None:
    """Append the id of every item to ``into`` as it arrives (at most 50: a runaway loop fails)."""
    async for job in paginator:
        into.append(job.id)
        assert len(into) < 50


async def test_async_for_walks_three_pages() -> None:
    recorder = Recorder(*THREE_PAGES)
    async with make_client(recorder) as client:
        jobs = [job.id async for job in list_jobs(client, limit=2)]
    assert jobs == ["job_1", "job_2", "job_3", "job_4", "job_5"]
    assert [r.url.params.get("after") for r in recorder.requests] == [None, "job_2", "job_4"]


async def test_every_page_keeps_the_callers_query() -> None:
    recorder = Recorder(*THREE_PAGES)
    async with make_client(recorder) as client:
        [job async for job in list_jobs(client, limit=2, status=["queued", "running"])]
    assert [r.url.params["limit"] for r in recorder.requests] == ["2", "2", "2"]
    assert {r.url.params["status"] for r in recorder.requests} == {"queued,running"}


async def test_items_are_parsed_models() -> None:
    async with make_client(Recorder(*THREE_PAGES)) as client:
        jobs = [job async for job in list_jobs(client)]
    assert all(isinstance(job, Job) for job in jobs)


async def test_pages_are_fetched_one_at_a_time() -> None:
    recorder = Recorder(*THREE_PAGES)
    async with make_client(recorder) as client:
        seen: List[int] = []
        async for _ in list_jobs(client):
            seen.append(len(recorder.requests))
    assert seen == [1, 1, 2, 2, 3]


async def test_nothing_is_sent_until_awaited_or_iterated() -> None:
    recorder = Recorder(*THREE_PAGES)
    async with make_client(recorder) as client:
        list_jobs(client)
    assert recorder.requests == []


async def test_await_gives_the_first_page() -> None:
    recorder = Recorder(*THREE_PAGES)
    async with make_client(recorder) as client:
        first = await list_jobs(client)
    assert isinstance(first, AsyncCursorPage)
    assert [job.id for job in first.data] == ["job_1", "job_2"]
    assert first.has_more is True
    assert first.next_cursor == "job_2"
    assert len(recorder.requests) == 1


async def test_has_next_page_and_get_next_page() -> None:
    recorder = Recorder(*THREE_PAGES)
    async with make_client(recorder) as client:
        first = await list_jobs(client)
        assert first.has_next_page()
        second = await first.get_next_page()
        assert [job.id for job in second.data] == ["job_3", "job_4"]
        third = await second.get_next_page()
    assert not third.has_next_page()
    assert [job.id for job in third.data] == ["job_5"]


async def test_get_next_page_on_the_last_page_raises() -> None:
    async with make_client(Recorder(reply(200, page(["job_1"], None)))) as client:
        last = await list_jobs(client)
        with pytest.raises(RuntimeError, match="has_next_page"):
            await last.get_next_page()


async def test_iter_pages_yields_every_page() -> None:
    async with make_client(Recorder(*THREE_PAGES)) as client:
        first = await list_jobs(client)
        pages = [p async for p in first.iter_pages()]
    assert [[job.id for job in p.data] for p in pages] == [["job_1", "job_2"], ["job_3", "job_4"], ["job_5"]]


async def test_has_more_false_ends_even_with_a_cursor() -> None:
    recorder = Recorder(reply(200, page(["job_1"], "job_1", has_more=False)), reply(200, page(["job_x"], None)))
    async with make_client(recorder) as client:
        jobs = [job.id async for job in list_jobs(client)]
    assert jobs == ["job_1"]
    assert len(recorder.requests) == 1


async def test_has_more_without_a_cursor_ends() -> None:
    recorder = Recorder(reply(200, page(["job_1"], None, has_more=True)), reply(200, page(["job_x"], None)))
    async with make_client(recorder) as client:
        jobs = [job.id async for job in list_jobs(client)]
    assert jobs == ["job_1"]


async def test_empty_page_with_a_cursor_continues() -> None:
    recorder = Recorder(
        reply(200, page(["job_1"], "c1")),
        reply(200, page([], "c2")),
        reply(200, page(["job_2"], None)),
    )
    async with make_client(recorder) as client:
        jobs = [job.id async for job in list_jobs(client)]
    assert jobs == ["job_1", "job_2"]
    assert [r.url.params.get("after") for r in recorder.requests] == [None, "c1", "c2"]


async def test_empty_list() -> None:
    async with make_client(Recorder(reply(200, page([], None)))) as client:
        assert [job async for job in list_jobs(client)] == []


async def test_repeated_cursor_raises_api_error() -> None:
    recorder = Recorder(
        reply(200, page(["job_1"], "c1")),
        reply(200, page(["job_2"], "c2")),
        reply(200, page(["job_3"], "c1")),
        reply(200, page(["job_4"], None)),
    )
    seen: List[str] = []
    async with make_client(recorder) as client:
        with pytest.raises(APIError, match="same cursor"):
            await collect_ids(list_jobs(client), into=seen)
    assert seen == ["job_1", "job_2", "job_3"]
    assert len(recorder.requests) == 3


async def test_cursor_repeated_by_every_page_raises_api_error() -> None:
    recorder = Recorder(reply(200, page([], "stuck")))
    async with make_client(recorder) as client:
        with pytest.raises(APIError):
            [job async for job in list_jobs(client)]
    assert len(recorder.requests) == 2


async def test_repeated_cursor_error_carries_the_request() -> None:
    recorder = Recorder(reply(200, page([], "stuck")))
    async with make_client(recorder) as client:
        with pytest.raises(APIError) as info:
            [job async for job in list_jobs(client)]
    assert isinstance(info.value.request, httpx.Request)
    assert info.value.request.url.path == "/api/v1/jobs"


async def test_page_request_is_retried() -> None:
    recorder = Recorder(reply(200, page(["job_1"], "c1")), error(503), reply(200, page(["job_2"], None)))
    async with make_client(recorder) as client:
        jobs = [job.id async for job in list_jobs(client)]
    assert jobs == ["job_1", "job_2"]
    assert recorder.requests[2].url.params["after"] == "c1"


async def test_error_on_a_later_page_propagates() -> None:
    recorder = Recorder(reply(200, page(["job_1"], "c1")), error(404))
    seen: List[str] = []
    async with make_client(recorder) as client:
        with pytest.raises(NotFoundError):
            await collect_ids(list_jobs(client), into=seen)
    assert seen == ["job_1"]


async def test_page_has_the_request_id() -> None:
    async with make_client(Recorder(reply(200, page(["job_1"], None), headers={"x-request-id": "req_p"}))) as client:
        first = await list_jobs(client)
    assert first._request_id == "req_p"


async def test_single_page_list() -> None:
    recorder = Recorder(reply(200, {"object": "list", "data": [{"id": "echo-1"}, {"id": "embed-1"}]}))
    async with make_client(recorder) as client:
        paginator = client.get_api_list("/api/v1/models", page=AsyncPage[Job])
        models = [m.id async for m in paginator]
        whole = await paginator
    assert models == ["echo-1", "embed-1"]
    assert not whole.has_next_page()
    assert len(recorder.requests) == 2


async def test_page_not_from_a_client_cannot_continue() -> None:
    orphan = AsyncCursorPage[Job].model_validate(page(["job_1"], "c1"))
    with pytest.raises(RuntimeError, match="client"):
        await orphan.get_next_page()


async def test_lenient_page_with_an_off_item_still_paginates() -> None:
    recorder = Recorder(
        reply(200, {**page(["job_1"], "c1"), "data": [{"id": 1}]}),
        reply(200, page(["job_2"], None)),
    )
    async with make_client(recorder) as client:
        jobs = [job.id async for job in list_jobs(client)]
    assert jobs == [1, "job_2"]
