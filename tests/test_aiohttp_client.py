"""``DefaultAioHttpClient`` (the lean aiohttp adapter) against real loopback servers."""

from __future__ import annotations

import socket
import hashlib
import contextlib
from typing import Any, Dict, AsyncIterator, AsyncGenerator
from pathlib import Path

import anyio
import httpx
import pytest

from microdc import AsyncMicroDC, APITimeoutError, APIConnectionError, DefaultAioHttpClient
from microdc.testing import FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays

from .reliability._raw_server import RawServer, hang, send, response, json_response

pytest.importorskip("aiohttp")

API_KEY = "sk-aiohttp-test"
LIMIT = 10.0


def job_data(*, id: str) -> Dict[str, object]:
    """A completed Job as the API sends it."""
    return {
        "id": id,
        "object": "job",
        "type": "llm_complete",
        "model": "echo-1",
        "status": "completed",
        "priority": "normal",
        "metadata": {},
        "timeout_seconds": 300,
        "progress": 1.0,
        "created_at": "2026-01-01T00:00:00Z",
        "started_at": "2026-01-01T00:00:01Z",
        "completed_at": "2026-01-01T00:00:02Z",
        "acknowledged": False,
        "acknowledged_at": None,
        "usage": None,
        "error": None,
        "result": {"type": "llm_complete", "text": "hi", "finish_reason": "stop"},
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(clock: ManualClock) -> AsyncIterator[AsyncMicroDC]:
    fake = FakeMicroDC(job_duration=10.0, seed=3, clock=clock, keepalive_interval=0.05)
    async with fake.serve(port=0) as url:
        with disable_retry_delays():
            async with _sdk(url, api_key="test") as client:
                yield client


@contextlib.asynccontextmanager
async def _sdk(base_url: str, *, api_key: str = API_KEY, **options: Any) -> AsyncGenerator[AsyncMicroDC, None]:
    """An AsyncMicroDC over a fresh DefaultAioHttpClient; a caller's http_client is the caller's to close."""
    async with (
        DefaultAioHttpClient() as http,
        AsyncMicroDC(api_key=api_key, base_url=base_url, http_client=http, **options) as client,
    ):
        yield client


async def test_post_json_then_get_parses(client: AsyncMicroDC) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi", metadata={"k": "v"})
    assert job.metadata == {"k": "v"}
    raw = await client.jobs.with_raw_response.retrieve(job.id)
    assert raw.status_code == 200
    assert raw.request_id == raw.headers["x-request-id"]
    assert (await raw.parse()).id == job.id
    assert raw.elapsed.total_seconds() > 0


async def test_multipart_upload_and_download(client: AsyncMicroDC, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4000
    path = tmp_path / "big.bin"
    path.write_bytes(payload)
    uploaded = await client.files.upload(file=path, purpose="document")
    assert uploaded.bytes == len(payload)
    assert uploaded.sha256 == hashlib.sha256(payload).hexdigest()
    small = await client.files.upload(file=("a.txt", b"page one", "text/plain"))
    content = await client.files.content(small.id)
    assert await content.read() == b"page one"
    target = tmp_path / "copy.bin"
    async with client.files.with_streaming_response.content(uploaded.id) as streamed:
        await streamed.stream_to_file(target)
    assert target.read_bytes() == payload


async def test_events_stream(client: AsyncMicroDC, clock: ManualClock) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="stream this")
    clock.advance(20)
    async with await client.jobs.events(job.id) as stream:
        names = [event.event async for event in stream]
    assert "job.output.delta" in names
    assert names[-1] == "job.completed"


async def test_leaving_a_stream_early_then_reusing_the_client(client: AsyncMicroDC, clock: ManualClock) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="stream this please")
    clock.advance(20)
    async with await client.jobs.events(job.id) as stream:
        async for _ in stream:
            break
    assert (await client.jobs.retrieve(job.id)).id == job.id


async def test_timeout_is_api_timeout_error() -> None:
    async with (
        RawServer(hang()) as server,
        _sdk(server.url, max_retries=0, timeout=httpx.Timeout(0.2, connect=5.0)) as client,
    ):
        with anyio.fail_after(LIMIT), pytest.raises(APITimeoutError):
            await client.jobs.retrieve("job_1")


async def test_connection_refused_is_api_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with _sdk(f"http://127.0.0.1:{port}", max_retries=0) as client:
        with anyio.fail_after(LIMIT), pytest.raises(APIConnectionError) as info:
            await client.jobs.retrieve("job_1")
    assert not isinstance(info.value, APITimeoutError)


def _redirect(status: int, location: str) -> bytes:
    return response(status, headers={"Location": location})


async def test_cross_origin_redirect_drops_authorization() -> None:
    async with (
        RawServer(send(json_response(200, job_data(id="job_elsewhere")))) as other,
        RawServer(send(_redirect(307, f"{other.url}/api/v1/jobs/job_1"))) as origin,
        _sdk(origin.url, max_retries=0) as client,
    ):
        with anyio.fail_after(LIMIT):
            job = await client.jobs.retrieve("job_1")
    assert job.id == "job_elsewhere"
    assert origin.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert "authorization" not in other.requests[0].headers


async def test_same_origin_redirect_keeps_authorization_and_loops_are_bounded() -> None:
    async with (
        RawServer(send(_redirect(302, "/api/v1/jobs/job_2")), send(json_response(200, job_data(id="job_2")))) as ok,
        RawServer(send(_redirect(302, "/api/v1/jobs/job_1"))) as loop,
    ):
        http = DefaultAioHttpClient()
        async with AsyncMicroDC(api_key=API_KEY, base_url=ok.url, max_retries=0, http_client=http) as client:
            with anyio.fail_after(LIMIT):
                assert (await client.jobs.retrieve("job_1")).id == "job_2"
            with anyio.fail_after(LIMIT), pytest.raises(APIConnectionError, match="Too many redirects"):
                await client.with_options(base_url=loop.url).jobs.retrieve("job_1")
        await http.aclose()
    assert ok.requests[1].headers["authorization"] == f"Bearer {API_KEY}"
    assert len(loop.requests) == 21


async def test_close_releases_the_session(client: AsyncMicroDC) -> None:
    http = DefaultAioHttpClient()
    async with AsyncMicroDC(api_key="test", base_url=str(client.base_url), http_client=http) as other:
        await other.models.list()
        assert not http.is_closed
        await http.aclose()
        assert http.is_closed
    async with DefaultAioHttpClient() as bare:
        assert not bare.is_closed
    assert bare.is_closed


def test_missing_aiohttp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "microdc._aiohttp", None)
    with pytest.raises(RuntimeError, match=r"pip install 'microdc\[aiohttp\]'"):
        DefaultAioHttpClient()


def test_http2_says_aiohttp_has_none_and_names_the_httpx_client() -> None:
    with pytest.raises(ValueError, match=r"aiohttp has no HTTP/2.*DefaultAsyncHttpxClient\(http2=True\)"):
        DefaultAioHttpClient(http2=True)
