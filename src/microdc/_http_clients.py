"""The HTTP clients the SDK sends through, and the pool that copies of a client share.

* :class:`DefaultAsyncHttpxClient` is an ``httpx.AsyncClient`` with the SDK's defaults
  (timeout, connection limits, redirects followed) whose transports send through
  httpcore2's connection pool (:mod:`microdc._transport`).
* :func:`DefaultAioHttpClient` is the same over aiohttp (extra ``microdc[aiohttp]``).
* :class:`HttpClientPool` is what a client and its ``copy()``/``with_options()`` copies
  hold: one ``httpx.AsyncClient`` per event loop (:mod:`microdc._loop_bound`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Iterable, Optional

import httpx
from httpx import USE_CLIENT_DEFAULT

from ._gate import InFlightGate
from ._constants import DEFAULT_TIMEOUT, DEFAULT_CONNECTION_LIMITS
from ._loop_bound import STREAMING, HttpClientPool

if TYPE_CHECKING:
    import ssl

    from ._tls import VerifyTypes

__all__ = ["DefaultAioHttpClient", "DefaultAsyncHttpxClient", "HttpClientPool"]


class DefaultAsyncHttpxClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` with the SDK's defaults, sending through httpcore2's pool.

    It takes every argument of ``httpx.AsyncClient`` (``verify``, ``cert``,
    ``trust_env``, ``http2``, ``proxy``, ``mounts``, ``limits``, ``event_hooks``, ...)
    and, as ``httpx.AsyncHTTPTransport`` does, ``uds``, ``local_address``, ``retries``
    and ``socket_options``. The transports httpx would build for the client and for
    its proxies (``proxy=`` or the environment's ``HTTP(S)_PROXY``/``ALL_PROXY``/
    ``NO_PROXY``) are :class:`~microdc._transport.Httpcore2Transport` instead; a
    ``transport=`` or ``mounts=`` you pass is used as given. ``verify`` takes a path
    (``str`` or ``os.PathLike``, without httpx's deprecation warning), a bool or an
    ``ssl.SSLContext``; it, and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` with ``trust_env``,
    are read and checked here, once for the client and its proxies (:mod:`microdc._tls`).
    A body you stream (``send(..., stream=True)``) and drop unclosed is closed on its
    event loop once it is garbage-collected.

    Requests beyond ``limits.max_connections`` wait their turn in front of the pool
    rather than inside it, so a deep queue costs no pool work per request (measured
    with ``benchmarks/soak.py``: 256 calls in flight over 100 connections); the wait
    is bounded by ``timeout.pool`` (:mod:`microdc._gate`). Streamed answers skip the
    queue.
    """

    def __init__(
        self,
        *,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: int = 0,
        socket_options: Optional[Iterable[Any]] = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("http2"):  # before httpx checks it, with a message that names the SDK's extra
            from ._transport import require_h2

            require_h2()
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        kwargs.setdefault("limits", DEFAULT_CONNECTION_LIMITS)
        kwargs.setdefault("follow_redirects", True)
        self._transport_options: Mapping[str, Any] = {
            "uds": uds,
            "local_address": local_address,
            "retries": retries,
            "socket_options": socket_options,
        }
        # One SSL context for the client and each of its proxies, built (and `verify`
        # checked) by the first transport httpx builds, here in the constructor.
        self._ssl_context: Optional[ssl.SSLContext] = None
        super().__init__(**kwargs)
        custom_transport = kwargs.get("transport") is not None or kwargs.get("mounts")
        limits: httpx.Limits = kwargs["limits"]
        limit = None if custom_transport else limits.max_connections
        self._gate = None if limit is None else InFlightGate(limit)

    def _verify(self, verify: VerifyTypes, cert: Any, trust_env: bool) -> ssl.SSLContext:
        if self._ssl_context is None:
            from ._tls import ssl_context

            self._ssl_context = ssl_context(verify, trust_env=trust_env, cert=cert)
        return self._ssl_context

    # httpx builds its transports through these two methods; the SDK's use httpcore2.
    def _init_transport(
        self,
        verify: VerifyTypes = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_CONNECTION_LIMITS,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        from ._transport import Httpcore2Transport

        return Httpcore2Transport(
            verify=self._verify(verify, cert, trust_env),
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            **self._transport_options,
        )

    def _init_proxy_transport(
        self,
        proxy: httpx.Proxy,
        verify: VerifyTypes = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = DEFAULT_CONNECTION_LIMITS,
    ) -> httpx.AsyncBaseTransport:
        from ._transport import Httpcore2Transport

        return Httpcore2Transport(
            verify=self._verify(verify, cert, trust_env),
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            proxy=proxy,
            socket_options=self._transport_options["socket_options"],
        )

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: Any = USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if stream:
            # The transport guards a streamed body against being dropped unclosed; streams skip the gate.
            token = STREAMING.set(True)
            try:
                return await super().send(request, stream=True, auth=auth, follow_redirects=follow_redirects)
            finally:
                STREAMING.reset(token)
        gate = self._gate
        if gate is None or (places := gate.place()) is None:
            return await super().send(request, stream=False, auth=auth, follow_redirects=follow_redirects)
        await gate.enter(places, request)
        try:
            return await super().send(request, stream=False, auth=auth, follow_redirects=follow_redirects)
        finally:
            places.release()


def DefaultAioHttpClient(*, http2: bool = False, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that sends through aiohttp (``pip install 'microdc[aiohttp]'``).

    ``async with DefaultAioHttpClient() as http, AsyncMicroDC(http_client=http) as client:``
    the same API, aiohttp's faster connection handling underneath. The caller closes
    it (the client leaves a given ``http_client`` open). It takes ``timeout``,
    ``limits`` (the SDK's defaults unless given), ``follow_redirects``,
    ``max_redirects``, ``headers``, ``base_url``, ``proxy``, ``verify`` and
    ``trust_env``, meaning what they mean for ``httpx.AsyncClient``:

    * ``proxy=`` (a URL or an ``httpx.Proxy``; HTTP and HTTPS proxies); without it and
      with ``trust_env``, ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` and ``NO_PROXY``
      choose the proxy per request exactly as httpx does;
    * ``verify=``: a path to CA certificates, a bool or an ``ssl.SSLContext``; with
      ``trust_env``, ``SSL_CERT_FILE``/``SSL_CERT_DIR``, read now (:mod:`microdc._tls`);
    * ``http2=True`` raises ``ValueError``: aiohttp speaks HTTP/1.1 only.

    See :mod:`microdc._aiohttp` for why it is not httpx-aiohttp.
    """
    if http2:
        raise ValueError(
            "DefaultAioHttpClient cannot speak HTTP/2: aiohttp has no HTTP/2 client. "
            "Use DefaultAsyncHttpxClient(http2=True) (pip install 'microdc[http2]') for HTTP/2."
        )
    try:
        from ._aiohttp import AioHttpClient
    except ImportError as exc:
        raise RuntimeError("DefaultAioHttpClient needs aiohttp: pip install 'microdc[aiohttp]'") from exc
    return AioHttpClient(**options)
