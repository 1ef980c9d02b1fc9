"""``InProcessTransport``: streamed answers, read timeouts, cleanup of the app task,
and ``fake.client()`` building an ``AsyncMicroDC`` on it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from microdc import AsyncMicroDC
from microdc.testing import Faults, FakeMicroDC, InProcessTransport
from microdc.testing._models_catalog import MODELS

from .conftest import API_KEY, submit


async def test_chunks_arrive_before_the_answer_ends(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(local)

    async with local.stream("GET", f"/api/v1/jobs/{job['id']}/events") as response:
        chunks = response.aiter_bytes()
        first = await asyncio.wait_for(chunks.__anext__(), 2)
        assert first.startswith(b"id: 1\nevent: job.status\n")
        fake.advance(10)
        rest = b"".join([chunk async for chunk in chunks])

    assert b"event: job.completed" in rest


async def test_a_slow_answer_raises_read_timeout_and_leaves_no_task(fake: FakeMicroDC) -> None:
    fake.faults = Faults(latency=5.0)
    before = len(asyncio.all_tasks())

    async with fake.http_client(timeout=httpx.Timeout(5, read=0.05)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/api/v1/models")

    assert len(asyncio.all_tasks()) == before


async def test_closing_the_transport_cancels_open_streams(fake: FakeMicroDC) -> None:
    transport = fake.transport()
    before = len(asyncio.all_tasks())
    client = httpx.AsyncClient(
        transport=transport, base_url="http://fake", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    job = await submit(client)
    response = await client.send(client.build_request("GET", f"/api/v1/jobs/{job['id']}/events"), stream=True)
    assert response.status_code == 200
    assert len(asyncio.all_tasks()) > before

    await client.aclose()
    assert len(asyncio.all_tasks()) == before
    await response.aclose()


async def test_app_exceptions_surface_to_the_caller() -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("boom")

    async with httpx.AsyncClient(transport=InProcessTransport(broken), base_url="http://x") as http:
        with pytest.raises(RuntimeError, match="boom"):
            await http.get("/")


async def test_an_app_that_never_answers_is_a_protocol_error() -> None:
    async def silent(*_: object) -> None:
        return None

    async with httpx.AsyncClient(transport=InProcessTransport(silent), base_url="http://x") as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/")


async def test_fake_client_is_an_async_microdc_wired_in_process(fake: FakeMicroDC) -> None:
    client = fake.client(max_retries=0)

    assert isinstance(client, AsyncMicroDC)
    assert client.api_key == API_KEY
    assert client.max_retries == 0
    models = await client.models.list()
    assert [model.id for model in models.data] == list(MODELS)
    assert fake.requests[-1].path == "/api/v1/models"
    assert fake.requests[-1].headers["authorization"] == "<redacted>"

    async with httpx.AsyncClient(transport=fake.transport()) as own:
        assert fake.client(http_client=own, api_key="other").api_key == "other"
