"""Fixtures for the tests of ``microdc.testing``: a fake on a manual clock, and plain
httpx clients that reach it in-process or over a loopback socket."""

from __future__ import annotations

from typing import Any, Dict, AsyncIterator

import httpx
import pytest

from microdc.testing import FakeMicroDC, ManualClock

API_KEY = "test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
UPLOAD_LIMIT = 64 * 1024


def submit_body(**overrides: Any) -> Dict[str, Any]:
    """A valid ``llm_complete`` submission, with ``overrides`` applied."""
    return {"type": "llm_complete", "model": "echo-1", "prompt": "hello brave new world", **overrides}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> FakeMicroDC:
    """Jobs take 10 s on the manual clock (queued 0-2 s, running 2-10 s)."""
    return FakeMicroDC(
        api_key=API_KEY,
        job_duration=10.0,
        seed=1234,
        clock=clock,
        keepalive_interval=0.05,
        max_upload_bytes=UPLOAD_LIMIT,
    )


@pytest.fixture(params=["in-process", "socket"])
async def http(request: pytest.FixtureRequest, fake: FakeMicroDC) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client with the API key, in-process or through ``fake.serve()``."""
    if request.param == "in-process":
        async with fake.http_client(timeout=10) as client:
            yield client
    else:
        async with fake.serve() as base_url, httpx.AsyncClient(base_url=base_url, headers=AUTH, timeout=10) as client:
            yield client


@pytest.fixture
async def local(fake: FakeMicroDC) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client only (for tests where the socket adds nothing)."""
    async with fake.http_client(timeout=10) as client:
        yield client


async def submit(http: httpx.AsyncClient, **overrides: Any) -> Dict[str, Any]:
    response = await http.post("/api/v1/jobs/submit", json=submit_body(**overrides))
    assert response.status_code == 201, response.text
    job: Dict[str, Any] = response.json()
    return job


def assert_error(response: httpx.Response, status: int, code: str, param: Any = None) -> Dict[str, Any]:
    """The answer is the API's error body with this status, code and param."""
    assert response.status_code == status, response.text
    assert len(response.headers.get_list("x-request-id")) == 1
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["content-type"].startswith("application/json")
    error: Dict[str, Any] = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert error["code"] == code
    assert error["param"] == param
    assert error["message"]
    return error
