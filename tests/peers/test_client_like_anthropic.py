"""What anthropic-sdk-python's ``tests/test_client.py`` pins for its async client
(``TestAsyncAnthropic``) beyond what openai-python's does (``test_client_like_openai.py``
has the shared ones), in this SDK's words and public API, over both transports.

Its ``x-stainless-helper`` tests pin how that SDK's own helpers tag requests (values
from the client and the call are joined and deduplicated); this SDK sends no such
header, and a header set on both the client and the call takes the call's value.
"""

from __future__ import annotations

import httpx
import pytest

from microdc import APIStatusError, BadRequestError, omit

from .._wire import ok, wired, status


async def test_httpx_headers_objects_are_accepted_as_header_mappings(transport: str) -> None:
    async with wired(transport, ok(), default_headers=httpx.Headers({"X-Bar": "true"})) as (client, server):
        await client.post("/foo", cast_to=object, extra_headers=httpx.Headers({"X-Foo": "Foo", "X-Bar": "false"}))
    (request,) = server.requests
    assert (request.headers["x-foo"], request.headers["x-bar"]) == ("Foo", "false")


async def test_a_header_on_both_the_client_and_the_call_takes_the_calls_value(transport: str) -> None:
    helper = {"x-stainless-helper": "session_runner"}
    async with wired(transport, ok(), default_headers=helper) as (client, server):
        await client.post("/foo", cast_to=object, extra_headers={"X-Stainless-Helper": "message_batches"})
        await client.with_options(default_headers={"x-stainless-helper": "child"}).post("/foo", cast_to=object)
    assert [r.headers["x-stainless-helper"] for r in server.requests] == ["message_batches", "child"]


async def test_a_header_omitted_on_the_client_stays_omitted_in_its_copies(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        removed = client.with_options(default_headers={"X-Stainless-Lang": omit})
        copied = removed.with_options(default_headers={"X-Bar": "true"})
        await copied.post("/foo", cast_to=object)
    (request,) = server.requests
    assert "x-stainless-lang" not in request.headers
    assert request.headers["x-bar"] == "true"


async def test_a_status_error_carries_the_error_type_from_the_body(transport: str) -> None:
    async with wired(transport, status(400, error_type="invalid_request_error")) as (client, _):
        with pytest.raises(APIStatusError) as info:
            await client.jobs.create(type="llm_complete", model="echo-1", prompt="Hello")
    assert isinstance(info.value, BadRequestError)
    assert (info.value.type, info.value.status_code) == ("invalid_request_error", 400)
