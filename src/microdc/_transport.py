"""The default client's transport: httpx's API on top of httpcore2's connection pool.

:class:`Httpcore2Transport` is an ``httpx.AsyncBaseTransport`` taking the options of
``httpx.AsyncHTTPTransport`` (``verify``, ``cert``, ``trust_env``, ``http1``,
``http2``, ``limits``, ``proxy``, ``uds``, ``local_address``, ``retries``,
``socket_options``) and sending through ``httpcore2.AsyncConnectionPool``.

Why not httpx's own transport: httpcore 1.0's pool matches every queued request
against every pooled connection on each request, so its CPU per request grows with
the pool (about twice openai-python's at 64 in flight, ``benchmarks/``). httpcore2,
the maintained fork of httpcore, keeps that pass linear and stops it early.

What stays httpx's: the SSL context follows httpx's rules (:mod:`microdc._tls`:
certifi, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when ``trust_env``; never httpcore2's
OS-store default), proxies come from the ``httpx.AsyncClient`` that mounts this
transport, and failures raise httpx's exception classes, mapped from httpcore2's the
way httpx maps httpcore's (the most specific class wins); a failure through a proxy
carries a note naming the proxy (never its credentials). httpcore2 is imported when
the first transport is built, not at ``import microdc``.

A body streamed by :class:`~microdc._http_clients.DefaultAsyncHttpxClient` (``send(...,
stream=True)``) is closed on its event loop when it is dropped unclosed
(:class:`~microdc._loop_bound.LoopGuard`), so its connection goes back to the pool.

One fix on top of httpcore2: a TLS handshake that is cancelled (a call's
``deadline``, a caller's own timeout) closes its socket (:func:`_network_backend`).
"""

from __future__ import annotations

import ssl
import functools
from typing import TYPE_CHECKING, Any, Dict, Type, Tuple, Union, Iterable, Optional, AsyncIterator, cast

import anyio
import httpx

from ._tls import VerifyTypes, ssl_context
from ._loop_bound import STREAMING, LoopGuard

if TYPE_CHECKING:
    import httpcore2

__all__ = ["Httpcore2Transport", "SocketOption", "require_h2"]

SocketOption = Union[Tuple[int, int, int], Tuple[int, int, Union[bytes, bytearray]], Tuple[int, int, None, int]]

# httpcore2 exception class -> httpx exception class; filled on first use.
_EXCEPTIONS: Dict[Type[BaseException], Type[httpx.TransportError]] = {}


def _load_exception_map() -> Dict[Type[BaseException], Type[httpx.TransportError]]:
    import httpcore2

    return {
        httpcore2.TimeoutException: httpx.TimeoutException,
        httpcore2.ConnectTimeout: httpx.ConnectTimeout,
        httpcore2.ReadTimeout: httpx.ReadTimeout,
        httpcore2.WriteTimeout: httpx.WriteTimeout,
        httpcore2.PoolTimeout: httpx.PoolTimeout,
        httpcore2.NetworkError: httpx.NetworkError,
        httpcore2.ConnectError: httpx.ConnectError,
        httpcore2.ReadError: httpx.ReadError,
        httpcore2.WriteError: httpx.WriteError,
        httpcore2.ProxyError: httpx.ProxyError,
        httpcore2.UnsupportedProtocol: httpx.UnsupportedProtocol,
        httpcore2.ProtocolError: httpx.ProtocolError,
        httpcore2.LocalProtocolError: httpx.LocalProtocolError,
        httpcore2.RemoteProtocolError: httpx.RemoteProtocolError,
    }


def map_exception(exc: BaseException, note: Optional[str] = None) -> Optional[httpx.TransportError]:
    """The httpx exception for an httpcore2 one (None: not an httpcore2 exception), with ``note`` added."""
    if not _EXCEPTIONS:
        _EXCEPTIONS.update(_load_exception_map())
    target = _EXCEPTIONS.get(type(exc))
    if target is None:
        # A subclass: the most specific mapped class among its bases.
        for kind in type(exc).__mro__:
            target = _EXCEPTIONS.get(kind)
            if target is not None:
                break
        else:
            return None
    mapped = target(str(exc))
    if note is not None:
        mapped.add_note(note)
    return mapped


class _ResponseStream(httpx.AsyncByteStream):
    """An httpcore2 response body as httpx reads it, with httpcore2's errors mapped.

    ``guarded``: closed on its loop if it is dropped unclosed (a body the caller streams).
    """

    __slots__ = ("_guard", "_stream")

    def __init__(self, stream: Any, *, guarded: bool = False) -> None:
        self._stream = stream
        self._guard: Optional[LoopGuard] = None
        if guarded:
            close = getattr(stream, "aclose", None)
            if close is not None:
                self._guard = LoopGuard(close)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = map_exception(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        if self._guard is not None:
            self._guard.release()
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


@functools.cache
def _network_backend() -> httpcore2.AsyncNetworkBackend:
    """httpcore2's own network backend, except that a cancelled TLS handshake closes its socket.

    httpcore2 closes the socket when ``start_tls`` raises an ``Exception`` (the fix of
    encode/httpcore#475), not when the handshake is cancelled, which is no
    ``Exception``: the socket is then dropped with a ``ResourceWarning``. The streams
    returned here close it; after the handshake httpcore2 reads and writes the TLS
    stream ``start_tls`` returns, not this wrapper.
    """
    import httpcore2

    class TLSClosingStream(httpcore2.AsyncNetworkStream):
        def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
            self._stream = stream

        async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
            return await self._stream.read(max_bytes, timeout)

        async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
            await self._stream.write(buffer, timeout)

        async def aclose(self) -> None:
            await self._stream.aclose()

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

        async def start_tls(
            self, ssl_context: ssl.SSLContext, server_hostname: Optional[str] = None, timeout: Optional[float] = None
        ) -> httpcore2.AsyncNetworkStream:
            try:
                return await self._stream.start_tls(ssl_context, server_hostname, timeout)
            except BaseException as exc:
                if not isinstance(exc, Exception):  # cancelled: httpcore2 left the socket open
                    with anyio.CancelScope(shield=True):
                        await self._stream.aclose()
                raise

    class TLSClosingBackend(httpcore2.AsyncNetworkBackend):
        def __init__(self) -> None:
            # anyio's backend runs under asyncio and trio alike (httpcore2's AutoBackend picks
            # trio's own under trio; anyio's serves there too).
            self._backend = cast(httpcore2.AsyncNetworkBackend, httpcore2.AnyIOBackend())

        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: Optional[float] = None,
            local_address: Optional[str] = None,
            socket_options: Optional[Iterable[SocketOption]] = None,
        ) -> httpcore2.AsyncNetworkStream:
            stream = await self._backend.connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )
            return TLSClosingStream(stream)

        async def connect_unix_socket(
            self, path: str, timeout: Optional[float] = None, socket_options: Optional[Iterable[SocketOption]] = None
        ) -> httpcore2.AsyncNetworkStream:
            stream = await self._backend.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)
            return TLSClosingStream(stream)

        async def sleep(self, seconds: float) -> None:
            await self._backend.sleep(seconds)

    return TLSClosingBackend()


def require_h2() -> None:
    """``http2=True`` needs the ``h2`` package: say which extra installs it (httpx's own message names httpx's)."""
    try:
        import h2  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        raise ImportError("http2=True needs the http2 extra (the h2 package): pip install 'microdc[http2]'") from None


class Httpcore2Transport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport``'s options and behaviour over ``httpcore2.AsyncConnectionPool``."""

    def __init__(
        self,
        *,
        verify: VerifyTypes = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0),
        proxy: Union[httpx.Proxy, httpx.URL, str, None] = None,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: int = 0,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> None:
        import httpcore2

        if http2:
            require_h2()
        proxy = httpx.Proxy(url=proxy) if isinstance(proxy, (str, httpx.URL)) else proxy
        pool_options: Dict[str, Any] = {
            "ssl_context": ssl_context(verify, trust_env=trust_env, cert=cert),
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "http1": http1,
            "http2": http2,
            "socket_options": socket_options,
            "network_backend": _network_backend(),
        }
        # Failures through a proxy name it; httpx.Proxy keeps its credentials out of `url`.
        self._proxy_url = None if proxy is None else proxy.url
        self._note: Optional[str] = None if proxy is None else f"through the proxy {proxy.url}"
        if proxy is None:
            pool_options.update(uds=uds, local_address=local_address, retries=retries)
        else:
            scheme = proxy.url.scheme
            if scheme not in ("http", "https", "socks5", "socks5h"):
                raise ValueError(f"Proxy protocol must be 'http', 'https', 'socks5' or 'socks5h', but got {scheme!r}.")
            if scheme.startswith("socks"):
                try:
                    import socksio  # type: ignore[import-not-found]  # noqa: F401  # pyright: ignore[reportMissingImports, reportUnusedImport]
                except ImportError:
                    raise ImportError("A SOCKS proxy needs the socksio package: pip install socksio") from None
            pool_options["proxy"] = httpcore2.Proxy(
                url=httpcore2.URL(
                    scheme=proxy.url.raw_scheme,
                    host=proxy.url.raw_host,
                    port=proxy.url.port,
                    target=proxy.url.raw_path,
                ),
                auth=proxy.raw_auth,
                headers=proxy.headers.raw,
                ssl_context=proxy.ssl_context,
            )
        self._pool: httpcore2.AsyncConnectionPool = httpcore2.AsyncConnectionPool(**pool_options)
        self._request_cls = httpcore2.Request
        self._url_cls = httpcore2.URL

    @property
    def pool(self) -> httpcore2.AsyncConnectionPool:
        """The httpcore2 pool this transport sends through."""
        return self._pool

    @property
    def proxy_url(self) -> Optional[httpx.URL]:
        """The proxy this transport sends through, without its credentials (None: direct)."""
        return self._proxy_url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = self._request_cls(
            request.method,
            self._url_cls(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            mapped = map_exception(exc, self._note)
            if mapped is None:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, guarded=STREAMING.get()),
            extensions=cast("Dict[str, Any]", response.extensions),  # pyright: ignore[reportUnknownMemberType]
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
