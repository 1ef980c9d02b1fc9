"""A lean ``httpx.AsyncClient`` that sends through one ``aiohttp.ClientSession``.

:class:`AioHttpClient` keeps the contract the SDK relies on — ``await send(request,
stream=...)`` returns an ``httpx.Response``; timeouts raise ``httpx.TimeoutException``
subclasses and connection failures ``httpx.TransportError`` subclasses — but skips
the layers of ``httpx.AsyncClient.send`` the SDK does not use (auth flows, cookie
extraction, event hooks) and converts headers once each way. Redirects are followed
here (at most ``max_redirects``); one that leaves the origin drops ``Authorization``.

Requests beyond ``limits.max_connections`` wait in the SDK's queue in front of the
session (:mod:`microdc._gate`), bounded by ``timeout.pool``; streamed answers skip
it, as on the default client. The session is created lazily, inside the event loop that sends first (the SDK's
``HttpClientPool`` makes one client per loop).

What it keeps of httpx, so both transports behave alike:

* proxies: ``proxy=``, or with ``trust_env`` the environment's ``HTTP_PROXY``/
  ``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY``, are read by ``httpx.AsyncClient`` itself
  and become its mounts; each request goes through the proxy httpx would pick for its
  URL (same precedence, same ``NO_PROXY`` matching). A failure through a proxy
  carries a note naming it, never its credentials;
* TLS: the SSL context is built with the client, by httpx's rules (:mod:`microdc._tls`),
  not aiohttp's import-time default;
* a streamed body dropped unclosed is closed on its loop when it is garbage-collected
  (:class:`~microdc._loop_bound.LoopGuard`): aiohttp itself keeps such a connection
  until the server ends the body.
"""

from __future__ import annotations

import time
import base64
import asyncio
import datetime
import functools
from typing import Any, Dict, List, Type, Tuple, Union, Mapping, Optional, Sequence, AsyncIterator

import httpx
import aiohttp

from ._tls import VerifyTypes, ssl_context
from ._gate import InFlightGate
from ._constants import DEFAULT_TIMEOUT, DEFAULT_CONNECTION_LIMITS
from ._loop_bound import LoopGuard

__all__ = ["AioHttpClient"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TimeoutKey = Tuple[Optional[float], Optional[float], Optional[float]]
# aiohttp >= 3.10 tells a connect timeout from a read timeout; older ones raise one kind.
_CONNECT_TIMEOUT: Tuple[Type[BaseException], ...] = tuple(
    kind for kind in (getattr(aiohttp, "ConnectionTimeoutError", None),) if isinstance(kind, type)
)


def _transport_error(exc: BaseException, request: httpx.Request, note: Optional[str] = None) -> httpx.TransportError:
    """The httpx exception for an aiohttp (or asyncio) failure, with ``note`` added."""
    error = _error_class(exc)(str(exc) or type(exc).__name__, request=request)
    if note is not None:
        error.add_note(note)
    return error


def _error_class(exc: BaseException) -> Type[httpx.TransportError]:
    if isinstance(exc, _CONNECT_TIMEOUT):
        return httpx.ConnectTimeout
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy refused the tunnel
        return httpx.ProxyError
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        return httpx.RemoteProtocolError
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol
    return httpx.ReadError


async def _close_response(response: aiohttp.ClientResponse) -> None:
    response.close()


class _AiohttpStream(httpx.AsyncByteStream):
    """The body of one aiohttp response, as httpx reads it; closing it (or dropping it) frees the connection."""

    __slots__ = ("_guard", "_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request
        # aiohttp's own objects keep the response (and its connection) until the body ends.
        self._guard = LoopGuard(functools.partial(_close_response, response))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                yield chunk
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _transport_error(exc, self._request) from exc

    async def aclose(self) -> None:
        self._guard.release()
        response = self._response
        if response.content.at_eof():
            response.release()  # the connection goes back to the pool
        else:
            response.close()  # unread body: the connection cannot be reused


class AioHttpClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose ``send`` goes straight to ``aiohttp``."""

    def __init__(
        self,
        *,
        timeout: Union[httpx.Timeout, float, None] = DEFAULT_TIMEOUT,
        limits: Optional[httpx.Limits] = DEFAULT_CONNECTION_LIMITS,
        follow_redirects: bool = True,
        max_redirects: int = 20,
        headers: Optional[Mapping[str, str]] = None,
        base_url: str = "",
        proxy: Union[str, httpx.URL, httpx.Proxy, None] = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
    ) -> None:
        self._aio_routes: Dict[Tuple[str, str, Optional[int]], Optional[_ProxyRoute]] = {}
        self._aio_proxied = False  # set while httpx builds the proxy mounts
        # httpx reads `proxy` and the environment's proxy variables into its mounts
        # (through the two builders below); the base client never sends.
        super().__init__(
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            headers=headers,
            base_url=base_url,
            proxy=proxy,
            trust_env=trust_env,
        )
        self._aio_limits = limits
        self._aio_ssl = ssl_context(verify, trust_env=trust_env)
        limit = None if limits is None else limits.max_connections
        self._aio_gate = None if limit is None else InFlightGate(limit)
        self._aio_session: Optional[aiohttp.ClientSession] = None
        self._aio_closed = False
        self._aio_timeouts: Dict[_TimeoutKey, aiohttp.ClientTimeout] = {}

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:  # noqa: ARG002
        # An unusable transport spares httpx building an SSL context and an httpcore pool.
        return _NoTransport()

    def _init_proxy_transport(self, proxy: httpx.Proxy, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:  # noqa: ARG002
        self._aio_proxied = True
        return _ProxyRoute(proxy)

    def _proxy_for(self, url: httpx.URL) -> Optional[_ProxyRoute]:
        """The proxy httpx would send ``url`` through (None: direct), remembered per origin."""
        key = (url.scheme, url.host, url.port)
        try:
            return self._aio_routes[key]
        except KeyError:
            pass
        mounted = self._transport_for_url(url)  # httpx's own matching; it reads only the origin
        route = mounted if isinstance(mounted, _ProxyRoute) else None
        if len(self._aio_routes) < 256:
            self._aio_routes[key] = route
        return route

    @property
    def is_closed(self) -> bool:
        return self._aio_closed

    def _open_session(self) -> aiohttp.ClientSession:
        if self._aio_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        limits = self._aio_limits
        connector_args: Dict[str, Any] = {"ssl": self._aio_ssl}
        if limits is not None:
            connector_args["limit"] = limits.max_connections or 0
            if limits.keepalive_expiry is not None:
                connector_args["keepalive_timeout"] = limits.keepalive_expiry
        self._aio_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(**connector_args),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # httpx decodes, as it does for its own transport
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp resends an idempotent request once, unseen, when the server drops the
        # connection before answering; the SDK's retry policy decides (and counts) retries.
        if hasattr(self._aio_session, "_retry_connection"):
            self._aio_session._retry_connection = False
        return self._aio_session

    def _aio_timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        ext: Dict[str, Optional[float]] = request.extensions.get("timeout") or {}
        key = (ext.get("connect"), ext.get("read"), ext.get("pool"))
        timeout = self._aio_timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's `connect` covers waiting for a pooled connection and opening one.
            total_connect = None if pool is None or connect is None else pool + connect
            timeout = aiohttp.ClientTimeout(total=None, connect=total_connect, sock_connect=connect, sock_read=read)
            if len(self._aio_timeouts) < 64:
                self._aio_timeouts[key] = timeout
        return timeout

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, Any] = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if auth is not httpx.USE_CLIENT_DEFAULT and auth is not None:
            raise NotImplementedError("AioHttpClient does not run httpx auth flows; send the credentials as headers.")
        follow = self.follow_redirects if follow_redirects is httpx.USE_CLIENT_DEFAULT else bool(follow_redirects)
        gate = self._aio_gate
        if stream or gate is None or (places := gate.place()) is None:
            return await self._follow(request, stream=stream, follow=follow)
        await gate.enter(places, request)
        try:
            return await self._follow(request, stream=False, follow=follow)
        finally:
            places.release()

    async def _follow(self, request: httpx.Request, *, stream: bool, follow: bool) -> httpx.Response:
        """Send ``request``, and the requests of the redirects it gets when ``follow``."""
        history: List[httpx.Response] = []
        while True:
            response = await self._send_one(request, stream=stream)
            if not follow or response.status_code not in _REDIRECTS or "location" not in response.headers:
                if history:
                    response.history = history
                return response
            await response.aread()  # body is small or empty; frees the connection
            await response.aclose()
            history.append(response)
            if len(history) > self.max_redirects:
                raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
            request = _redirect_request(request, response)

    async def _send_one(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        session = self._aio_session or self._open_session()
        body = request.stream
        headers = [(key.decode("latin-1"), value.decode("latin-1")) for key, value in request.headers.raw]
        if isinstance(body, httpx.ByteStream):
            data: Any = request.content
        else:
            data = body
            # aiohttp chunks a stream of unknown length itself, and refuses a request that says so too.
            headers = [(key, value) for key, value in headers if key.lower() != "transfer-encoding"]
        route = self._proxy_for(request.url) if self._aio_proxied else None
        proxy_headers = None
        if route is not None:
            if request.url.scheme == "https":
                proxy_headers = route.headers  # sent with the CONNECT that opens the tunnel
            elif route.headers:
                headers.extend(route.headers.items())  # the proxy reads them off the forwarded request
        started = time.perf_counter()
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=data or None,
                allow_redirects=False,
                timeout=self._aio_timeout(request),
                proxy=None if route is None else route.url,
                proxy_headers=proxy_headers,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _transport_error(exc, request, None if route is None else route.note) from exc
        trace = request.extensions.get("trace")
        if trace is not None:  # hooks time the first byte through httpcore's trace events; report the same one
            await trace("http11.receive_response_headers.complete", {"request": request})
        raw: Sequence[Tuple[bytes, bytes]] = response.raw_headers
        if stream:
            result = httpx.Response(
                response.status, headers=raw, stream=_AiohttpStream(response, request), request=request
            )
        else:
            # Read the whole body here, then let httpx decode it synchronously: no async
            # generators between the socket and `response.content`.
            try:
                content = await response.read()
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                response.close()
                raise _transport_error(exc, request) from exc
            response.release()
            result = httpx.Response(response.status, headers=raw, stream=httpx.ByteStream(content), request=request)
            if "Content-Encoding" in response.headers:
                result.read()  # httpx decodes it (gzip, deflate, br, zstd)
            else:
                # Identity-encoded: the bytes are the content. Setting it spares httpx's decoder
                # pipeline (about 20 µs a response); `content`, `aread()` and `aiter_bytes()`
                # then serve it as after `read()`, and the response is closed, as `read()` leaves it.
                result._content = content
                result.is_stream_consumed = True
                result.is_closed = True
        result.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        return result

    async def aclose(self) -> None:
        self._aio_closed = True
        session, self._aio_session = self._aio_session, None
        if session is not None:
            await session.close()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


def _origin(url: httpx.URL) -> Tuple[str, str, Optional[int]]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _redirect_request(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    """The next request of a redirect chain, the way httpx builds it."""
    try:
        url = request.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(f"Invalid redirect location: {exc}", request=request) from exc
    if url.scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"Redirect to an unsupported scheme: {url.scheme!r}", request=request)
    method = request.method
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    old, new = _origin(request.url), _origin(url)
    https_upgrade = old[0] == "http" and new[0] == "https" and old[1] == new[1] and old[2] == 80 and new[2] == 443
    if old != new and not https_upgrade:
        headers.pop("Authorization", None)
    headers["Host"] = url.netloc.decode("ascii")
    stream: Union[httpx.AsyncByteStream, httpx.ByteStream] = request.stream  # type: ignore[assignment]
    if method != request.method:
        for name in ("Content-Length", "Transfer-Encoding", "Content-Type"):
            headers.pop(name, None)
        stream = httpx.ByteStream(b"")
    following = httpx.Request(method, url, headers=headers, stream=stream, extensions=request.extensions)
    if isinstance(stream, httpx.ByteStream):
        following.read()  # so `content` is there to send
    return following


class _NoTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:  # noqa: ARG002
        raise RuntimeError("AioHttpClient sends through aiohttp")  # pragma: no cover


class _ProxyRoute(_NoTransport):
    """A proxy mount of the client: what aiohttp needs to send through ``proxy`` (never sent through itself)."""

    __slots__ = ("headers", "note", "url")

    def __init__(self, proxy: httpx.Proxy) -> None:
        scheme = proxy.url.scheme
        if scheme not in ("http", "https"):
            raise ValueError(
                f"DefaultAioHttpClient cannot use the {scheme} proxy {proxy.url}: aiohttp speaks to HTTP and HTTPS "
                "proxies only. Use DefaultAsyncHttpxClient for a SOCKS proxy (pip install socksio)."
            )
        self.url = str(proxy.url)  # httpx.Proxy keeps the credentials out of its url
        headers = {name: value for name, value in proxy.headers.items()}
        if proxy.raw_auth is not None:
            credentials = base64.b64encode(b":".join(proxy.raw_auth)).decode("ascii")
            headers["Proxy-Authorization"] = f"Basic {credentials}"
        self.headers: Optional[Dict[str, str]] = headers or None
        self.note = f"through the proxy {proxy.url}"
