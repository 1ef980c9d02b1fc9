"""``InProcessTransport``: an httpx transport that hands requests straight to an ASGI
app in the same event loop — no socket — and streams the answer back.

httpx's own ``ASGITransport`` reads the whole answer before returning it, which
never ends for an event stream. Here the app runs in a task and its body chunks
come through a queue as they are sent; closing the response cancels the task.
A connection the app drops (``Faults``) surfaces as ``httpx.ReadError`` (reset) or
``httpx.RemoteProtocolError`` (answer lost), as it would over a socket, and a read
timeout in the request's ``timeout`` extension is honoured (``httpx.ReadTimeout``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Set, Dict, List, Tuple, Union, Optional, AsyncIterator
from urllib.parse import unquote

import anyio
import httpx
from starlette.types import ASGIApp, Message

__all__ = ["InProcessTransport"]

DROP_EXTENSION = "microdc.drop"
"""``scope["extensions"][DROP_EXTENSION](kind)`` drops the connection (``"reset"`` or ``"lost_answer"``)."""
STOPPING_EXTENSION = "microdc.stopping"
"""``scope["extensions"][STOPPING_EXTENSION]()`` is true once the server is shutting down."""


class _Dropped:
    def __init__(self, kind: str) -> None:
        self.kind = kind


class _Finished:
    def __init__(self, error: Optional[Exception]) -> None:
        self.error = error


_Item = Union[Message, _Dropped, _Finished]


class _Call:
    """One request's ASGI side: its ``receive``, ``send`` and the queue between them."""

    def __init__(self, body: bytes) -> None:
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._body: List[bytes] = [body]
        self.disconnected = asyncio.Event()

    async def receive(self) -> Message:
        if self._body:
            return {"type": "http.request", "body": self._body.pop(), "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if not self.disconnected.is_set():
            self.queue.put_nowait(message)

    def drop(self, kind: str) -> None:
        if not self.disconnected.is_set():
            self.disconnected.set()
            self.queue.put_nowait(_Dropped(kind))


def _dropped_error(kind: str, request: httpx.Request, *, started: bool) -> httpx.TransportError:
    if kind == "reset":
        return httpx.ReadError("[Errno 104] Connection reset by peer (microdc.testing fault)", request=request)
    if started:
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body", request=request
        )
    return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


async def _stop(task: asyncio.Task[None], *, grace: float = 0.0) -> None:
    """Let ``task`` finish within ``grace`` seconds, else cancel it; wait for it either way."""
    if not task.done() and grace > 0:
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})


async def _next_item(call: _Call, timeout: Optional[float], request: httpx.Request) -> _Item:
    # Not asyncio.wait_for: before Python 3.12 it can swallow a cancellation of the
    # caller that arrives just as the item does (python/cpython#86296).
    try:
        with anyio.fail_after(timeout):
            return await call.queue.get()
    except TimeoutError:
        raise httpx.ReadTimeout("Timed out waiting for the app to answer (microdc.testing)", request=request) from None


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, call: _Call, task: asyncio.Task[None], request: httpx.Request, timeout: Optional[float]) -> None:
        self._call = call
        self._task = task
        self._request = request
        self._timeout = timeout
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._complete:
            item = await _next_item(self._call, self._timeout, self._request)
            if isinstance(item, _Dropped):
                raise _dropped_error(item.kind, self._request, started=True)
            if isinstance(item, _Finished):
                if item.error is not None:
                    raise item.error
                raise httpx.RemoteProtocolError("The app ended without finishing its answer", request=self._request)
            if item["type"] == "http.response.body":
                chunk = bytes(item.get("body", b""))
                self._complete = not item.get("more_body", False)
                if chunk:
                    yield chunk

    async def aclose(self) -> None:
        self._call.disconnected.set()
        await _stop(self._task, grace=1.0 if self._complete else 0.0)


class InProcessTransport(httpx.AsyncBaseTransport):
    """Serves httpx requests from ``app`` (an ASGI app) in this event loop.

    ::

        async with httpx.AsyncClient(transport=InProcessTransport(fake.app), base_url="http://microdc.test") as http:
            await http.get("/api/v1/models", headers={"Authorization": "Bearer test"})
    """

    def __init__(self, app: ASGIApp, *, client: Tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client
        self._tasks: Set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve the request with the fake's ASGI app in this process and return its answer."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        body = b"".join([chunk async for chunk in request.stream])
        call = _Call(body)
        url = request.url
        scope: Dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            "client": self.client,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "extensions": {DROP_EXTENSION: call.drop},
        }

        async def run() -> None:
            try:
                await self.app(scope, call.receive, call.send)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                call.queue.put_nowait(_Finished(exc))
            else:
                call.queue.put_nowait(_Finished(None))

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        timeouts: Dict[str, Optional[float]] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        try:
            item = await _next_item(call, read_timeout, request)
        except BaseException:
            await _stop(task)
            raise
        if isinstance(item, dict) and item["type"] == "http.response.start":
            return httpx.Response(
                int(item["status"]),
                headers=list(item.get("headers", [])),
                stream=_ResponseStream(call, task, request, read_timeout),
                extensions={"http_version": b"HTTP/1.1"},
            )
        await _stop(task)
        if isinstance(item, _Dropped):
            raise _dropped_error(item.kind, request, started=False)
        if isinstance(item, _Finished) and item.error is not None:
            raise item.error
        raise httpx.RemoteProtocolError("The app ended without answering", request=request)

    async def aclose(self) -> None:
        """Stop every request the app is still serving (as a server does when its clients go away)."""
        for task in list(self._tasks):
            await _stop(task)
