"""``serve()``: the fake on a real loopback socket, run by uvicorn in the caller's loop.

uvicorn's HTTP/1.1 protocol is subclassed only to hand the app a way to drop the
connection (``scope["extensions"]["microdc.drop"]``): a reset closes the socket with
``SO_LINGER`` 0 so the client sees ``ECONNRESET``; a lost answer closes it before any
byte of the answer was written.
"""

from __future__ import annotations

import socket
import struct
import asyncio
import contextlib
from typing import Any, List, AsyncGenerator

import uvicorn
from starlette.types import Send, Scope, ASGIApp, Receive
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._state import Store
from ._transport import DROP_EXTENSION

__all__ = ["serve"]

SHUTDOWN_GRACE_SECONDS = 2


class _DroppingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus ``microdc.drop`` in each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        inner: ASGIApp = self.app  # pyright: ignore[reportAssignmentType]

        def drop(kind: str) -> None:
            if kind == "reset":
                sock: Any = transport.get_extra_info("socket")
                with contextlib.suppress(OSError, AttributeError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            scope["extensions"] = {**(scope.get("extensions") or {}), DROP_EXTENSION: drop}
            await inner(scope, receive, send)

        self.app = app  # pyright: ignore[reportAttributeAccessIssue]


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if hasattr(socket, "SO_REUSEADDR"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, store: Store, *, host: str, port: int) -> AsyncGenerator[str, None]:
    """Listen on ``host:port`` (0: any free port) and yield the base URL until the block ends."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_DroppingH11Protocol,
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_config=None,
        log_level=None,
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    sock = _bind(host, port)
    sockets: List[socket.socket] = [sock]
    started = False
    try:
        await server.startup(sockets=sockets)
        started = True
        yield _url(sock)
    finally:
        # End open event streams so that their connections can close.
        store.closing = True
        store.changes.notify()
        try:
            if started:
                server.should_exit = True
                await server.shutdown(sockets=sockets)
        finally:
            sock.close()
            store.closing = False
