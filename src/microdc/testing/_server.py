"""``serve()``: the fake on a real loopback socket, run by uvicorn in the caller's loop.

uvicorn's HTTP/1.1 protocol is subclassed only to hand the app two things in
``scope["extensions"]``: ``"microdc.drop"``, a way to drop the connection (a reset
closes the socket with ``SO_LINGER`` 0 so the client sees ``ECONNRESET``; a lost
answer closes it before any byte of the answer was written), and
``"microdc.stopping"``, which tells event streams that this server is shutting down.
"""

from __future__ import annotations

import socket
import struct
import asyncio
import contextlib
from typing import Any, AsyncGenerator

import uvicorn
from starlette.types import Send, Scope, ASGIApp, Receive
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._state import Store
from ._transport import DROP_EXTENSION, STOPPING_EXTENSION

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

        config = self.config

        def stopping() -> bool:
            return isinstance(config, _Config) and config.stopping

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            extensions = {DROP_EXTENSION: drop, STOPPING_EXTENSION: stopping}
            scope["extensions"] = {**(scope.get("extensions") or {}), **extensions}
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


class _Config(uvicorn.Config):
    """uvicorn's config, plus this server's "stopping" flag for its event streams."""

    stopping = False


async def _shutdown(server: uvicorn.Server, grace: float) -> None:
    """Stop listening, close idle connections, give busy ones ``grace`` seconds, then
    cancel what is left. (uvicorn's own shutdown polls every 0.1 s; tests stop many
    servers.)"""
    state = server.server_state
    for listener in server.servers:
        listener.close()
    for connection in list(state.connections):
        connection.shutdown()
    if state.tasks:
        await asyncio.wait(list(state.tasks), timeout=grace)
    leftovers = list(state.tasks)
    for task in leftovers:
        task.cancel()
    if leftovers:
        await asyncio.wait(leftovers)
    for connection in list(state.connections):
        connection.shutdown()  # the ones that were busy are idle now
    for _ in range(100):  # connection_lost() runs a loop iteration after close(): at most 0.5 s
        if not state.connections:
            break
        await asyncio.sleep(0.005)
    for listener in server.servers:
        await listener.wait_closed()


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, store: Store, *, host: str, port: int) -> AsyncGenerator[str, None]:
    """Listen on ``host:port`` (0: any free port) and yield the base URL until the block ends."""
    config = _Config(
        app,
        host=host,
        port=port,
        http=_DroppingH11Protocol,
        ws="none",
        lifespan="off",
        interface="asgi3",
        proxy_headers=False,
        log_config=None,
        log_level=None,
        access_log=False,
        server_header=False,
        date_header=False,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    sock = _bind(host, port)
    try:
        await server.startup(sockets=[sock])
        try:
            yield _url(sock)
        finally:
            # End this server's event streams so that their connections can close.
            config.stopping = True
            store.changes.notify()
            await _shutdown(server, SHUTDOWN_GRACE_SECONDS)
    finally:
        sock.close()
