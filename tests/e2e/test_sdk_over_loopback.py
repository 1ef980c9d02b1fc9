"""Every SDK method against microdc.testing served on a real loopback socket, over each transport
(the default client and ``DefaultAioHttpClient``: the ``transport`` fixture of ``tests/_transports.py``)."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, AsyncIterator
from pathlib import Path

import httpx
import pytest

from microdc import (
    AsyncMicroDC,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    AsyncBinaryAPIResponse,
    UnprocessableEntityError,
)
from microdc.types import JobTerminalEvent, LLMCompleteResult, JobOutputDeltaEvent
from microdc.testing import FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays

from .._transports import transport, http_client_for

__all__ = ["transport"]  # the fixture, imported for pytest

_CHAT: Dict[str, Any] = {"type": "llm_chat", "model": "echo-1", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> FakeMicroDC:
    return FakeMicroDC(job_duration=10.0, seed=11, clock=clock, keepalive_interval=0.05)


@pytest.fixture
async def base_url(fake: FakeMicroDC) -> AsyncIterator[str]:
    async with fake.serve(port=0) as url:
        yield url


@pytest.fixture
async def client(base_url: str, transport: str) -> AsyncIterator[AsyncMicroDC]:
    with disable_retry_delays():
        async with (
            http_client_for(transport) as http_client,
            AsyncMicroDC(api_key="test", base_url=base_url, http_client=http_client) as client,
        ):
            yield client


async def test_create_retrieve_status_and_wait(client: AsyncMicroDC, clock: ManualClock) -> None:
    job = await client.jobs.create(**_CHAT, priority="high", metadata={"k": "v"}, timeout_seconds=60)
    assert (job.status, job.priority, job.metadata) == ("queued", "high", {"k": "v"})
    assert job._request_id
    clock.advance(5)
    status = await client.jobs.retrieve_status(job.id)
    assert status.status == "running"
    assert 0 < status.progress < 1
    clock.advance(10)
    done = await client.jobs.retrieve(job.id)
    assert done.status == "completed"
    assert done.usage is not None
    assert done.usage.total_tokens > 0


async def test_each_job_type_completes_with_its_result(client: AsyncMicroDC, clock: ManualClock) -> None:
    file = await client.files.upload(file=("doc.txt", b"page one", "text/plain"))
    jobs = [
        await client.jobs.create(type="llm_complete", model="echo-1", prompt="p", max_tokens=5, temperature=0),
        await client.jobs.create(**_CHAT),
        await client.jobs.create(type="llm_embed", model="embed-1", texts=["a", "b"], normalize=False),
        await client.jobs.create(type="document", model="doc-1", file_tokens=[file.token], instruction="read"),
    ]
    clock.advance(20)
    results = [(await client.jobs.retrieve(job.id)).result for job in jobs]
    assert [r.type if r else None for r in results] == ["llm_complete", "llm_chat", "llm_embed", "document"]


async def test_cancel_then_cancel_again_is_a_conflict(client: AsyncMicroDC) -> None:
    job = await client.jobs.create(**_CHAT)
    cancelled = await client.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(ConflictError) as caught:
        await client.jobs.cancel(job.id)
    assert caught.value.status_code == 409
    assert caught.value.response.headers["x-should-retry"] == "false"


async def test_acknowledge_twice_gives_the_same_answer(client: AsyncMicroDC, clock: ManualClock) -> None:
    job = await client.jobs.create(**_CHAT)
    with pytest.raises(ConflictError):
        await client.jobs.acknowledge(job.id)
    clock.advance(20)
    first = await client.jobs.acknowledge(job.id)
    second = await client.jobs.acknowledge(job.id)
    assert first.acknowledged is True
    assert second.acknowledged_at == first.acknowledged_at


async def test_retrieving_an_unknown_job_is_not_found(client: AsyncMicroDC) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.jobs.retrieve("job_missing")
    assert caught.value.request_id


async def test_same_idempotency_key_replays_the_same_job(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    first = await client.jobs.create(**_CHAT, idempotency_key="order-42")
    again = await client.jobs.create(**_CHAT, idempotency_key="order-42")
    assert again.id == first.id
    assert len(fake.jobs) == 1


async def test_reusing_a_key_with_another_body_is_unprocessable(client: AsyncMicroDC) -> None:
    await client.jobs.create(**_CHAT, idempotency_key="order-43")
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.jobs.create(type="llm_complete", model="echo-1", prompt="other", idempotency_key="order-43")
    assert caught.value.code == "idempotency_key_reused"


async def test_pagination_over_250_jobs_with_every_filter(client: AsyncMicroDC, clock: ManualClock) -> None:
    created: List[str] = []
    for n in range(250):
        kind = ("llm_complete", "llm_embed")[n % 2]
        params: Dict[str, Any] = (
            {"prompt": "p", "model": "echo-1"} if kind == "llm_complete" else {"texts": ["t"], "model": "embed-1"}
        )
        created.append((await client.jobs.create(type=kind, **params)).id)  # type: ignore[call-overload]
    everything = [job.id async for job in client.jobs.list(limit=100)]
    assert everything == list(reversed(created))

    embeds = [job.id async for job in client.jobs.list(type="llm_embed", limit=30)]
    assert embeds == [i for i in reversed(created) if created.index(i) % 2 == 1]

    for job_id in created[:10]:
        await client.jobs.cancel(job_id)
    clock.advance(60)
    cancelled = [job.id async for job in client.jobs.list(status=["cancelled"], limit=7)]
    assert sorted(cancelled) == sorted(created[:10])
    finished = [job async for job in client.jobs.list(status=["completed", "cancelled"], limit=100)]
    assert len(finished) == 250

    for job_id in created[100:103]:
        await client.jobs.acknowledge(job_id)
    acked = [job.id async for job in client.jobs.list(acknowledged=True)]
    assert sorted(acked) == sorted(created[100:103])
    not_acked = [job async for job in client.jobs.list(acknowledged=False, limit=100)]
    assert len(not_acked) == 247

    picked = created[5:15]
    by_ids = [job.id async for job in client.jobs.list(ids=picked)]
    assert sorted(by_ids) == sorted(picked)


async def test_first_page_and_next_page(client: AsyncMicroDC) -> None:
    for _ in range(5):
        await client.jobs.create(**_CHAT)
    page = await client.jobs.list(limit=2)
    assert len(page.data) == 2
    assert page.has_next_page()
    second = await page.get_next_page()
    assert {j.id for j in second.data}.isdisjoint({j.id for j in page.data})
    pages = [p async for p in page.iter_pages()]
    assert sum(len(p.data) for p in pages) == 5


async def test_events_stream_deltas_then_the_finished_job(client: AsyncMicroDC, clock: ManualClock) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="stream this")
    clock.advance(20)
    async with await client.jobs.events(job.id) as stream:
        events = [event async for event in stream]
    names = [event.event for event in events]
    assert "job.output.delta" in names
    assert names[-1] == "job.completed"
    deltas = "".join(e.data.delta for e in events if isinstance(e, JobOutputDeltaEvent))
    final = events[-1]
    assert isinstance(final, JobTerminalEvent)
    assert isinstance(final.data.result, LLMCompleteResult)
    assert deltas == final.data.result.text


async def test_files_upload_list_retrieve_delete(client: AsyncMicroDC, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello file")
    uploaded = await client.files.upload(file=path, purpose="document")
    assert (uploaded.filename, uploaded.bytes) == ("notes.txt", 10)
    assert uploaded.sha256 == hashlib.sha256(b"hello file").hexdigest()
    assert (await client.files.retrieve(uploaded.id)).id == uploaded.id
    assert [f.id async for f in client.files.list()] == [uploaded.id]
    deleted = await client.files.delete(uploaded.id)
    assert deleted.deleted is True
    with pytest.raises(NotFoundError):
        await client.files.retrieve(uploaded.id)


async def test_download_token_works_without_the_api_key_until_it_expires(
    client: AsyncMicroDC, base_url: str, clock: ManualClock
) -> None:
    uploaded = await client.files.upload(file=("a.bin", b"\x00\x01payload"))
    token = await client.files.create_download_token(uploaded.id, expires_in=60)
    assert token.file_id == uploaded.id
    assert token.token not in repr(token)

    async with httpx.AsyncClient() as anonymous:
        response = await anonymous.get(token.url if token.url.startswith("http") else base_url + token.url)
        assert response.content == b"\x00\x01payload"
        assert "authorization" not in {k.lower() for k in response.request.headers}

    content = await client.files.content(uploaded.id, token=token.token)
    assert isinstance(content, AsyncBinaryAPIResponse)
    assert await content.read() == b"\x00\x01payload"

    keyless = AsyncMicroDC(api_key="not-the-key", base_url=base_url)
    async with keyless:
        with_token = await keyless.files.content(uploaded.id, token=token.token)
        assert await with_token.read() == b"\x00\x01payload"
        clock.advance(61)
        with pytest.raises(PermissionDeniedError):
            await keyless.files.content(uploaded.id, token=token.token)


async def test_streaming_content_to_a_file(client: AsyncMicroDC, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000
    uploaded = await client.files.upload(file=("big.bin", payload))
    target = tmp_path / "copy.bin"
    async with client.files.with_streaming_response.content(uploaded.id) as response:
        await response.stream_to_file(target)
    assert target.read_bytes() == payload


async def test_models_list_and_retrieve(client: AsyncMicroDC) -> None:
    models = [m.id async for m in client.models.list()]
    assert {"echo-1", "embed-1", "doc-1"} <= set(models)
    embed = await client.models.retrieve("embed-1")
    assert embed.job_types == ["llm_embed"]
    assert embed.embedding_dimensions is not None


async def test_raw_response_exposes_headers_and_parses(client: AsyncMicroDC) -> None:
    raw = await client.jobs.with_raw_response.create(**_CHAT)
    assert raw.status_code == 201
    assert raw.request_id == raw.headers["x-request-id"]
    assert raw.http_request.headers["idempotency-key"]
    job = await raw.parse()
    assert job is await raw.parse()
    assert (await client.with_raw_response.jobs.retrieve(job.id)).status_code == 200
