"""The HTTP clients the SDK sends through, and the pool that copies of a client share.

* :class:`DefaultAsyncHttpxClient` is an ``httpx.AsyncClient`` with the SDK's defaults
  (timeout, connection limits, redirects followed).
* :func:`DefaultAioHttpClient` is the same over aiohttp (extra ``microdc[aiohttp]``).
* :class:`HttpClientPool` is what a client and its ``copy()``/``with_options()`` copies
  hold: the one ``httpx.AsyncClient``, bound to the event loop it was first used on.
  A pool the SDK made opens a fresh ``httpx.AsyncClient`` for another loop (a
  connection belongs to the loop that opened it); a caller's ``http_client`` cannot
  be re-made, so using it from another loop raises ``RuntimeError`` before sending.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

import httpx
from httpx import USE_CLIENT_DEFAULT

from ._constants import DEFAULT_TIMEOUT, DEFAULT_CONNECTION_LIMITS
from ._exceptions import MicroDCError

__all__ = ["DefaultAioHttpClient", "DefaultAsyncHttpxClient", "HttpClientPool"]


class DefaultAsyncHttpxClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` with the SDK's default timeout, limits and redirect policy.

    Pass your own to tune them: ``AsyncMicroDC(http_client=DefaultAsyncHttpxClient(proxy=...))``.
    httpx drops the ``Authorization`` header when a redirect leaves the origin.

    Requests beyond ``limits.max_connections`` wait their turn in front of the pool
    rather than inside it: httpcore matches every queued request against every
    connection each time it hands one out, so a deep queue costs CPU per request
    (``benchmarks/soak.py``, 256 calls in flight over 100 connections: about 6 times
    the CPU per request without this gate). Streamed answers skip the gate.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        kwargs.setdefault("limits", DEFAULT_CONNECTION_LIMITS)
        kwargs.setdefault("follow_redirects", True)
        super().__init__(**kwargs)
        custom_transport = kwargs.get("transport") is not None or kwargs.get("mounts")
        limits: httpx.Limits = kwargs["limits"]
        self._max_in_flight = None if custom_transport else limits.max_connections
        self._gate: Optional[asyncio.Semaphore] = None
        self._gate_loop: Optional[asyncio.AbstractEventLoop] = None

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        gate = None if stream else self._in_flight_gate()
        if gate is None:
            return await super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        async with gate:
            return await super().send(request, stream=False, auth=auth, follow_redirects=follow_redirects)

    def _in_flight_gate(self) -> Optional[asyncio.Semaphore]:
        """The semaphore of the running asyncio loop (None: no limit, or not asyncio)."""
        if self._max_in_flight is None:
            return None
        loop = _current_loop()
        if loop is None:
            return None
        if self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(self._max_in_flight), loop
        return self._gate


def DefaultAioHttpClient(**kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that sends through aiohttp (``pip install 'microdc[aiohttp]'``).

    ``async with DefaultAioHttpClient() as http, AsyncMicroDC(http_client=http) as client:``
    the same API, aiohttp's faster connection handling underneath. The caller closes
    it (the client leaves a given ``http_client`` open). Takes ``timeout``, ``limits``,
    ``follow_redirects``, ``max_redirects``, ``headers``, ``base_url``, ``proxy`` and
    ``verify``; see :mod:`microdc._aiohttp` for why it is not httpx-aiohttp.
    """
    try:
        from ._aiohttp import AioHttpClient
    except ImportError as exc:
        raise RuntimeError("DefaultAioHttpClient needs aiohttp: pip install 'microdc[aiohttp]'") from exc
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    kwargs.setdefault("limits", DEFAULT_CONNECTION_LIMITS)
    kwargs.setdefault("follow_redirects", True)
    return AioHttpClient(**kwargs)


def _current_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not under asyncio (e.g. trio): nothing to bind to
        return None


class HttpClientPool:
    """The ``httpx.AsyncClient`` shared by a client and its copies."""

    __slots__ = ("_client", "_factory", "_loop", "closed", "owned")

    def __init__(self, client: Optional[httpx.AsyncClient], factory: Callable[[], httpx.AsyncClient]) -> None:
        self.owned = client is None
        self._factory = factory
        self._client: Optional[httpx.AsyncClient] = client
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self.closed = False

    def get(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` to send with on the running event loop."""
        if self.closed:
            raise MicroDCError(
                "This client has been closed; create a new AsyncMicroDC (or use `async with AsyncMicroDC() as client:`)."
            )
        loop = _current_loop()
        client = self._client
        if client is not None and loop is self._loop:
            return client
        if client is None or self._loop is None:
            self._loop = loop
            if client is None:
                client = self._client = self._factory()
            return client
        if not self.owned:
            raise RuntimeError(
                "This AsyncMicroDC was given an `http_client` that is bound to another event loop. "
                "Create the client (and its http_client) inside the event loop that uses it."
            )
        # Connections of the old loop cannot be used or closed from this one; they are
        # dropped with it. A fresh pool serves this loop.
        self._loop = loop
        client = self._client = self._factory()
        return client

    @property
    def client(self) -> Optional[httpx.AsyncClient]:
        return self._client

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        client, self._client = self._client, None
        if client is not None and self.owned:
            await client.aclose()
