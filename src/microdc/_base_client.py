"""The generic client every resource sends through.

:class:`BaseClient` knows how a call becomes a request (URL joining, headers in a
fixed order, query strings, bodies); :class:`AsyncAPIClient` sends it: one
function makes one attempt and maps transport failures to ``APIConnectionError`` /
``APITimeoutError`` (:meth:`AsyncAPIClient._attempt`), and one loop around it asks
the :class:`~microdc._retry.RetryPolicy` whether and when to try again
(:meth:`AsyncAPIClient._send`). The idempotency key is minted once per call,
before that loop, so every retry of a call sends the same key. A client given
``hooks=`` or ``rate_limit=`` routes each attempt, retry and final error through
``_hooks.py``; any other client pays one ``is None`` check per attempt for that.

The other concerns live next door: request building (:class:`BaseClient`) in
``_request_builder``, options in ``_request_options``, retry rules in
``_retry``, parsing in ``_models``, responses in ``_response``, pages in
``pagination``, streams in ``_streaming``, HTTP clients in ``_http_clients``.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, Type, Union, Mapping, TypeVar, Optional, cast

import httpx
import pydantic
from typing_extensions import Self, Unpack

from . import _clock
from ._logs import logger, redact_url, redact_headers
from ._retry import RetryPolicy
from ._types import Omit, Timeout, FileTypes, RequestOptions, MutationRequestOptions
from ._models import BaseModel, parse_json, set_request_id
from ._response import AsyncAPIResponse, AsyncBinaryAPIResponse, response_mode
from ._streaming import AsyncStream
from .pagination import BaseAsyncPage, AsyncPaginator
from ._exceptions import (
    APIStatusError,
    APITimeoutError,
    APIConnectionError,
    APIResponseValidationError,
    make_status_error,
)
from ._http_clients import HttpClientPool, DefaultAsyncHttpxClient
from ._request_builder import BaseClient
from ._request_options import FinalRequestOptions

if TYPE_CHECKING:
    from ._files import MultipartBody
    from ._hooks import HooksArg, Instrumentation, InstrumentedCall
    from .lib.rate_limit import RateLimit

__all__ = ["AsyncAPIClient", "BaseClient"]

_T = TypeVar("_T")
# A string bound: `BaseAsyncPage[Any]` would build a pydantic class at import time.
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")

_NOT_RETRIED_CODES = frozenset({"idempotency_key_reused"})


class AsyncAPIClient(BaseClient[httpx.AsyncClient, AsyncStream[Any]]):
    """Sends requests: the retry loop, response parsing, pagination, and the raw verbs."""

    _pool: HttpClientPool

    def __init__(
        self,
        *,
        base_url: Union[str, httpx.URL],
        timeout: Timeout,
        max_retries: int,
        http_client: Optional[httpx.AsyncClient] = None,
        custom_headers: Optional[Mapping[str, Any]] = None,
        custom_query: Optional[Mapping[str, object]] = None,
        _strict_response_validation: bool = False,
        _pool: Optional[HttpClientPool] = None,
        hooks: Optional[HooksArg] = None,
        rate_limit: Optional[RateLimit] = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            custom_headers=custom_headers,
            custom_query=custom_query,
            _strict_response_validation=_strict_response_validation,
        )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}")
        self._pool = _pool or HttpClientPool(http_client, DefaultAsyncHttpxClient)
        self._retry_policy = RetryPolicy(max_retries=max_retries)
        self._hooks = hooks
        self._rate_limit = rate_limit
        self._instrumentation: Optional[Instrumentation] = None
        if hooks is not None or rate_limit is not None:
            from ._hooks import Instrumentation  # only clients that use hooks pay for importing them

            self._instrumentation = Instrumentation.build(hooks, rate_limit)

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry_policy

    @property
    def _client(self) -> httpx.AsyncClient:
        return self._pool.get()

    def is_closed(self) -> bool:
        return self._pool.closed

    async def close(self) -> None:
        """Release the connection pool (shared with copies). Calling it twice is fine."""
        await self._pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ sending

    async def request(
        self,
        cast_to: Type[_T],
        options: FinalRequestOptions,
        *,
        stream: bool = False,
        stream_cls: Optional[Type[Any]] = None,
    ) -> _T:
        """Send one call (with retries) and return what ``cast_to`` and the response mode ask for."""
        mode = response_mode.get()
        options = await self._prepare_options(options)
        if options.idempotency_key is None and options.method != "GET":
            from_headers = _take_idempotency_header(options)
            if from_headers is None:
                options.idempotency_key = self._idempotency_key()
            elif isinstance(from_headers, str):
                options.idempotency_key = from_headers
            # else `omit`: the caller asked for no key at all
        max_retries = options.max_retries if isinstance(options.max_retries, int) else self.max_retries
        response, retries_taken = await self._send(options, stream=stream or mode == "stream", max_retries=max_retries)
        if mode == "parsed":
            return await self._parse_response(
                response,
                cast_to=cast_to,
                options=options,
                stream=stream,
                stream_cls=stream_cls,
                retries_taken=retries_taken,
            )
        response_cls = AsyncBinaryAPIResponse if cast_to is AsyncBinaryAPIResponse else AsyncAPIResponse
        return cast(
            _T,
            response_cls(
                raw=response,
                cast_to=cast(Any, cast_to),
                client=self,
                options=options,
                stream=stream,
                stream_cls=stream_cls,
                retries_taken=retries_taken,
            ),
        )

    async def _send(
        self, options: FinalRequestOptions, *, stream: bool, max_retries: int
    ) -> tuple[httpx.Response, int]:
        """The retry loop: attempts until a 2xx answer, a final error, or no retries left."""
        if self._instrumentation is None:
            return await self._send_attempts(options, stream, max_retries, None)
        # Hooks and the rate limit (``_hooks.py``). A call that leaves by an exception the
        # hooks did not see (cancelled, a bug) is reported here, in the call's own task.
        call = self._instrumentation.start_call(options)
        try:
            return await self._send_attempts(options, stream, max_retries, call)
        except BaseException as exc:
            call.interrupted(exc)
            raise

    async def _send_attempts(
        self, options: FinalRequestOptions, stream: bool, max_retries: int, call: Optional[InstrumentedCall]
    ) -> tuple[httpx.Response, int]:
        policy = self._retry_policy
        http = self._pool.get()
        content, multipart = options.body()
        retries_taken = 0
        # The deadline, when the policy has one, counts from the start of the call.
        started = _now() if policy.deadline is not None else 0.0
        while True:
            request = self._build_request(options, retries_taken, content, multipart)
            self._prepare_request(request)
            if logger.isEnabledFor(logging.DEBUG):
                _log_request(request)
            try:
                if call is None:
                    response = await self._attempt(http, request, stream=stream)
                else:
                    response = await call.attempt(self._attempt, http, request, stream=stream)
            except APIConnectionError as exc:
                error: Union[APIConnectionError, APIStatusError] = exc
                delay = policy.backoff(retries_taken)
                retryable = True
                reason = type(exc).__name__
            else:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("HTTP %s %s -> %s", request.method, redact_url(str(request.url)), response.status_code)
                if response.is_success:
                    return response, retries_taken
                await response.aread()
                error = make_status_error(response, _decode_body(response))
                await response.aclose()
                delay = policy.delay(retries_taken, response.headers)
                retryable = policy.should_retry_response(response) and error.code not in _NOT_RETRIED_CODES
                reason = f"HTTP {response.status_code}"
            if not (retryable and self._can_retry(error, multipart, retries_taken, max_retries, started, delay)):
                if call is not None:
                    await call.failed(error)
                raise error
            retries_taken += 1
            logger.info(
                "Retrying %s %s in %.2f s after %s", request.method, redact_url(str(request.url)), delay, reason
            )
            if call is not None:
                await call.retrying(error, delay)
            await policy.sleep(delay)

    def _can_retry(
        self,
        error: Union[APIConnectionError, APIStatusError],
        multipart: Optional[MultipartBody],
        retries_taken: int,
        max_retries: int,
        started: float,
        delay: float,
    ) -> bool:
        if not self._retry_policy.allows(retries_taken, max_retries, started, delay):
            return False
        if multipart is not None and not multipart.replayable:
            note = (
                " (not retried: the upload reads from a stream that cannot be rewound; "
                "pass bytes, a path or a seekable file to allow retries)"
            )
            error.message += note
            error.args = (error.message,)
            return False
        return True

    async def _attempt(self, http: httpx.AsyncClient, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """One attempt: send ``request``; transport failures become SDK errors."""
        try:
            return await http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(request=request) from exc
        except httpx.TooManyRedirects as exc:
            raise APIConnectionError(message=f"Too many redirects: {exc}", request=request) from exc
        except httpx.HTTPError as exc:
            detail = redact_url(str(exc)) or type(exc).__name__
            raise APIConnectionError(message=f"Connection error: {detail}", request=request) from exc

    async def _reconnect_stream(self, options: FinalRequestOptions, last_event_id: Optional[str]) -> httpx.Response:
        """One attempt to re-open an event stream after ``last_event_id``."""
        if last_event_id is not None:
            options = options.with_headers({"Last-Event-ID": last_event_id})
        response, _ = await self._send(options, stream=True, max_retries=0)
        return response

    # ------------------------------------------------------------------ parsing

    async def _parse_response(
        self,
        response: httpx.Response,
        *,
        cast_to: Type[_T],
        options: FinalRequestOptions,
        stream: bool,
        stream_cls: Optional[Type[Any]],
        retries_taken: int = 0,
    ) -> _T:
        strict = self._strict_response_validation
        if stream and stream_cls is not None:
            max_retries = options.max_retries if isinstance(options.max_retries, int) else self.max_retries

            async def reconnect(last_event_id: Optional[str]) -> httpx.Response:
                return await self._reconnect_stream(options, last_event_id)

            return cast(
                _T,
                stream_cls(
                    cast_to=cast_to,
                    response=response,
                    strict=strict,
                    reconnect=reconnect,
                    retries_left=max(max_retries - retries_taken, 0),
                    retry_policy=self._retry_policy,
                ),
            )
        if cast_to is httpx.Response:
            return cast(_T, response)
        await response.aread()
        if cast_to is AsyncBinaryAPIResponse:
            return cast(
                _T,
                AsyncBinaryAPIResponse(
                    raw=response,
                    cast_to=bytes,
                    client=self,
                    options=options,
                    stream=False,
                    stream_cls=None,
                    retries_taken=retries_taken,
                ),
            )
        if cast_to is type(None):
            nothing: Any = None
            return cast(_T, nothing)
        if cast_to is str:
            return cast(_T, response.text)
        if cast_to is bytes:
            return cast(_T, response.content)
        try:
            parsed: object = parse_json(cast_to, response.content, strict=strict)
        except pydantic.ValidationError as exc:
            raise APIResponseValidationError(
                response,
                _decode_body(response),
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
            if isinstance(parsed, BaseAsyncPage):
                self._bind_page(cast(Any, parsed), options, response.request)
        return cast(_T, parsed)

    def _bind_page(self, page: BaseAsyncPage[Any], options: FinalRequestOptions, request: httpx.Request) -> None:
        """Let ``page`` fetch the pages after it with the same call."""
        page._client = self
        page._options = options
        page._http_request = request

    async def _request_page(self, page_cls: Type[_PageT], options: FinalRequestOptions) -> _PageT:
        return await self.request(page_cls, options)

    # ------------------------------------------------------------------ verbs

    async def _verb(
        self,
        method: str,
        path: str,
        *,
        cast_to: Type[_T],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
        body: Optional[object] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        stream: bool = False,
        stream_cls: Optional[Type[Any]] = None,
    ) -> _T:
        final = FinalRequestOptions.build(method, path, options, query=query, body=body, files=files)
        return await self.request(cast_to, final, stream=stream, stream_cls=stream_cls)

    async def get(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        query: Optional[Mapping[str, object]] = None,
        stream: bool = False,
        stream_cls: Optional[Type[Any]] = None,
        **options: Unpack[RequestOptions],
    ) -> _T:
        """GET ``path`` (relative to ``base_url``) and parse the answer as ``cast_to``."""
        return await self._verb(
            "GET", path, cast_to=cast_to, options=options, query=query, stream=stream, stream_cls=stream_cls
        )

    async def post(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        **options: Unpack[MutationRequestOptions],
    ) -> _T:
        """POST ``body`` (JSON, or multipart with ``files``) to ``path``; sends an ``Idempotency-Key``."""
        return await self._verb("POST", path, cast_to=cast_to, options=options, query=query, body=body, files=files)

    async def patch(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        **options: Unpack[RequestOptions],
    ) -> _T:
        """PATCH ``path`` with a JSON ``body``."""
        return await self._verb("PATCH", path, cast_to=cast_to, options=options, query=query, body=body)

    async def put(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        **options: Unpack[RequestOptions],
    ) -> _T:
        """PUT ``body`` to ``path``."""
        return await self._verb("PUT", path, cast_to=cast_to, options=options, query=query, body=body, files=files)

    async def delete(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        **options: Unpack[MutationRequestOptions],
    ) -> _T:
        """DELETE ``path``; sends an ``Idempotency-Key``."""
        return await self._verb("DELETE", path, cast_to=cast_to, options=options, query=query, body=body)

    def get_api_list(
        self,
        path: str,
        *,
        page: Type[_PageT],
        query: Optional[Mapping[str, object]] = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[Any, _PageT]:
        """A paginator over the list at ``path`` (nothing is sent until it is awaited or iterated)."""
        final = FinalRequestOptions.build("GET", path, options, query=query)
        return AsyncPaginator(client=self, page_cls=page, options=final)


def _now() -> float:
    return _clock.monotonic()


def _decode_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text or None


def _take_idempotency_header(options: FinalRequestOptions) -> Union[str, Omit, None]:
    """An ``Idempotency-Key`` the caller put in ``extra_headers`` (any case), moved out of the headers.

    A string becomes the call's key (sent once per attempt, like ``idempotency_key=``);
    ``omit`` means the caller wants none sent.
    """
    headers = options.headers
    if not headers:
        return None
    found: Union[str, Omit, None] = None
    for name, value in headers.items():
        if name.lower() == "idempotency-key":
            found = value
    if found is not None:
        options.headers = {name: value for name, value in headers.items() if name.lower() != "idempotency-key"}
    return found


def _snippet(response: httpx.Response, limit: int = 200) -> Optional[str]:
    text = response.text
    return text[:limit] if text else None


def _log_request(request: httpx.Request) -> None:
    logger.debug(
        "Request: %s %s headers=%s", request.method, redact_url(str(request.url)), redact_headers(dict(request.headers))
    )
