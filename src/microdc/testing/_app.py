"""The fake's ASGI app: the layer every request passes through before its route.

In order, for each request: give it an ``x-request-id`` and record it; read the body
(413 past the limit); check the API key (401), except for file content fetched with
a download ``token``; look up its ``Idempotency-Key`` (replay, 422, 409, or reserve);
draw its fault (latency, reset, 5xx, 429, lost answer); run the route; store the
answer under the key; send it — or drop the connection.

Answers of at least :data:`GZIP_MINIMUM_BYTES` are gzip-compressed when the request's
``Accept-Encoding`` asks for it, as a production server behind a proxy would do;
event streams never are (Starlette's ``GZipMiddleware`` leaves ``text/event-stream``
alone), so they keep streaming event by event. Idempotent replays are stored
uncompressed and compressed per request, for the ``Accept-Encoding`` of the repeat.

Dropping a connection needs help from the server: ``fake.serve()`` and the
in-process transport put a ``"microdc.drop"`` callable in ``scope["extensions"]``.
"""

from __future__ import annotations

import asyncio
import logging
import contextlib
from typing import Any, Dict, List, Tuple, Callable, Optional, Sequence

from starlette.types import Send, Scope, Message, Receive
from starlette.routing import Route
from starlette.requests import Request
from starlette.responses import Response
from starlette.exceptions import HTTPException
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware

from ._sse import EventRoutes
from .._spec import IDEMPOTENCY_KEY_MAX_LENGTH
from ._clock import fake_sleep
from ._files import FileRoutes
from ._state import RecordedRequest
from ._errors import FakeAPIError, not_found
from ._faults import NO_FAULT
from ._context import Context, json_response
from ._transport import DROP_EXTENSION
from ._job_routes import JobRoutes
from ._idempotency import Reused, InFlight, StoredAnswer, fingerprint
from ._models_catalog import MODELS, model_list

__all__ = ["DROP_EXTENSION", "GZIP_MINIMUM_BYTES", "FakeApp"]

logger = logging.getLogger("microdc.testing")


UPLOAD_PATH = "/api/files/upload"
FILES_PREFIX = "/api/v1/files/"
MAX_BODY_BYTES = 64 * 1024 * 1024
GZIP_MINIMUM_BYTES = 1024
# zlib's default level: what most servers send (9 costs the server more for a few % less).
_GZIP_LEVEL = 6
_MULTIPART_SLACK = 1024 * 1024
_FAULT_CODES = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}
Headers = Sequence[Tuple[str, str]]


class _AbortResponse(Exception):
    """Stops a route whose answer is going to be lost anyway."""


class _Capture:
    """An ASGI ``send`` that keeps the answer instead of sending it."""

    def __init__(self, *, abort_on_start: bool) -> None:
        self.abort_on_start = abort_on_start
        self.status: Optional[int] = None
        self.headers: List[Tuple[str, str]] = []
        self.chunks: List[bytes] = []
        self.complete = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self.abort_on_start:
                raise _AbortResponse
            self.status = int(message["status"])
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.chunks.append(bytes(message.get("body", b"")))
            self.complete = not message.get("more_body", False)


class _Exchange:
    """One request's way back: answers carry ``x-request-id``; the record gets the status."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, record: RecordedRequest) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.record = record
        self.started = False

    async def passthrough(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.record.status = int(message["status"])
            headers = [*message.get("headers", []), (b"x-request-id", self.record.request_id.encode())]
            message = {**message, "headers": headers}
        await self.send(message)

    async def answer(self, status: int, headers: Headers, body: bytes) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers if k.lower() != "content-length"]
        raw.append((b"content-length", str(len(body)).encode()))  # passthrough adds x-request-id
        await self.passthrough({"type": "http.response.start", "status": status, "headers": raw})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def error(self, error: FakeAPIError) -> None:
        await self.answer(error.status, [("content-type", "application/json"), *error.headers.items()], error.body())

    async def drop(self, kind: str) -> None:
        self.record.status = None
        extensions: Dict[str, Any] = self.scope.get("extensions") or {}
        dropper: Optional[Callable[[str], None]] = extensions.get(DROP_EXTENSION)
        if dropper is None:
            raise ConnectionAbortedError(
                "microdc.testing: dropping a connection (Faults) works under fake.serve() and fake.client() only"
            )
        dropper(kind)
        # Wait for the server to notice, so that it does not answer in our place.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._until_disconnected(), 5.0)

    async def _until_disconnected(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass


class FakeApp:
    """The ASGI callable behind ``FakeMicroDC.app``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        jobs, files = JobRoutes(ctx), FileRoutes(ctx)
        events = EventRoutes(ctx, jobs)
        routes = [
            Route("/api/v1/jobs/submit", jobs.submit, methods=["POST"]),
            Route("/api/v1/jobs", jobs.list, methods=["GET"]),
            Route("/api/v1/jobs/{job_id}", jobs.retrieve, methods=["GET"]),
            Route("/api/v1/jobs/{job_id}", jobs.cancel, methods=["DELETE"]),
            Route("/api/v1/jobs/{job_id}/status", jobs.status, methods=["GET"]),
            Route("/api/v1/jobs/{job_id}/acknowledge", jobs.acknowledge, methods=["POST"]),
            Route("/api/v1/jobs/{job_id}/events", events.events, methods=["GET"]),
            Route(UPLOAD_PATH, files.upload, methods=["POST"]),
            Route("/api/v1/files", files.list, methods=["GET"]),
            Route("/api/v1/files/{file_id}", files.retrieve, methods=["GET"]),
            Route("/api/v1/files/{file_id}", files.delete, methods=["DELETE"]),
            Route("/api/v1/files/{file_id}/create-download-token", files.create_download_token, methods=["POST"]),
            Route("/api/v1/files/{file_id}/content", files.content, methods=["GET"]),
            Route("/api/v1/models", self.list_models, methods=["GET"]),
            Route("/api/v1/models/{model_id}", self.retrieve_model, methods=["GET"]),
        ]
        self._compressing = GZipMiddleware(self._http, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=_GZIP_LEVEL)
        self.router = Starlette(
            routes=routes,
            exception_handlers={
                FakeAPIError: self._api_error,
                HTTPException: self._http_error,
                Exception: self._crash,
            },
        )

    # --- routes and error handlers -----------------------------------------------------

    async def list_models(self, _request: Request) -> Response:
        return json_response({"object": "list", "data": model_list()})

    async def retrieve_model(self, request: Request) -> Response:
        model_id: str = request.path_params["model_id"]
        model = MODELS.get(model_id)
        if model is None:
            raise not_found("model", model_id, "model_id")
        return json_response(model.to_json())

    async def _api_error(self, _request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FakeAPIError)
        return Response(exc.body(), status_code=exc.status, headers=exc.headers, media_type="application/json")

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error = FakeAPIError(404, "route_not_found", f"No such endpoint: {request.method} {request.url.path}.")
        elif exc.status_code == 405:
            error = FakeAPIError(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}.")
        else:
            error = FakeAPIError(exc.status_code, "invalid_request", str(exc.detail))
        error.headers.update(exc.headers or {})
        return await self._api_error(request, error)

    async def _crash(self, request: Request, exc: Exception) -> Response:
        error = FakeAPIError(500, "internal_error", f"The fake crashed: {type(exc).__name__}: {exc}")
        return await self._api_error(request, error)

    # --- the layer around every request ------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._compressing(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx, store = self.ctx, self.ctx.store
        method: str = scope["method"]
        path: str = scope["path"]
        headers = _header_dict(scope)
        record = RecordedRequest(
            method=method,
            path=path,
            query=bytes(scope.get("query_string", b"")).decode("latin-1"),
            headers={k: ("<redacted>" if k == "authorization" else v) for k, v in headers.items()},
            body=b"",
            request_id=store.new_id("req_"),
        )
        store.requests.append(record)
        exchange = _Exchange(scope, receive, send, record)

        limit = ctx.max_upload_bytes + _MULTIPART_SLACK if path == UPLOAD_PATH else MAX_BODY_BYTES
        body, size = await _read_body(receive, limit)
        if size < 0:  # the client went away mid-body, as a real server sees it: nothing to answer or store
            return
        record.body = body
        if size > limit:
            await exchange.error(FakeAPIError(413, "request_too_large", f"The body exceeds {limit} bytes."))
            return
        auth_error = self._auth_error(record, headers)
        if auth_error is not None:
            await exchange.error(auth_error)
            return

        key = headers.get("idempotency-key") if method in ("POST", "DELETE") else None
        if key is not None:
            if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
                await exchange.error(
                    FakeAPIError(
                        400,
                        "invalid_idempotency_key",
                        f"An Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters; got {len(key)}.",
                        param="Idempotency-Key",
                    )
                )
                return
            print_ = fingerprint(method, path, headers.get("content-type", ""), body)
            found = store.idempotency.begin(key, print_, store.now())
            if isinstance(found, StoredAnswer):
                record.replayed = True
                await exchange.answer(found.status, [*found.headers, ("idempotent-replayed", "true")], found.body)
                return
            if isinstance(found, Reused):
                await exchange.error(
                    FakeAPIError(
                        422,
                        "idempotency_key_reused",
                        "This Idempotency-Key was used with a different request; use a new key.",
                        param="Idempotency-Key",
                    )
                )
                return
            if isinstance(found, InFlight):
                await exchange.error(
                    FakeAPIError(
                        409,
                        "idempotency_key_in_use",
                        "A request with this Idempotency-Key is still in progress; retry shortly.",
                    )
                )
                return

        stored = False
        try:
            stored = await self._answer(scope, receive, exchange, body, key)
        finally:
            if key is not None and not stored:
                store.idempotency.release(key)

    async def _answer(
        self, scope: Scope, receive: Receive, exchange: _Exchange, body: bytes, key: Optional[str]
    ) -> bool:
        """Faults, the route, the answer; True when the answer was stored under ``key``."""
        ctx, record = self.ctx, exchange.record
        decision = ctx.injector.decide(record.method, record.path) if ctx.injector is not None else NO_FAULT
        if decision.latency > 0:
            await fake_sleep(ctx.store.clock, decision.latency)
        record.fault = decision.kind
        if decision.kind == "reset":
            await exchange.drop("reset")
            return False
        if decision.kind == "error":
            code = _FAULT_CODES.get(decision.status, "server_error")
            message = f"Injected server error {decision.status} (microdc.testing Faults)."
            await exchange.error(FakeAPIError(decision.status, code, message))
            return False
        if decision.kind == "rate_limit" and ctx.injector is not None:
            retry_after = ctx.injector.faults.retry_after
            limited = FakeAPIError(
                429,
                "rate_limited",
                "Too many requests (microdc.testing Faults); retry after the delay in Retry-After.",
                headers=dict(decision.retry_after_headers(retry_after)),
            )
            await exchange.error(limited)
            return False

        lost = decision.kind == "lost_answer"
        inner_receive = _replay(body, receive)
        if key is None and not lost:
            await self._route(scope, inner_receive, exchange.passthrough, lambda: exchange.started)
            return False
        capture = _Capture(abort_on_start=key is None)
        with contextlib.suppress(_AbortResponse):
            await self._route(scope, inner_receive, capture, lambda: capture.status is not None)
        stored = False
        if key is not None and capture.complete and capture.status is not None and capture.status < 500:
            ctx.store.idempotency.complete(
                key, StoredAnswer(capture.status, tuple(capture.headers), b"".join(capture.chunks))
            )
            stored = True
        if lost:
            await exchange.drop("lost_answer")
        elif capture.status is not None:
            await exchange.answer(capture.status, capture.headers, b"".join(capture.chunks))
        return stored

    async def _route(self, scope: Scope, receive: Receive, send: Send, started: Callable[[], bool]) -> None:
        try:
            await self.router(scope, receive, send)
        except _AbortResponse:
            raise
        except Exception:
            # Starlette has already answered 500 through ``_crash`` when it could.
            logger.exception("microdc.testing: the fake crashed on %s %s", scope["method"], scope["path"])
            if not started():
                error = FakeAPIError(500, "internal_error", "The fake crashed; see the 'microdc.testing' log.")
                await send(
                    {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]}
                )
                await send({"type": "http.response.body", "body": error.body(), "more_body": False})

    def _auth_error(self, record: RecordedRequest, headers: Dict[str, str]) -> Optional[FakeAPIError]:
        path = record.path
        if (
            record.method == "GET"
            and path.startswith(FILES_PREFIX)
            and path.endswith("/content")
            and "token" in record.params
        ):
            return None  # the route checks the download token
        auth = headers.get("authorization")
        if not auth:
            return FakeAPIError(401, "missing_api_key", "No API key: send 'Authorization: Bearer <api_key>'.")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.ctx.api_key:
            return FakeAPIError(401, "invalid_api_key", "The API key is not valid.")
        return None


def _header_dict(scope: Scope) -> Dict[str, str]:
    headers: Dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _read_body(receive: Receive, limit: int) -> Tuple[bytes, int]:
    """The body (up to ``limit`` bytes kept) and its full size; ``size`` is -1 when the
    client went away before sending all of it (then the request is not served at all)."""
    chunks: List[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", -1
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), size


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the route the body already read, then the real events."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay
