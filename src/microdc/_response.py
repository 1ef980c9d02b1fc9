"""The parser, and the raw and streamed responses ``with_raw_response`` / ``with_streaming_response`` give.

:func:`parse_response` turns an answer into what a call's plan
(:class:`~microdc._request_builder.FinalRequestOptions`) asks for. The response mode
is no flag smuggled through fake headers, a context variable or a keyword: the
generated raw/streaming views wrap the methods of a resource copy whose mode is set
(:func:`microdc._resource.with_response_mode`), so it reaches the plan as a typed
field; the wrappers below only give the methods their return types. A hook or a
task that makes another call meanwhile gets a parsed answer as usual.
"""

from __future__ import annotations

import os
import copy
import datetime
import functools
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Type,
    Union,
    Generic,
    TypeVar,
    Callable,
    Optional,
    Awaitable,
    AsyncIterator,
    cast,
    overload,
)

import anyio
import httpx
import pydantic
from typing_extensions import ParamSpec, get_args, get_origin

from ._logs import redact_url
from ._models import BaseModel, parse_json, set_request_id, check_cast_type
from ._streaming import AsyncStream
from .pagination import BaseAsyncPage
from ._exceptions import APIResponseValidationError, decode_body, read_response

if TYPE_CHECKING:
    from ._hooks import InstrumentedCall
    from .pagination import AsyncPaginator
    from ._base_client import BaseClient
    from ._request_builder import FinalRequestOptions

__all__ = [
    "AsyncAPIResponse",
    "AsyncBinaryAPIResponse",
    "AsyncResponseContextManager",
    "async_to_raw_page_wrapper",
    "async_to_raw_response_wrapper",
    "async_to_streamed_page_wrapper",
    "async_to_streamed_response_wrapper",
    "parse_response",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_P = ParamSpec("_P")
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")


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
        client: BaseClient,
        options: FinalRequestOptions,
        retries_taken: int,
        call: Optional[InstrumentedCall] = None,
    ) -> None:
        self.http_response = raw
        self.retries_taken = retries_taken
        self._client = client
        self._options = options
        self._call = call  # the hooks' view of the call, for an event stream's reconnections
        self._parsed: Dict[object, Any] = {}

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

    @overload
    async def parse(self, *, to: Type[_R]) -> _R: ...

    @overload
    async def parse(self) -> _T: ...

    async def parse(self, *, to: Optional[Type[Any]] = None) -> Any:
        """The answer as the SDK object the method returns (computed once per type, then cached).

        ``to`` parses it as another type instead: a ``microdc.BaseModel`` subclass, a
        union or container of them, a plain type, or ``AsyncStream[T]`` for an event
        stream of ``T``. A plain ``pydantic.BaseModel`` raises ``TypeError``.
        """
        try:
            return self._parsed[to]
        except KeyError:
            pass
        except TypeError:  # an unhashable type: parsed each time
            return await self._parse_as(to)
        parsed = self._parsed[to] = await self._parse_as(to)
        return parsed

    async def _parse_as(self, to: Optional[Type[Any]]) -> Any:
        options = self._options
        if to is not None:
            options = copy.copy(options)
            origin = get_origin(to) or to
            if isinstance(origin, type) and issubclass(origin, AsyncStream):
                args = get_args(to)  # the item type is checked when the stream is built
                options.sse_cls, options.cast_to = origin, args[0] if args else object
            else:
                check_cast_type(to)
                options.sse_cls, options.cast_to = None, to
        return await parse_response(self._client, self.http_response, options, self.retries_taken, self._call)

    async def read(self) -> bytes:
        """The whole body as bytes."""
        return await self.http_response.aread()

    async def text(self) -> str:
        """The body decoded as text (read first if needed)."""
        await self.read()
        return self.http_response.text

    async def json(self) -> object:
        """The body parsed as JSON (read first if needed)."""
        await self.read()
        return self.http_response.json()

    async def close(self) -> None:
        """Release the connection without reading the rest of the body."""
        await self.http_response.aclose()

    async def iter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """The body in chunks of bytes, decoded (gzip, ...) as it arrives."""
        async for chunk in self.http_response.aiter_bytes(chunk_size):
            yield chunk

    async def iter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        """The body in chunks of text, as it arrives."""
        async for chunk in self.http_response.aiter_text(chunk_size):
            yield chunk

    async def iter_lines(self) -> AsyncIterator[str]:
        """The body line by line, as it arrives (line endings removed)."""
        async for line in self.http_response.aiter_lines():
            yield line

    async def stream_to_file(self, file: Union[str, os.PathLike[str]], *, chunk_size: Optional[int] = None) -> None:
        """Write the body to ``file`` as it arrives, without blocking the event loop."""
        async with await anyio.open_file(file, mode="wb") as out:
            async for chunk in self.http_response.aiter_bytes(chunk_size):
                await out.write(chunk)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code} {self.http_response.reason_phrase}] type={self._options.cast_to}>"


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


def async_to_raw_response_wrapper(
    func: Callable[_P, Awaitable[_R]],
) -> Callable[_P, Awaitable[AsyncAPIResponse[_R]]]:
    """``func`` (a method of a resource in ``"raw"`` mode) typed as returning the raw :class:`AsyncAPIResponse`."""
    return cast("Callable[_P, Awaitable[AsyncAPIResponse[_R]]]", func)


def async_to_streamed_response_wrapper(
    func: Callable[_P, Awaitable[_R]],
) -> Callable[_P, AsyncResponseContextManager[AsyncAPIResponse[_R]]]:
    """``func`` (of a resource in ``"unread"`` mode) returning a context manager over its unread :class:`AsyncAPIResponse`."""

    @functools.wraps(func)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncResponseContextManager[AsyncAPIResponse[_R]]:
        return AsyncResponseContextManager(cast("Awaitable[AsyncAPIResponse[_R]]", func(*args, **kwargs)))

    return wrapped


def async_to_raw_page_wrapper(
    func: Callable[_P, AsyncPaginator[Any, _PageT]],
) -> Callable[_P, Awaitable[AsyncAPIResponse[_PageT]]]:
    """A list method (of a resource in ``"raw"`` mode) returning the raw response of its first page."""

    @functools.wraps(func)
    async def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncAPIResponse[_PageT]:
        return cast(AsyncAPIResponse[_PageT], await func(*args, **kwargs))

    return wrapped


def async_to_streamed_page_wrapper(
    func: Callable[_P, AsyncPaginator[Any, _PageT]],
) -> Callable[_P, AsyncResponseContextManager[AsyncAPIResponse[_PageT]]]:
    """A list method (of a resource in ``"unread"`` mode) returning a context manager over its first page's response."""

    @functools.wraps(func)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> AsyncResponseContextManager[AsyncAPIResponse[_PageT]]:
        return AsyncResponseContextManager(cast("Awaitable[AsyncAPIResponse[_PageT]]", func(*args, **kwargs)))

    return wrapped


async def parse_response(
    client: BaseClient,
    response: httpx.Response,
    options: FinalRequestOptions,
    retries_taken: int,
    call: Optional[InstrumentedCall] = None,
) -> Any:
    """``response`` as the object ``options`` asks for: a model, a page, a stream, bytes, text or nothing.

    ``call`` (a client with hooks) is the call the hooks saw, which an event stream's
    reconnections continue.
    """
    strict = client._strict_response_validation  # pyright: ignore[reportPrivateUsage]
    instruments = client._instrumentation  # pyright: ignore[reportPrivateUsage]
    cast_to = options.cast_to
    sse_cls = options.sse_cls
    if sse_cls is not None:
        return sse_cls(
            cast_to=cast_to,
            response=response,
            strict=strict,
            resume=client._stream_resumer(options, call),  # pyright: ignore[reportPrivateUsage]
            failures=retries_taken,
            on_terminal=None if instruments is None or not instruments.on_job else instruments.saw_event,
        )
    if cast_to is httpx.Response:
        return response
    await read_response(response)
    if cast_to is AsyncBinaryAPIResponse:
        return AsyncBinaryAPIResponse(raw=response, client=client, options=options, retries_taken=retries_taken)
    if cast_to is type(None):
        return None
    if cast_to is str:
        return response.text
    if cast_to is bytes:
        return response.content
    try:
        parsed: object = parse_json(cast_to, response.content, strict=strict)
    except pydantic.ValidationError as exc:
        raise APIResponseValidationError(
            response,
            decode_body(response),
            # pydantic quotes the offending input, which may hold a download token.
            message=redact_url(f"The answer to {options.method} {options.url} does not match the schema: {exc}"),
        ) from None
    except ValueError as exc:
        content_type = response.headers.get("content-type", "no content type")
        raise APIResponseValidationError(
            response,
            _snippet(response),
            message=f"Could not read the answer to {options.method} {redact_url(options.url)} ({content_type}): {exc}",
        ) from None
    if isinstance(parsed, BaseModel):
        set_request_id(parsed, response.headers.get("x-request-id"))
        _bind_page(parsed, client, options, response.request)
        if instruments is not None and instruments.on_job:
            await instruments.saw(parsed)  # the terminal Jobs in it, for the on_job hooks (_job_notices.py)
    return parsed


def _bind_page(model: BaseModel, client: BaseClient, options: FinalRequestOptions, request: httpx.Request) -> None:
    """Let a page fetch the pages after it with the same call (each of them parsed)."""
    if not isinstance(model, BaseAsyncPage):
        return
    page: BaseAsyncPage[Any] = cast(Any, model)
    page._client = client  # pyright: ignore[reportPrivateUsage]
    page._options = options  # pyright: ignore[reportPrivateUsage]
    page._http_request = request  # pyright: ignore[reportPrivateUsage]


def _snippet(response: httpx.Response, limit: int = 200) -> Optional[str]:
    text = response.text
    return text[:limit] if text else None
