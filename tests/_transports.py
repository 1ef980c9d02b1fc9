"""The HTTP clients shared fixtures run the SDK over: its default client and ``DefaultAioHttpClient``.

Use the ``transport`` fixture (parametrised over :data:`TRANSPORTS`, one test per
transport) with :func:`http_client_for`, which yields the ``http_client`` to give
``AsyncMicroDC``: None for the SDK's own default (httpx over httpcore2), or a
``DefaultAioHttpClient`` it closes afterwards (a caller's client is the caller's to close).
:func:`build_http_client` builds either with options of the test's own, and
:func:`served_client` serves a fake on a loopback socket and yields a client of it
over the transport.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, List, Optional, AsyncGenerator

import httpx
import pytest

from microdc import AsyncMicroDC, DefaultAioHttpClient, DefaultAsyncHttpxClient

if TYPE_CHECKING:
    from microdc.testing import FakeMicroDC

__all__ = ["TRANSPORTS", "build_http_client", "http_client_for", "served_client", "transport"]

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


@contextlib.asynccontextmanager
async def served_client(fake: FakeMicroDC, name: str, **client_options: Any) -> AsyncGenerator[AsyncMicroDC, None]:
    """``fake`` served on a loopback socket, and an ``AsyncMicroDC`` of it over transport ``name``.

    ``client_options`` go to ``AsyncMicroDC`` (the API key is ``fake.api_key`` unless given).
    The client, its HTTP client and the server are closed when the block ends.
    """
    client_options.setdefault("api_key", fake.api_key)
    async with (
        fake.serve(port=0) as base_url,
        http_client_for(name) as http_client,
        AsyncMicroDC(base_url=base_url, http_client=http_client, **client_options) as client,
    ):
        yield client


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
