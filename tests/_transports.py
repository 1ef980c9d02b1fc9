"""The HTTP clients shared fixtures run the SDK over: its default client and ``DefaultAioHttpClient``.

Use the ``transport`` fixture (parametrised over :data:`TRANSPORTS`, one test per
transport) with :func:`http_client_for`, which yields the ``http_client`` to give
``AsyncMicroDC``: None for the SDK's own default (httpx over httpcore2), or a
``DefaultAioHttpClient`` it closes afterwards (a caller's client is the caller's to close).
:func:`build_http_client` builds either with options of the test's own.
"""

from __future__ import annotations

import contextlib
from typing import Any, List, Optional, AsyncGenerator

import httpx
import pytest

from microdc import DefaultAioHttpClient, DefaultAsyncHttpxClient

__all__ = ["TRANSPORTS", "build_http_client", "http_client_for", "transport"]

TRANSPORTS: List[str] = ["httpx", "aiohttp"]


@contextlib.asynccontextmanager
async def http_client_for(name: str) -> AsyncGenerator[Optional[httpx.AsyncClient], None]:
    """The ``http_client`` argument for transport ``name``, closed when the block ends."""
    if name == "httpx":
        yield None
        return
    if name != "aiohttp":
        raise ValueError(f"unknown transport {name!r}; choose from {TRANSPORTS}")
    pytest.importorskip("aiohttp")
    async with DefaultAioHttpClient() as http:
        yield http


def build_http_client(name: str, **options: Any) -> httpx.AsyncClient:
    """``DefaultAsyncHttpxClient(**options)`` or ``DefaultAioHttpClient(**options)``: the caller closes it."""
    if name == "httpx":
        return DefaultAsyncHttpxClient(**options)
    if name != "aiohttp":
        raise ValueError(f"unknown transport {name!r}; choose from {TRANSPORTS}")
    pytest.importorskip("aiohttp")
    return DefaultAioHttpClient(**options)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """The name of the transport a test runs over (each test runs once per transport)."""
    name = request.param
    assert isinstance(name, str)
    return name
