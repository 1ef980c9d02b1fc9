"""What every request carries: the header set, its order, overrides, and the per-attempt headers."""

from __future__ import annotations

import sys
import platform
from typing import List, Optional

import httpx
import pytest

import microdc
from microdc import omit
from microdc._types import Headers

from .conftest import API_KEY, Recorder, reply, make_client

PLATFORM_HEADERS = [
    "user-agent",
    "x-stainless-lang",
    "x-stainless-package-version",
    "x-stainless-os",
    "x-stainless-arch",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-async",
]


def names(request: httpx.Request) -> List[str]:
    return [name.decode().lower() for name, _ in request.headers.raw]


async def sent(call_headers: Optional[Headers] = None, **client_kwargs: object) -> httpx.Request:
    """The request of one GET with ``extra_headers=call_headers`` by a client built with ``client_kwargs``."""
    recorder = Recorder()
    async with make_client(recorder, **client_kwargs) as client:
        await client.get("/things", cast_to=object, extra_headers=call_headers)
    return recorder.last


async def test_platform_headers_are_sent() -> None:
    request = await sent()
    assert request.headers["User-Agent"] == f"AsyncMicroDC/Python {microdc.__version__}"
    assert request.headers["X-Stainless-Lang"] == "python"
    assert request.headers["X-Stainless-Package-Version"] == microdc.__version__
    assert request.headers["X-Stainless-Runtime"] == platform.python_implementation()
    assert request.headers["X-Stainless-Runtime-Version"] == platform.python_version()
    assert request.headers["X-Stainless-Async"] == "async:asyncio"
    assert request.headers["X-Stainless-Arch"] in {"arm64", "x64", "x32"} or request.headers[
        "X-Stainless-Arch"
    ].startswith("other:")
    if sys.platform.startswith("linux"):
        assert request.headers["X-Stainless-OS"].startswith("Linux")


async def test_auth_header_is_bearer_api_key() -> None:
    request = await sent()
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"


async def test_headers_are_in_order_default_platform_auth_custom_call() -> None:
    request = await sent(default_headers={"X-Custom": "c"}, call_headers={"X-Call": "x"})
    order = names(request)
    expected = ["accept", *PLATFORM_HEADERS, "authorization", "x-custom", "x-call"]
    assert [name for name in order if name in expected] == expected
    assert order.index("x-call") < order.index("x-stainless-retry-count")


async def test_a_request_without_a_body_sends_no_content_type() -> None:
    assert "content-type" not in names(await sent())


async def test_a_json_body_is_described_right_after_accept() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.post("/things", cast_to=object, body={"a": 1})
    order = names(recorder.last)
    assert order[order.index("accept") + 1] == "content-type"
    assert recorder.last.headers["content-type"] == "application/json"


async def test_each_header_is_sent_once() -> None:
    order = names(await sent(default_headers={"x-custom": "c"}))
    assert len(order) == len(set(order))


async def test_default_headers_omit_removes_a_platform_header() -> None:
    request = await sent(default_headers={"X-Stainless-Async": omit})
    assert "x-stainless-async" not in request.headers
    assert "x-stainless-lang" in request.headers


async def test_extra_headers_omit_removes_a_header_for_one_call() -> None:
    request = await sent(call_headers={"X-Stainless-Lang": omit})
    assert "x-stainless-lang" not in request.headers


async def test_custom_header_overrides_default_case_insensitively() -> None:
    request = await sent(default_headers={"user-agent": "my-app/1.0"})
    assert request.headers.get_list("User-Agent") == ["my-app/1.0"]


async def test_call_header_overrides_client_header_case_insensitively() -> None:
    request = await sent(default_headers={"X-Team": "a"}, call_headers={"x-team": "b"})
    assert request.headers.get_list("X-Team") == ["b"]


async def test_call_header_can_override_authorization() -> None:
    request = await sent(call_headers={"authorization": "Bearer other"})
    assert request.headers.get_list("Authorization") == ["Bearer other"]


async def test_retry_count_header_counts_attempts() -> None:
    recorder = Recorder(reply(500), reply(503), reply(200, {}))
    with microdc._retry.disable_retry_delays():
        async with make_client(recorder) as client:
            await client.get("/things", cast_to=object)
    assert [r.headers["x-stainless-retry-count"] for r in recorder.requests] == ["0", "1", "2"]


async def test_read_timeout_header_from_client_default() -> None:
    request = await sent()
    assert float(request.headers["x-stainless-read-timeout"]) == 60.0


async def test_read_timeout_header_from_client_timeout() -> None:
    request = await sent(timeout=httpx.Timeout(10.0, read=42.0))
    assert float(request.headers["x-stainless-read-timeout"]) == 42.0


async def test_read_timeout_header_from_call_timeout() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.get("/things", cast_to=object, timeout=12.5)
    assert float(recorder.last.headers["x-stainless-read-timeout"]) == 12.5
    assert recorder.last.extensions["timeout"]["read"] == 12.5


async def test_calls_with_different_timeouts_on_one_client_each_send_their_own() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        for timeout in (5.0, None, 7.5, 5.0):
            await client.get("/things", cast_to=object, timeout=timeout)
        await client.post("/things", cast_to=object, body={}, timeout=9.0)
        await client.get("/things", cast_to=object)
    assert [r.headers.get("x-stainless-read-timeout") for r in recorder.requests] == [
        "5.0",
        None,
        "7.5",
        "5.0",
        "9.0",
        "60.0",
    ]
    assert [r.headers.get("content-type") for r in recorder.requests][-2:] == ["application/json", None]


async def test_default_headers_is_a_copy_that_does_not_change_the_client() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        client.default_headers["X-Sneaky"] = "1"
        await client.get("/things", cast_to=object)
    assert "x-sneaky" not in recorder.last.headers


async def test_no_read_timeout_header_without_timeout() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.get("/things", cast_to=object, timeout=None)
    assert "x-stainless-read-timeout" not in recorder.last.headers


async def test_accept_json() -> None:
    request = await sent()
    assert request.headers["Accept"] == "application/json"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_json_body_is_sent_with_json_content_type(method: str) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        if method == "POST":
            await client.post("/things", cast_to=object, body={"a": 1})
        else:
            await client.delete("/things", cast_to=object, body={"a": 1})
    assert recorder.last.headers["content-type"] == "application/json"
    assert recorder.last.content == b'{"a":1}'
