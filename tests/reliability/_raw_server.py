"""A tiny HTTP/1.1 server on 127.0.0.1 that answers with scripted raw bytes.

The fake MicroDC always speaks correct HTTP; this one does not have to. Each request
it receives is recorded (:class:`RawRequest`) and answered by the next
:data:`Answer` of its script (the last one repeats): an answer writes whatever
bytes it likes to the socket and says whether the connection may be reused. It
can also stop mid-body, close without answering, or wait until the server stops.

::

    async with RawServer(send(json_response(200, {...}))) as server:
        client = AsyncMicroDC(api_key="...", base_url=server.url)
"""

from __future__ import annotations

import json
import asyncio
import contextlib
from types import TracebackType
from typing import Set, Dict, List, Type, Tuple, Callable, Optional, Awaitable
from dataclasses import dataclass

__all__ = [
    "Answer",
    "RawRequest",
    "RawServer",
    "close_without_answer",
    "hang",
    "json_response",
    "response",
    "send",
    "send_then_close",
    "send_then_hang",
]

MAX_HEAD_BYTES = 64 * 1024
# asyncio.start_server's reader limit: a request head larger than this is refused.


@dataclass
class RawRequest:
    """One request as the server read it (header names lower-cased)."""

    method: str
    target: str
    headers: Dict[str, str]
    body: bytes = b""
    port: int = 0
    """The client's port: which connection carried the request."""


Answer = Callable[[RawRequest, asyncio.StreamWriter], Awaitable[bool]]
"""Writes an answer to ``writer``; returns True when the connection may carry another request."""


def response(
    status: int,
    body: bytes = b"",
    *,
    headers: Optional[Dict[str, str]] = None,
    reason: str = "",
    content_length: Optional[int] = -1,
) -> bytes:
    """The raw bytes of an HTTP/1.1 answer.

    ``content_length`` is what the ``Content-Length`` header claims (-1: the body's
    real length; None: no such header, e.g. for chunked or close-delimited bodies).
    """
    lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Whatever')}"]
    all_headers = {"x-request-id": "req_raw", **(headers or {})}
    if content_length is not None:
        all_headers["content-length"] = str(len(body) if content_length == -1 else content_length)
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, data: object, *, headers: Optional[Dict[str, str]] = None) -> bytes:
    return response(status, json.dumps(data).encode(), headers={"content-type": "application/json", **(headers or {})})


def send(raw: bytes) -> Answer:
    """Write ``raw``; the connection stays open for the next request."""

    async def answer(_request: RawRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        return True

    return answer


def send_then_close(raw: bytes) -> Answer:
    """Write ``raw``, then close the connection (whatever ``raw`` promised)."""

    async def answer(_request: RawRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        return False

    return answer


def send_then_hang(raw: bytes) -> Answer:
    """Write ``raw``, then send nothing more until the server stops."""

    async def answer(_request: RawRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        await asyncio.Event().wait()
        return False

    return answer


def close_without_answer() -> Answer:
    """Read the request and close the connection without a byte of answer."""
    return send_then_close(b"")


def hang() -> Answer:
    """Never answer (until the server stops)."""
    return send_then_hang(b"")


class RawServer:
    """Answers the n-th request with ``answers[n]`` (the last answer repeats)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers: Tuple[Answer, ...] = answers or (send(json_response(200, {})),)
        self.requests: List[RawRequest] = []
        self.connections = 0
        self._server: Optional[asyncio.base_events.Server] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        self._writers: Set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        port: int = writer.get_extra_info("peername")[1]
        try:
            while True:
                request = await _read_request(reader, port)
                if request is None:
                    return
                self.requests.append(request)
                answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                if not await answer(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return  # the client went away, or sent what this server does not read
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader, port: int) -> Optional[RawRequest]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed the connection between requests
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers: Dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    return RawRequest(method=method, target=target, headers=headers, body=body, port=port)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: List[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return b"".join(chunks)
        chunks.append(chunk[:-2])


_REASONS: Dict[int, str] = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
