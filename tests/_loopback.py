"""Small loopback servers for transport tests: HTTP/1.1 (TCP, TLS or a Unix socket), HTTP/2, or in a thread.

Each answers every request with JSON describing what it saw (request line, headers,
the peer's address), so a test can tell which way the request went. They run in the
test's own event loop (but :func:`serve_in_thread`) and stop (every connection closed)
when the block ends. The forward proxy is in ``_proxy.py``.
"""

from __future__ import annotations

import ssl
import json
import socket
import asyncio
import threading
import contextlib
from typing import Any, Dict, List, Tuple, Callable, Optional, Awaitable, AsyncGenerator, cast
from dataclasses import field, dataclass
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

__all__ = ["OpenConnections", "Seen", "serve_h2", "serve_http", "serve_in_thread", "serve_raw", "serve_unix"]


@dataclass
class Seen:
    """What a server saw: one entry per request, and the peers that connected."""

    requests: List[Dict[str, Any]] = field(default_factory=lambda: [])
    peers: List[Tuple[Any, ...]] = field(default_factory=lambda: [])
    connections: int = 0
    writers: List[asyncio.StreamWriter] = field(default_factory=lambda: [])

    async def close_connections(self) -> None:
        for writer in self.writers:
            writer.close()
        for writer in self.writers:
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Optional[Tuple[str, Dict[str, str], bytes]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0], headers, body


def _answer(payload: Dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


def _handler(seen: Seen) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        seen.writers.append(writer)
        peer: Any = writer.get_extra_info("peername")
        seen.peers.append(tuple(cast("List[Any]", peer)) if isinstance(peer, (tuple, list)) else (peer,))
        try:
            while (request := await _read_request(reader)) is not None:
                line, headers, body = request
                entry = {"line": line, "headers": headers, "body": body.decode("latin-1"), "peer": list(seen.peers[-1])}
                seen.requests.append(entry)
                writer.write(_answer(entry))
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    return handle


@contextlib.asynccontextmanager
async def serve_http(ssl_context: Optional[ssl.SSLContext] = None) -> AsyncGenerator[Tuple[str, Seen], None]:
    """An HTTP/1.1 server on 127.0.0.1 (TLS when ``ssl_context`` is given): yields its origin and what it saw."""
    seen = Seen()
    server = await asyncio.start_server(_handler(seen), "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}", seen
    finally:
        server.close()
        await seen.close_connections()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def serve_raw(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]], *, scheme: str = "http"
) -> AsyncGenerator[str, None]:
    """A TCP server on 127.0.0.1 whose connections ``handle`` serves as it likes (slowly, not at all):
    yields its origin (with ``scheme``); every connection is closed when the block ends."""
    writers: List[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handle(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def serve_unix(path: str) -> AsyncGenerator[Seen, None]:
    """The same server on a Unix socket at ``path``."""
    seen = Seen()
    server = await asyncio.start_unix_server(_handler(seen), path)
    try:
        yield seen
    finally:
        server.close()
        await seen.close_connections()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def serve_h2(ssl_context: ssl.SSLContext) -> AsyncGenerator[Tuple[str, Seen], None]:
    """An HTTP/2-only TLS server (ALPN ``h2``) answering each stream with JSON of its headers."""
    import h2.config
    import h2.events
    import h2.connection

    seen = Seen()
    ssl_context.set_alpn_protocols(["h2"])

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        seen.writers.append(writer)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {
                            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                            for k, v in event.headers or []
                        }
                        seen.requests.append({"headers": headers})
                        body = json.dumps({"headers": headers}).encode()
                        stream_id = event.stream_id
                        assert stream_id is not None
                        conn.send_headers(
                            stream_id, [(":status", "200"), ("content-length", str(len(body)))], end_stream=False
                        )
                        conn.send_data(stream_id, body, end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", seen
    finally:
        server.close()
        await seen.close_connections()
        await server.wait_closed()


class OpenConnections:
    """How many connections a :func:`serve_in_thread` server has open, and has had in all."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.open = 0
        self.total = 0

    def opened(self) -> None:
        with self._changed:
            self.open += 1
            self.total += 1

    def closed(self) -> None:
        with self._changed:
            self.open -= 1
            self._changed.notify_all()

    def wait_until_none_open(self, timeout: float) -> bool:
        """Whether every connection was closed (by its client) within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.open == 0, timeout=timeout)


class _CountingServer(ThreadingHTTPServer):
    counter: Optional[OpenConnections] = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients pool connections

    def _counter(self) -> Optional[OpenConnections]:
        server = self.server
        return server.counter if isinstance(server, _CountingServer) else None

    def setup(self) -> None:
        super().setup()
        counter = self._counter()
        if counter is not None:
            counter.opened()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            counter = self._counter()
            if counter is not None:
                counter.closed()

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_in_thread(counter: Optional[OpenConnections] = None) -> Any:
    """A keep-alive HTTP/1.1 server in a thread (for tests that run several event loops): yields its origin.

    ``counter`` is kept up to date with the connections it has open.
    """
    server = _CountingServer(("127.0.0.1", 0), _Handler)
    server.counter = counter
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
