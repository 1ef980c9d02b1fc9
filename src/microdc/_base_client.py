"""The generic client every resource sends through: :class:`BaseClient`.

One call, e.g. ``await client.jobs.retrieve(id)``, goes:

1. the resource method (generated) hands its path, the spec's path template and its
   options to :meth:`BaseClient._call` (the raw verbs ``client.get(...)`` go there
   too), which builds the call's :class:`~microdc._request_builder.FinalRequestOptions`
   (its plan: method, path, query, body, per-request options, response mode) and
   calls :meth:`BaseClient.request`;
2. :meth:`BaseClient.request` mints the idempotency key of a POST or DELETE, once,
   before any attempt;
3. the sender, :meth:`BaseClient._send`, loops: the
   :class:`~microdc._request_builder.RequestBuilder` builds the attempt's request (URL,
   headers, query, body), :meth:`BaseClient._attempt` sends it once and maps
   transport failures to ``APIConnectionError`` / ``APITimeoutError``, and
   :meth:`RetryPolicy.next_delay <microdc._retry.RetryPolicy.next_delay>` decides
   whether and when to try again;
4. the parser (:func:`~microdc._response.parse_response`) turns the answer into what
   the plan asks for: the SDK object, an ``AsyncStream`` for an event stream (which
   re-enters the loop of step 3 to resume), or an ``AsyncAPIResponse`` for the raw and
   streaming views.

A client given ``hooks=``, ``rate_limit=`` or a policy ``deadline`` sends each attempt
through a guard (``_hooks.InstrumentedCall``; :class:`_Deadline`, a cancel scope on the
SDK clock), and the parser tells its ``on_job`` hooks of the terminal Jobs it built;
any other client pays one ``is None`` check per attempt and one per answer.
"""

from __future__ import annotations

import logging
import contextlib
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, Type, Tuple, Union, Mapping, TypeVar, Optional, cast

import httpx
from typing_extensions import Self, Unpack, Protocol

from . import _clock
from ._logs import logger, redact_headers, request_fields
from ._retry import RetryPolicy
from ._types import Omit, Timeout, NotGiven, FileTypes, RequestContent, RequestOptions, MutationRequestOptions
from ._timeouts import effective_timeout
from ._exceptions import (
    APIError,
    APIStatusError,
    APITimeoutError,
    APIConnectionError,
    with_note,
    decode_body,
    read_response,
    connection_error,
    make_status_error,
)
from ._http_clients import HttpClientPool, DefaultAsyncHttpxClient
from ._request_builder import MUTATION_METHODS, ResponseMode, RequestBuilder, FinalRequestOptions, idempotency_key

if TYPE_CHECKING:
    from ._hooks import HooksArg, SendAttempt, Instrumentation, InstrumentedCall
    from ._streaming import Resume
    from .pagination import BaseAsyncPage, AsyncPaginator
    from ._rate_limit import RateLimit

__all__ = ["BaseClient"]

_T = TypeVar("_T")
# A string bound: `BaseAsyncPage[Any]` would build a pydantic class at import time.
_PageT = TypeVar("_PageT", bound="BaseAsyncPage[Any]")

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
        timeout: Union[Timeout, NotGiven],
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
        self._timeout_option = timeout
        self._builder = RequestBuilder(
            base_url=str(base_url),
            timeout=effective_timeout(timeout, http_client),
            headers=RequestBuilder.default_headers(self.auth_headers, self._custom_headers),
            custom_query=self._custom_query,
            custom_headers=self._custom_headers,
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
        """The URL every request path is joined to (always ending in ``/``)."""
        return httpx.URL(self._builder.base_url)

    @base_url.setter
    def base_url(self, url: Union[str, httpx.URL]) -> None:
        # Requests already planned are unaffected; copies made before keep their own.
        self._builder.set_base_url(str(url))

    @property
    def _base_url(self) -> str:
        return self._builder.base_url

    @property
    def timeout(self) -> Timeout:
        """The timeout of every request that sets none: the client's ``timeout=``, else its
        ``http_client``'s own (when you passed one), else 60 s (5 s to connect)."""
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

    async def request(self, cast_to: Type[_T], options: FinalRequestOptions) -> _T:
        """Send one call (with retries) and return what ``cast_to`` and the options' response mode ask for."""
        try:
            checked = cast_to in _CHECKED_CAST_TYPES
        except TypeError:  # an unhashable cast type: checked on every call
            checked = False
        if not checked:
            _check_cast_type(cast_to, options.sse_cls is None)
        options.cast_to = cast_to
        if options.idempotency_key is None and options.method in MUTATION_METHODS:
            from_headers = _take_idempotency_header(options)
            if from_headers is None:
                options.idempotency_key = idempotency_key()
            elif isinstance(from_headers, str):
                options.idempotency_key = from_headers
            # else `omit`: the caller asked for no key at all
        max_retries = options.max_retries if isinstance(options.max_retries, int) else self.max_retries
        call = None if self._instrumentation is None else self._instrumentation.start_call(options)
        response, retries_taken = await self._send(options, max_retries=max_retries, call=call)
        # The parse layer defines pydantic models: loaded on the first answer, not at `import microdc`.
        from ._response import AsyncAPIResponse, AsyncBinaryAPIResponse, parse_response

        if options.response_mode == "parsed":
            return cast(_T, await parse_response(self, response, options, retries_taken, call))
        response_cls = AsyncBinaryAPIResponse if cast_to is AsyncBinaryAPIResponse else AsyncAPIResponse
        return cast(
            _T, response_cls(raw=response, client=self, options=options, retries_taken=retries_taken, call=call)
        )

    async def _send(
        self,
        options: FinalRequestOptions,
        *,
        max_retries: int,
        call: Optional[InstrumentedCall],
        retries_taken: int = 0,
        failure: Optional[APIError] = None,
    ) -> Tuple[httpx.Response, int]:
        """The retry loop: attempts until a 2xx answer, a final error, or no retries left.

        An event stream resuming after ``failure`` enters it with that failure and
        the failures in a row so far as ``retries_taken``: the loop first asks the
        policy about it, then reconnects.
        """
        deadline = self._retry_policy.deadline
        started = 0.0
        guard: Optional[_Guard] = call
        if deadline is not None:
            started = _clock.monotonic()
            guard = _Deadline(started + deadline, deadline, call)
        if guard is None:
            return await self._attempts(options, max_retries, None, started, retries_taken, failure)
        # Hooks, the rate limit (``_hooks.py``) and the deadline. A call that leaves by an
        # exception the hooks did not see (cancelled, a bug) is reported here, in its own task.
        try:
            return await self._attempts(options, max_retries, guard, started, retries_taken, failure)
        except BaseException as exc:
            guard.interrupted(exc)
            raise

    async def _attempts(
        self,
        options: FinalRequestOptions,
        max_retries: int,
        guard: Optional[_Guard],
        started: float,
        retries_taken: int,
        failure: Optional[APIError],
    ) -> Tuple[httpx.Response, int]:
        policy = self._retry_policy
        http = self._pool.get()
        content, multipart = options.body()
        read_body = options.read_body
        while True:
            # Log records carry the attempt's fields as `extra` (_logs.request_fields); timed only when logged.
            logged = logger.isEnabledFor(logging.INFO)
            sent: Optional[float] = None
            if failure is None:
                request = self._builder.build(options, retries_taken, content, multipart)
                if logged:
                    sent = _clock.monotonic()
                    if logger.isEnabledFor(logging.DEBUG):
                        _log_request(request, retries_taken + 1)
                try:
                    if guard is None:
                        response = await self._attempt(http, request, read_body=read_body)
                    else:
                        response = await guard.attempt(self._attempt, http, request, read_body=read_body)
                except APIConnectionError as exc:
                    failure = exc
                else:
                    if response.is_success:
                        if logged and logger.isEnabledFor(logging.DEBUG):
                            fields = request_fields(request, retries_taken + 1, response, _since(sent))
                            logger.debug(
                                "HTTP %s %s -> %s", fields["method"], fields["url"], fields["status_code"], extra=fields
                            )
                        return response, retries_taken
                    failure = make_status_error(response, decode_body(response))
                    await response.aclose()
            # A failure an event stream resumes after was not timed here: its elapsed_ms is None.
            fields = _failure_fields(failure, retries_taken + 1, _since(sent)) if logged else {}
            delay = policy.next_delay(failure, retries_taken=retries_taken, started=started, max_retries=max_retries)
            if delay is not None and multipart is not None and not multipart.replayable:
                # Say why the call is not retried, on a new error: the one inspected stays as it was.
                failure, delay = with_note(failure, _NOT_REPLAYABLE), None
            if delay is None:
                if logged:
                    logger.debug(
                        "HTTP %s %s -> %s, raising it", fields["method"], fields["url"], _reason(failure), extra=fields
                    )
                if guard is not None:
                    await guard.failed(failure)
                raise failure
            retries_taken += 1
            if logged:
                logger.info(
                    "Retrying %s %s in %.2f s after %s",
                    fields["method"],
                    fields["url"],
                    delay,
                    _reason(failure),
                    extra=fields,
                )
            if guard is not None:
                await guard.retrying(failure, delay)
            await _clock.sleep(delay)
            failure = None

    async def _attempt(self, http: httpx.AsyncClient, request: httpx.Request, *, read_body: bool) -> httpx.Response:
        """One attempt: send ``request``; transport failures become SDK errors.

        An error answer comes back read, even when the call leaves its body unread
        (an event stream, ``with_streaming_response``): the error is made from it.
        """
        try:
            response = await http.send(request, stream=not read_body)
        except httpx.HTTPError as exc:
            raise connection_error(exc, request) from exc
        if not read_body and not response.is_success:
            await read_response(response)
        return response

    def _stream_resumer(self, options: FinalRequestOptions, call: Optional[InstrumentedCall]) -> Resume:
        """How an event stream of the call ``options`` plans re-opens itself after a failure."""
        max_retries = options.max_retries if isinstance(options.max_retries, int) else self.max_retries

        async def resume(failure: APIError, last_event_id: Optional[str], failures: int) -> Tuple[httpx.Response, int]:
            plan = options if last_event_id is None else options.with_headers({"Last-Event-ID": last_event_id})
            return await self._send(plan, max_retries=max_retries, call=call, retries_taken=failures, failure=failure)

        return resume

    async def _request_page(self, page_cls: Type[_PageT], options: FinalRequestOptions) -> _PageT:
        return await self.request(page_cls, options)

    # ------------------------------------------------------------------ verbs

    async def _call(
        self,
        method: str,
        path: str,
        *,
        cast_to: Type[_T],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
        body: Optional[object] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        content: Optional[RequestContent] = None,
        path_template: Optional[str] = None,
        response_mode: ResponseMode = "parsed",
        sse_cls: Optional[Type[Any]] = None,
        read_body: bool = True,
    ) -> _T:
        """The one way in for the raw verbs and the generated resources: plan the call, send it."""
        plan = FinalRequestOptions.build(
            method,
            path,
            options,
            query=query,
            body=body,
            files=files,
            content=content,
            path_template=path_template,
            response_mode=response_mode,
            sse_cls=sse_cls,
            read_body=read_body,
        )
        return await self.request(cast_to, plan)

    def _paginate(
        self,
        path: str,
        *,
        page: Type[_PageT],
        options: RequestOptions,
        query: Optional[Mapping[str, object]] = None,
        path_template: Optional[str] = None,
        response_mode: ResponseMode = "parsed",
    ) -> AsyncPaginator[Any, _PageT]:
        """A paginator over the list at ``path`` (nothing is sent until it is awaited or iterated)."""
        from .pagination import AsyncPaginator

        plan = FinalRequestOptions.build(
            "GET", path, options, query=query, path_template=path_template, response_mode=response_mode
        )
        return AsyncPaginator(client=self, page_cls=page, options=plan)

    async def get(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        query: Optional[Mapping[str, object]] = None,
        sse_cls: Optional[Type[Any]] = None,
        read_body: bool = True,
        **options: Unpack[RequestOptions],
    ) -> _T:
        """GET ``path`` (relative to ``base_url``) and parse the answer as ``cast_to``.

        ``sse_cls=AsyncStream[T]`` reads the answer as an event stream of ``T`` items
        (returned unread, resumed as ``jobs.events`` is); ``read_body=False`` with
        ``cast_to=httpx.Response`` returns the response with its body still unread.
        """
        return await self._call(
            "GET", path, cast_to=cast_to, options=options, query=query, sse_cls=sse_cls, read_body=read_body
        )

    async def post(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        content: Optional[RequestContent] = None,
        sse_cls: Optional[Type[Any]] = None,
        read_body: bool = True,
        **options: Unpack[MutationRequestOptions],
    ) -> _T:
        """POST to ``path``: ``body`` as JSON, ``files`` (with ``body``'s fields) as multipart, or
        ``content`` as raw bytes (``application/octet-stream`` unless ``extra_headers`` gives a
        ``Content-Type``); sends an ``Idempotency-Key``. ``sse_cls`` and ``read_body`` work as
        for :meth:`get`."""
        return await self._call(
            "POST",
            path,
            cast_to=cast_to,
            options=options,
            query=query,
            body=body,
            files=files,
            content=content,
            sse_cls=sse_cls,
            read_body=read_body,
        )

    async def patch(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        content: Optional[RequestContent] = None,
        **options: Unpack[RequestOptions],
    ) -> _T:
        """PATCH ``path`` with a JSON ``body`` (or raw ``content``, as for :meth:`post`)."""
        return await self._call(
            "PATCH", path, cast_to=cast_to, options=options, query=query, body=body, content=content
        )

    async def put(
        self,
        path: str,
        *,
        cast_to: Type[_T],
        body: Optional[object] = None,
        query: Optional[Mapping[str, object]] = None,
        files: Optional[Mapping[str, FileTypes]] = None,
        content: Optional[RequestContent] = None,
        **options: Unpack[RequestOptions],
    ) -> _T:
        """PUT ``body`` to ``path`` (JSON, multipart with ``files``, or raw ``content``, as for :meth:`post`)."""
        return await self._call(
            "PUT", path, cast_to=cast_to, options=options, query=query, body=body, files=files, content=content
        )

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
        return await self._call("DELETE", path, cast_to=cast_to, options=options, query=query, body=body)

    def get_api_list(
        self,
        path: str,
        *,
        page: Type[_PageT],
        query: Optional[Mapping[str, object]] = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPaginator[Any, _PageT]:
        """A paginator over the list at ``path`` (nothing is sent until it is awaited or iterated)."""
        return self._paginate(path, page=page, options=options, query=query)


class _Guard(Protocol):
    """What wraps the attempts of a call with hooks or a deadline (``InstrumentedCall``, ``_Deadline``)."""

    async def attempt(
        self, send: SendAttempt, http: httpx.AsyncClient, request: httpx.Request, *, read_body: bool
    ) -> httpx.Response: ...

    async def retrying(self, error: APIError, delay: float) -> None: ...

    async def failed(self, error: APIError) -> None: ...

    def interrupted(self, error: BaseException) -> None: ...


class _Deadline:
    """The policy's ``deadline`` around each attempt: at ``at`` on the SDK clock the attempt is cut.

    The cut attempt raises ``APITimeoutError``; hooks, when the client has them, run inside.
    """

    __slots__ = ("_at", "_call", "_seconds")

    def __init__(self, at: float, seconds: float, call: Optional[InstrumentedCall]) -> None:
        self._at = at
        self._seconds = seconds
        self._call = call

    async def attempt(
        self, send: SendAttempt, http: httpx.AsyncClient, request: httpx.Request, *, read_body: bool
    ) -> httpx.Response:
        call = self._call
        with _clock.cancel_at(self._at) as scope:
            if call is None:
                return await send(http, request, read_body=read_body)
            return await call.attempt(send, http, request, read_body=read_body)
        assert scope.cancelled_caught
        raise APITimeoutError(
            request,
            note=f"the call's deadline of {self._seconds:g} s passed; raise RetryPolicy(deadline=...) if it needs longer",
        )

    async def retrying(self, error: APIError, delay: float) -> None:
        if self._call is not None:
            await self._call.retrying(error, delay)

    async def failed(self, error: APIError) -> None:
        if self._call is not None:
            await self._call.failed(error)

    def interrupted(self, error: BaseException) -> None:
        if self._call is not None:
            self._call.interrupted(error)


def _reason(error: APIError) -> str:
    return f"HTTP {error.status_code}" if isinstance(error, APIStatusError) else type(error).__name__


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


def _since(sent: Optional[float]) -> Optional[float]:
    return None if sent is None else _clock.monotonic() - sent


def _failure_fields(failure: APIError, attempt: int, elapsed: Optional[float]) -> Dict[str, Any]:
    """The log fields of the attempt that ended in ``failure`` (its answer, if it got one)."""
    response = failure.response if isinstance(failure, APIStatusError) else None
    return request_fields(failure.request, attempt, response, elapsed)


def _log_request(request: httpx.Request, attempt: int) -> None:
    fields = request_fields(request, attempt)
    headers = redact_headers(dict(request.headers))
    logger.debug("Request: %s %s headers=%s", fields["method"], fields["url"], headers, extra=fields)
