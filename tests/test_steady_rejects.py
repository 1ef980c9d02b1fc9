"""Steady refuses requests that do not match openapi.yml.

The generated contract tests in ``tests/api_resources/`` prove something only
because the mock server (``scripts/mock``) rejects any request the spec does not
allow. These hand-written tests show that it does, with requests that get past the
SDK's own argument checks: one built by hand with ``client.post``, one smuggling a
wrong type in through ``extra_body``.
"""

from __future__ import annotations

import os
from typing import AsyncIterator

import httpx
import pytest

from microdc import AsyncMicroDC, BadRequestError

pytestmark = pytest.mark.steady

base_url = os.environ.get("TEST_API_BASE_URL", "http://127.0.0.1:4010")


@pytest.fixture
async def client() -> AsyncIterator[AsyncMicroDC]:
    async with AsyncMicroDC(api_key="My API Key", base_url=base_url, max_retries=0) as client:
        yield client


async def test_a_complete_job_is_accepted(client: AsyncMicroDC) -> None:
    response = await client.post(
        "/api/v1/jobs/submit",
        cast_to=httpx.Response,
        body={"type": "llm_complete", "model": "echo-1", "prompt": "hi"},
    )
    assert response.status_code == 201


async def test_a_job_without_model_is_rejected(client: AsyncMicroDC) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.post("/api/v1/jobs/submit", cast_to=httpx.Response, body={"type": "llm_complete", "prompt": "hi"})
    assert caught.value.status_code == 400
    # E3007: a required field is missing.
    assert caught.value.response.headers["x-steady-error-1-code"] == "E3007"
    assert "model" in caught.value.response.headers["x-steady-error-1-message"]


async def test_a_wrong_type_through_extra_body_is_rejected(client: AsyncMicroDC) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi", extra_body={"prompt": 42})
    # E3008: a field has the wrong type.
    assert caught.value.response.headers["x-steady-error-1-code"] == "E3008"
    assert caught.value.response.headers["x-steady-error-1-path"] == "body.prompt"
