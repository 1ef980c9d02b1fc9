"""Shared helpers for the runtime tests: a scripted mock transport and a client wired to it.

``Recorder(reply(...), fail(...), ...)`` answers the n-th request with the n-th answer
(the last one repeats) and keeps every request it saw, so a test can check what was
sent on each attempt. The TLS and proxy fixtures (a throwaway CA, its server
certificate and CA files, an environment without proxy or CA variables) serve the
transport tests. Nothing here touches the network.
"""

from __future__ import annotations

import ssl
import asyncio
import subprocess
from typing import Any, Dict, List, Type, Tuple, Union, Callable, Iterator, Optional, Awaitable, AsyncIterator
from pathlib import Path

import httpx
import pytest
import trustme

from microdc import AsyncMicroDC
from microdc._retry import disable_retry_delays
from microdc.lib.hooks import ErrorInfo, RetryInfo

from ._certs import hashed_ca_dir, server_context
from ._transports import transport  # noqa: F401  # pyright: ignore[reportUnusedImport]  # the fixture, for every test

API_KEY = "sk-test-0123456789abcdef-secret"
BASE_URL = "http://api.microdc.test"

Answer = Callable[[httpx.Request], Union[httpx.Response, Awaitable[httpx.Response]]]


def reply(
    status: int = 200,
    json: object = None,
    *,
    headers: Optional[Dict[str, str]] = None,
    content: Optional[bytes] = None,
) -> Answer:
    """An answer: ``status`` with a JSON body (or raw ``content``) and ``headers``."""

    def answer(request: httpx.Request) -> httpx.Response:
        all_headers = {"x-request-id": "req_123", **(headers or {})}
        if content is not None:
            return httpx.Response(status, headers=all_headers, content=content, request=request)
        return httpx.Response(status, headers=all_headers, json=json, request=request)

    return answer


def error(status: int, code: str = "some_error", *, headers: Optional[Dict[str, str]] = None) -> Answer:
    """An error answer with the API's ``{"error": {...}}`` body."""
    body = {"error": {"type": "invalid_request_error", "code": code, "message": f"it failed ({code})", "param": None}}
    return reply(status, body, headers=headers)


def fail(exc_type: Type[httpx.TransportError], message: str = "boom") -> Answer:
    """An answer that never arrives: the transport raises ``exc_type``."""

    def answer(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return answer


class Recorder:
    """A ``MockTransport`` handler: scripted answers, and every request it received."""

    def __init__(self, *answers: Answer) -> None:
        self.answers: Tuple[Answer, ...] = answers or (reply(200, {}),)
        self.requests: List[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        result = answer(request)
        if isinstance(result, httpx.Response):
            return result
        return await result

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def make_client(recorder: Optional[Recorder] = None, **kwargs: Any) -> AsyncMicroDC:
    """An ``AsyncMicroDC`` whose requests go to ``recorder`` (the caller's ``http_client``)."""
    mock = httpx.MockTransport(recorder or Recorder())
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("base_url", BASE_URL)
    return AsyncMicroDC(http_client=httpx.AsyncClient(transport=mock), **kwargs)


class RetriesAndErrors:
    """Hooks that keep every ``on_retry`` and ``on_error`` record."""

    def __init__(self) -> None:
        self.retries: List[RetryInfo] = []
        self.errors: List[ErrorInfo] = []

    def on_retry(self, info: RetryInfo) -> None:
        self.retries.append(info)

    def on_error(self, info: ErrorInfo) -> None:
        self.errors.append(info)


@pytest.fixture
def no_retry_delays() -> Iterator[None]:
    """Retries happen at once (``pytestmark = pytest.mark.usefixtures("no_retry_delays")``)."""
    with disable_retry_delays():
        yield


class ChunkStream(httpx.AsyncByteStream):
    """A response body sent in ``chunks``, which records how much of it was read and whether it was closed.

    ``then_raise`` is raised after the last chunk (a dropped connection); ``hang`` waits
    forever after the last chunk instead (until the reader is cancelled).
    """

    def __init__(
        self,
        chunks: List[bytes],
        *,
        then_raise: Optional[Type[httpx.TransportError]] = None,
        hang: bool = False,
    ) -> None:
        self.chunks = chunks
        self.then_raise = then_raise
        self.hang = hang
        self.yielded = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.yielded += 1
            yield chunk
        if self.then_raise is not None:
            raise self.then_raise("connection dropped")
        if self.hang:
            await asyncio.Event().wait()

    async def aclose(self) -> None:
        self.closed = True


def stream_reply(stream: ChunkStream, *, status: int = 200, content_type: str = "text/event-stream") -> Answer:
    """An answer whose body is ``stream`` (each answer needs its own stream)."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type, "x-request-id": "req_stream"}
        return httpx.Response(status, headers=headers, stream=stream, request=request)

    return answer


# ---------------------------------------------------------------- TLS and proxies

NETWORK_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def clean_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA settings from the machine running the tests (each test sets its own)."""
    for name in NETWORK_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A private CA nothing trusts by default."""
    return trustme.CA()


@pytest.fixture
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate from ``ca`` for 127.0.0.1 and localhost."""
    return server_context(ca)


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """``ca``'s certificate as a PEM file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def ca_dir(ca: trustme.CA, tmp_path: Path) -> str:
    """A directory holding ``ca`` as OpenSSL's ``capath`` wants it (skips without the openssl tool)."""
    try:
        return hashed_ca_dir(ca, tmp_path / "certs")
    except (OSError, subprocess.SubprocessError):
        pytest.skip("the openssl command is needed to hash a certificate directory")
