"""The generic client every resource sends through: :class:`BaseClient`.

One call, e.g. ``await client.jobs.retrieve(id)``, goes:

1. the resource method builds the call's :class:`~microdc._request_builder.FinalRequestOptions`
   (its plan: method, path, query, body, per-request options, response mode) and
   calls :meth:`BaseClient.request`;
2. :meth:`BaseClient.request` mints the idempotency key of a POST or DELETE, once,
   before any attempt;
3. the sender, :meth:`BaseClient._send`, loops: the
   :class:`~microdc._request_builder.RequestBuilder` builds the attempt's request (URL,
   headers, query, body), :meth:`BaseClient._attempt` sends it once and maps
   transport failures to ``APIConnectionError`` / ``APITimeoutError``, and the
   :class:`~microdc._retry.RetryPolicy` decides whether and when to try again;
4. the parser (:func:`~microdc._response.parse_response`) turns the answer into what
   the plan asks for: the SDK object, or an ``AsyncAPIResponse`` for the raw and
   streaming wrappers.

A client given ``hooks=`` or ``rate_limit=`` routes each attempt, retry and final
error through ``_hooks.py``, and the parser tells its ``on_job`` hooks of the terminal
Jobs it built; any other client pays one ``is None`` check per attempt and one per answer.
"""

from __future__ import annotations

import logging
import contextlib
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, Type, Union, Mapping, TypeVar, Optional, cast

import httpx
from typing_extensions import Self, Unpack

from . import _clock
from ._logs import logger, redact_headers, request_fields
from ._retry import RetryPolicy
from ._types import Omit, Timeout, FileTypes, RequestOptions, MutationRequestOptions
from ._exceptions import (
    APIStatusError,
    APIConnectionError,
    read_body,
    with_note,
    decode_body,
    connection_error,
    make_status_error,
)
from ._http_clients import HttpClientPool, DefaultAsyncHttpxClient
from ._request_builder import MUTATION_METHODS, RequestBuilder, FinalRequestOptions, idempotency_key

if TYPE_CHECKING:
    from ._hooks import HooksArg, Instrumentation, InstrumentedCall
    from .pagination import BaseAsyncPage, AsyncPaginator
    from .lib.rate_limit import RateLimit

__all__ = ["BaseClient"]

_T = TypeVar("_T")
# A string bound: `BaseAsyncPage[Any]` would build a pydantic class at import time.
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")

_NOT_RETRIED_CODES = frozenset({"idempotency_key_reused"})
# Cast types already checked (``_models.check_cast_type``): a call pays one set lookup.
_CHECKED_CAST_TYPES: set[object] = set()
_NOT_REPLAYABLE = (
    "not retried: the upload reads from a stream that cannot be rewound; "
    "pass bytes, a path or a seekable file to allow retries"
)


class BaseClient:
    """Configuration, the connection pool, the retry loop, parsing, pagination and the raw verbs."""

    _pool: HttpClientPool
    _strict_response_validation: bool

    def __init__(
        self,
        *,
        base_url: Union[str, httpx.URL],
        timeout: Timeout,
        retry: RetryPolicy,
        http_client: Optional[httpx.AsyncClient] = None,
        custom_headers: Optional[Mapping[str, Union[str, Omit]]] = None,
        custom_query: Optional[Mapping[str, object]] = None,
        hooks: Optional[HooksArg] = None,
        rate_limit: Optional[RateLimit] = None,
        _strict_response_validation: bool = False,
    ) -> None:
        if not isinstance(retry, RetryPolicy):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"retry must be a microdc.RetryPolicy, got {type(retry).__name__}")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}")
        self._custom_headers: Mapping[str, Union[str, Omit]] = custom_headers or {}
        self._custom_query: Mapping[str, object] = custom_query or {}
        self._builder = RequestBuilder(
            base_url=str(base_url),
            timeout=timeout,
            headers=RequestBuilder.default_headers(self.auth_headers, self._custom_headers),
            custom_query=self._custom_query,
        )
        self._strict_response_validation = _strict_response_validation
        self._pool = HttpClientPool(http_client, DefaultAsyncHttpxClient)
        self._retry_policy = retry
        self._hooks = hooks
        self._rate_limit = rate_limit
        self._instrumentation: Optional[Instrumentation] = None
        if hooks is not None or rate_limit is not None:
            from ._hooks import Instrumentation  # only clients that use hooks pay for importing them

            self._instrumentation = Instrumentation.build(hooks, rate_limit)

    # ------------------------------------------------------------------ configuration

    @property
    def auth_headers(self) -> Dict[str, str]:
        return {}

    @property
    def default_headers(self) -> Dict[str, str]:
        """Headers of every request, in order: defaults, platform, auth, the caller's."""
        return self._builder.headers

    @property
    def default_query(self) -> Mapping[str, object]:
        return self._custom_query

    @property
    def base_url(self) -> httpx.URL:
        return httpx.URL(self._builder.base_url)

    @property
    def _base_url(self) -> str:
        return self._builder.base_url

    @property
    def timeout(self) -> Timeout:
        return self._builder.timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        """How this client retries (its ``max_retries`` is the one in effect)."""
        return self._retry_policy

    @property
    def max_retries(self) -> int:
        return self._retry_policy.max_retries

    @property
    def _client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` this client sends with on the running event loop."""
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

    # ------------------------------------------------------------------ one call

    async def request(
        self,
        cast_to: Type[_T],
        options: FinalRequestOptions,
        *,
        stream: bool = False,
        stream_cls: Optional[Type[Any]] = None,
    ) -> _T:
        """Send one call (with retries) and return what ``cast_to`` and the options' response mode ask for."""
        try:
            checked = cast_to in _CHECKED_CAST_TYPES
        except TypeError:  # an unhashable cast type: checked on every call
            checked = False
        if not checked:
            _check_cast_type(cast_to, stream_cls is None)
        options.cast_to = cast_to
        options.stream = stream
        options.stream_cls = stream_cls
        if options.idempotency_key is None and options.method in MUTATION_METHODS:
            from_headers = _take_idempotency_header(options)
            if from_headers is None:
                options.idempotency_key = idempotency_key()
            elif isinstance(from_headers, str):
                options.idempotency_key = from_headers
            # else `omit`: the caller asked for no key at all
        mode = options.response_mode
        max_retries = options.max_retries if isinstance(options.max_retries, int) else self.max_retries
        response, retries_taken = await self._send(options, stream=stream or mode == "stream", max_retries=max_retries)
        # The parse layer defines pydantic models: loaded on the first answer, not at `import microdc`.
        from ._response import AsyncAPIResponse, AsyncBinaryAPIResponse, parse_response

        if mode == "parsed":
            return cast(_T, await parse_response(self, response, options, retries_taken))
        response_cls = AsyncBinaryAPIResponse if cast_to is AsyncBinaryAPIResponse else AsyncAPIResponse
        return cast(_T, response_cls(raw=response, client=self, options=options, retries_taken=retries_taken))

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
        # The deadline, when the policy has one, counts from the start of the call on the SDK clock.
        started = _clock.monotonic() if policy.deadline is not None else 0.0
        while True:
            request = self._builder.build(options, retries_taken, content, multipart)
            # Log records carry the attempt's fields as `extra` (_logs.request_fields); timed only when logged.
            logged = logger.isEnabledFor(logging.INFO)
            sent = _clock.monotonic() if logged else 0.0
            if logged and logger.isEnabledFor(logging.DEBUG):
                _log_request(request, retries_taken + 1)
            error: Union[APIConnectionError, APIStatusError]
            answer: Optional[httpx.Response] = None
            try:
                if call is None:
                    response = await self._attempt(http, request, stream=stream)
                else:
                    response = await call.attempt(self._attempt, http, request, stream=stream)
                answer = response
                if response.is_success:
                    if logged and logger.isEnabledFor(logging.DEBUG):
                        fields = request_fields(request, retries_taken + 1, response, _clock.monotonic() - sent)
                        logger.debug(
                            "HTTP %s %s -> %s", fields["method"], fields["url"], fields["status_code"], extra=fields
                        )
                    return response, retries_taken
                # The body of a streamed error answer can still break while it is read.
                await read_body(response)
            except APIConnectionError as exc:
                error = exc
                delay = policy.backoff(retries_taken)
                # `retry_if` is asked, but cannot retry what no retry can mend (exc.retryable False).
                retryable = policy.decide(exc, exc.retryable) and exc.retryable
                reason = type(exc).__name__
            else:
                error = make_status_error(response, decode_body(response))
                await response.aclose()
                delay = policy.delay(retries_taken, response.headers)
                retryable = (
                    policy.decide(response, policy.should_retry_response(response))
                    and error.code not in _NOT_RETRIED_CODES
                )
                reason = f"HTTP {response.status_code}"
            retry = retryable and policy.allows(retries_taken, max_retries, started, delay)
            if retry and multipart is not None and not multipart.replayable:
                # Say why the call is not retried, on a new error: the one inspected stays as it was.
                error = cast(Union[APIConnectionError, APIStatusError], with_note(error, _NOT_REPLAYABLE))
                retry = False
            fields = request_fields(request, retries_taken + 1, answer, _clock.monotonic() - sent) if logged else {}
            if not retry:
                if logged:
                    logger.debug("HTTP %s %s -> %s, raising it", fields["method"], fields["url"], reason, extra=fields)
                if call is not None:
                    await call.failed(error)
                raise error
            retries_taken += 1
            if logged:
                logger.info(
                    "Retrying %s %s in %.2f s after %s", fields["method"], fields["url"], delay, reason, extra=fields
                )
            if call is not None:
                await call.retrying(error, delay)
            await policy.sleep(delay)

    async def _attempt(self, http: httpx.AsyncClient, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """One attempt: send ``request``; transport failures become SDK errors."""
        try:
            return await http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise connection_error(exc, request) from exc

    async def _reconnect_stream(self, options: FinalRequestOptions, last_event_id: Optional[str]) -> httpx.Response:
        """One attempt to re-open an event stream after ``last_event_id``."""
        if last_event_id is not None:
            options = options.with_headers({"Last-Event-ID": last_event_id})
        response, _ = await self._send(options, stream=True, max_retries=0)
        return response

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
        from .pagination import AsyncPaginator

        final = FinalRequestOptions.build("GET", path, options, query=query)
        return AsyncPaginator(client=self, page_cls=page, options=final)


def _check_cast_type(cast_to: object, build: bool) -> None:
    """Raise ``TypeError`` before anything is sent for a cast type the parser would not honour."""
    from ._models import check_cast_type

    check_cast_type(cast_to, build=build)
    with contextlib.suppress(TypeError):  # unhashable: checked again next time
        _CHECKED_CAST_TYPES.add(cast_to)


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


def _log_request(request: httpx.Request, attempt: int) -> None:
    fields = request_fields(request, attempt)
    headers = redact_headers(dict(request.headers))
    logger.debug("Request: %s %s headers=%s", fields["method"], fields["url"], headers, extra=fields)
