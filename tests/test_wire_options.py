"""Per-request options as they reach the server, over both transports (``tests/_wire.py``):
the per-attempt headers a caller sets or omits, any other header omitted, raw bodies.

The peers' versions of these behaviours are in ``tests/peers/``.
"""

from __future__ import annotations

from typing import List, Optional, AsyncIterator

import pytest

from microdc import InternalServerError, omit

from ._wire import ok, wired, status
from ._transports import transport
from .reliability._raw_server import RawRequest

__all__ = ["transport"]  # the fixture, imported for pytest

pytestmark = pytest.mark.usefixtures("no_retry_delays")

PER_ATTEMPT = ("x-stainless-retry-count", "x-stainless-read-timeout")


def per_attempt(requests: List[RawRequest]) -> List[tuple[Optional[str], ...]]:
    return [tuple(r.headers.get(name) for name in PER_ATTEMPT) for r in requests]


async def test_extra_headers_set_or_omit_the_read_timeout_header(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.get("/foo", cast_to=object, extra_headers={"X-Stainless-Read-Timeout": "5"})
        await client.get("/foo", cast_to=object, extra_headers={"x-stainless-read-timeout": omit})
        await client.get("/foo", cast_to=object)
    assert per_attempt(server.requests) == [("0", "5"), ("0", None), ("0", "60.0")]


async def test_default_headers_set_or_omit_the_per_attempt_headers_of_every_attempt(transport: str) -> None:
    headers = {"X-Stainless-Retry-Count": "fixed", "x-stainless-read-timeout": omit}
    async with wired(transport, status(500), ok(), default_headers=headers) as (client, server):
        await client.get("/foo", cast_to=object)
        await client.get("/bar", cast_to=object, extra_headers={"X-Other": "1"})
    assert per_attempt(server.requests) == [("fixed", None)] * 3


async def test_extra_headers_can_omit_any_header_the_sdk_sends(transport: str) -> None:
    names = ["User-Agent", "Accept", "Accept-Encoding", "X-Stainless-Lang", "X-Stainless-OS", "X-Stainless-Async"]
    async with wired(transport, ok()) as (client, server):
        await client.get("/foo", cast_to=object, extra_headers=dict.fromkeys(names, omit))
    (request,) = server.requests
    # Neither transport puts in a header of its own in their place.
    assert [name for name in names if name.lower() in request.headers] == []


async def test_a_call_whose_body_is_an_async_iterable_is_not_retried_and_says_why(transport: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"once"

    async with wired(transport, status(500), ok()) as (client, server):
        with pytest.raises(InternalServerError, match="cannot be rewound"):
            await client.post("/upload", content=chunks(), cast_to=object)
    assert len(server.requests) == 1


async def test_raw_bytes_are_resent_whole_on_a_retry(transport: str) -> None:
    async with wired(transport, status(500), ok()) as (client, server):
        await client.put("/upload", content=b"every byte", cast_to=object)
    assert [r.body for r in server.requests] == [b"every byte"] * 2
    assert {r.headers["content-type"] for r in server.requests} == {"application/octet-stream"}


async def test_a_body_and_raw_content_together_raise_type_error_before_sending(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        with pytest.raises(TypeError, match="one kind of body"):
            await client.post("/upload", body={"a": 1}, content=b"x", cast_to=object)
        with pytest.raises(TypeError, match="encode text to bytes"):
            await client.post("/upload", content="text", cast_to=object)  # type: ignore[arg-type]
    assert server.requests == []
