"""A client on the wire: an ``AsyncMicroDC`` over one transport, talking to a scripted loopback server.

``async with wired(transport, ok({...}), status(500), ...) as (client, server):`` starts
a :class:`~tests.reliability._raw_server.RawServer` on 127.0.0.1 (the n-th request gets
the n-th answer, the last one repeats; every request is recorded, headers lower-cased)
and a client whose base URL is that server, sending through ``transport`` ("httpx": the
SDK's default client, "aiohttp": ``DefaultAioHttpClient``; the ``transport`` fixture of
``tests/_transports.py`` runs a test once per transport). Both are closed when the block
ends. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import contextlib
from typing import Any, Dict, Tuple, Optional, AsyncGenerator

from microdc import AsyncMicroDC

from ._transports import http_client_for
from .reliability._raw_server import Answer, RawServer, RawRequest, send, json_response

__all__ = ["API_KEY", "RawRequest", "body_json", "ok", "status", "wired"]

API_KEY = "sk-wire-0123456789abcdef-secret"


def ok(data: object = None, *, headers: Optional[Dict[str, str]] = None) -> Answer:
    """A 200 answer with ``data`` (default ``{}``) as JSON."""
    return send(json_response(200, {} if data is None else data, headers=headers))


def status(code: int, *, headers: Optional[Dict[str, str]] = None, error_type: str = "api_error") -> Answer:
    """An error answer with the API's ``{"error": {...}}`` body."""
    body = {"error": {"type": error_type, "code": f"http_{code}", "message": f"it failed ({code})", "param": None}}
    return send(json_response(code, body, headers=headers))


def body_json(request: RawRequest) -> Any:
    """The JSON body of a recorded request."""
    return json.loads(request.body)


@contextlib.asynccontextmanager
async def wired(
    transport: str, *answers: Answer, **client_kwargs: Any
) -> AsyncGenerator[Tuple[AsyncMicroDC, RawServer], None]:
    """A client over ``transport`` and the server it talks to, answering with ``answers``."""
    async with RawServer(*answers) as server, http_client_for(transport) as http_client:
        client_kwargs.setdefault("api_key", API_KEY)
        client_kwargs.setdefault("base_url", server.url)
        if http_client is not None:
            client_kwargs.setdefault("http_client", http_client)
        async with AsyncMicroDC(**client_kwargs) as client:
            yield client, server
