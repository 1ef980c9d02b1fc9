"""Raw and streamed responses: what ``with_raw_response`` and ``with_streaming_response`` give.

The wrappers below do not smuggle a flag through fake headers: they set the typed
context variable :data:`response_mode` around the call, and the client reads it
once per call to decide what to return.
"""

from __future__ import annotations

import os
import datetime
import functools
import contextvars
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Type,
    Union,
    Generic,
    TypeVar,
    Callable,
    Optional,
    Awaitable,
    AsyncIterator,
    cast,
)

import anyio
import httpx
from typing_extensions import Literal, ParamSpec

from ._models import BaseModel

if TYPE_CHECKING:
    from .pagination import BaseAsyncPage, AsyncPaginator
    from ._base_client import AsyncAPIClient
    from ._request_options import FinalRequestOptions

__all__ = [
    "AsyncAPIResponse",
    "AsyncBinaryAPIResponse",
    "AsyncResponseContextManager",
    "async_to_raw_page_wrapper",
    "async_to_raw_response_wrapper",
    "async_to_streamed_page_wrapper",
    "async_to_streamed_response_wrapper",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_P = ParamSpec("_P")
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")

ResponseMode = Literal["parsed", "raw", "stream"]
response_mode: contextvars.ContextVar[ResponseMode] = contextvars.ContextVar("microdc_response_mode", default="parsed")
"""How the call running in this context wants its answer: parsed (the default), raw, or streamed."""


class AsyncAPIResponse(Generic[_T]):
    """An HTTP answer with its metadata; ``await parse()`` gives the SDK object.

    With ``with_streaming_response`` nothing is read until you ask: use ``iter_bytes``,
    ``iter_text``, ``iter_lines``, ``stream_to_file`` or ``parse``.
    """

    http_response: httpx.Response
    retries_taken: int
    """How many retries the call needed before this answer (0: the first attempt)."""

    def __init__(
        self,
        *,
        raw: httpx.Response,
        cast_to: Type[_T],
        client: AsyncAPIClient,
        options: FinalRequestOptions,
        stream: bool,
        stream_cls: Optional[Type[Any]],
        retries_taken: int,
    ) -> None:
        self.http_response = raw
        self.retries_taken = retries_taken
        self._cast_to = cast_to
        self._client = client
        self._options = options
        self._stream = stream
        self._stream_cls = stream_cls
        self._parsed: Optional[_T] = None
        self._is_parsed = False

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def http_request(self) -> httpx.Request:
        return self.http_response.request

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def request_id(self) -> Optional[str]:
        request_id: Optional[str] = self.http_response.headers.get("x-request-id")
        return request_id

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to the end of the answer (so far, while streaming)."""
        try:
            return self.http_response.elapsed
        except RuntimeError:  # httpx sets it only once the body is read
            return datetime.timedelta(0)

    @property
    def is_closed(self) -> bool:
        return self.http_response.is_closed

    @property
    def http_version(self) -> str:
        return self.http_response.http_version

    async def parse(self) -> _T:
        """The answer as the SDK object the method returns (computed once, then cached)."""
        if not self._is_parsed:
            self._parsed = await self._client._parse_response(  # pyright: ignore[reportPrivateUsage]
                self.http_response,
                cast_to=self._cast_to,
                options=self._options,
                stream=self._stream,
                stream_cls=self._stream_cls,
            )
            self._is_parsed = True
        return cast(_T, self._parsed)

    async def read(self) -> bytes:
        """The whole body as bytes."""
        return await self.http_response.aread()

    async def text(self) -> str:
        await self.read()
        return self.http_response.text

    async def json(self) -> object:
        await self.read()
        return self.http_response.json()

    async def close(self) -> None:
        await self.http_response.aclose()

    async def iter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        async for chunk in self.http_response.aiter_bytes(chunk_size):
            yield chunk

    async def iter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        async for chunk in self.http_response.aiter_text(chunk_size):
            yield chunk

    async def iter_lines(self) -> AsyncIterator[str]:
        async for line in self.http_response.aiter_lines():
            yield line

    async def stream_to_file(self, file: Union[str, os.PathLike[str]], *, chunk_size: Optional[int] = None) -> None:
        """Write the body to ``file`` as it arrives, without blocking the event loop."""
        async with await anyio.open_file(file, mode="wb") as out:
            async for chunk in self.http_response.aiter_bytes(chunk_size):
                await out.write(chunk)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code} {self.http_response.reason_phrase}] type={self._cast_to}>"


class AsyncBinaryAPIResponse(AsyncAPIResponse[bytes]):
    """A binary answer (``files.content``): ``await read()``, ``iter_bytes()``, ``await write_to_file(path)``."""

    async def write_to_file(self, file: Union[str, os.PathLike[str]]) -> None:
        """Write the whole body to ``file`` (read into memory first; stream large files instead)."""
        data = await self.read()
        async with await anyio.open_file(file, mode="wb") as out:
            await out.write(data)


class AsyncResponseContextManager(Generic[_T]):
    """``async with client.jobs.with_streaming_response.retrieve(...) as response:``; closes on exit."""

    def __init__(self, request: Awaitable[_T]) -> None:
        self._request = request
        self._response: Optional[_T] = None

    async def __aenter__(self) -> _T:
        self._response = await self._request
        return self._response

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        response: object = self._response
        if isinstance(response, AsyncAPIResponse):
            await response.close()


async def _call_in_mode(mode: ResponseMode, func: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    token = response_mode.set(mode)
    try:
        result = func(*args, **kwargs)
        return await result
    finally:
        response_mode.reset(token)


def async_to_raw_response_wrapper(
    func: Callable[_P, Awaitable[_R]],
) -> Callable[_P, Awaitable[AsyncAPIResponse[_R]]]:
    """``func`` returning the raw :class:`AsyncAPIResponse` instead of the parsed object."""

    @functools.wraps(func)
    async def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncAPIResponse[_R]:
        return cast(AsyncAPIResponse[_R], await _call_in_mode("raw", func, args, kwargs))

    return wrapped


def async_to_streamed_response_wrapper(
    func: Callable[_P, Awaitable[_R]],
) -> Callable[_P, AsyncResponseContextManager[AsyncAPIResponse[_R]]]:
    """``func`` returning a context manager over an unread :class:`AsyncAPIResponse`."""

    @functools.wraps(func)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncResponseContextManager[AsyncAPIResponse[_R]]:
        return AsyncResponseContextManager(
            cast("Awaitable[AsyncAPIResponse[_R]]", _call_in_mode("stream", func, args, kwargs))
        )

    return wrapped


def async_to_raw_page_wrapper(
    func: Callable[_P, AsyncPaginator[Any, _PageT]],
) -> Callable[_P, Awaitable[AsyncAPIResponse[_PageT]]]:
    """A list method returning the raw response of its first page."""

    @functools.wraps(func)
    async def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncAPIResponse[_PageT]:
        return cast(AsyncAPIResponse[_PageT], await _call_in_mode("raw", func, args, kwargs))

    return wrapped


def async_to_streamed_page_wrapper(
    func: Callable[_P, AsyncPaginator[Any, _PageT]],
) -> Callable[_P, AsyncResponseContextManager[AsyncAPIResponse[_PageT]]]:
    """A list method returning a context manager over the unread response of its first page."""

    @functools.wraps(func)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncResponseContextManager[AsyncAPIResponse[_PageT]]:
        return AsyncResponseContextManager(
            cast("Awaitable[AsyncAPIResponse[_PageT]]", _call_in_mode("stream", func, args, kwargs))
        )

    return wrapped


def is_model_type(typ: object) -> bool:
    return isinstance(typ, type) and issubclass(typ, BaseModel)
