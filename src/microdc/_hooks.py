"""Hooks: user callbacks around every request, and the rate-limit gate in front of it.

Where this sits: a client built with ``hooks=`` or ``rate_limit=`` holds an
:class:`Instrumentation` (any other client holds ``None``, and its retry loop pays
one ``is None`` check per attempt). ``BaseClient._send`` asks it for one
:class:`InstrumentedCall` per call, sends each attempt through
:meth:`InstrumentedCall.attempt`, and reports :meth:`~InstrumentedCall.retrying`
and :meth:`~InstrumentedCall.failed`. Everything else lives here.

The events of one call, in order:

* ``on_request(RequestInfo)``: each attempt, just before it is sent (after the
  rate limit let it through); ``info.set_header(...)`` adds a header to it;
* ``on_response(ResponseInfo)``: each attempt that got an HTTP answer, any status;
* ``on_retry(RetryInfo)``: between attempts, with the delay and why;
* ``on_error(ErrorInfo)``: once, when the call finally raises an ``APIError``.

Beside the calls, two kinds of event a hook set may also want:

* ``on_job(JobInfo)``: each terminal Job an answer, a list page or an event stream
  carried (``_job_notices.py``), dispatched by the parser, from the models it built;
* ``on_operation_start(OperationInfo)`` / ``on_operation_end(OperationEndInfo)``: a
  model call as the user asked for it (``ask``, ``send``, ``create_and_wait``, ...),
  around all the calls it takes (``_operations.py``); plain functions, not coroutines.

One more, internal to the SDK (``lib.otel.Tracing`` uses it): a hook set's
``_on_interrupted(state, error, cancelled)`` runs, synchronously and in the call's
own task, when a call that began leaves by an exception no hook above saw (it was
cancelled, or a bug raised). A cancelled task must not await again, hence sync;
it is the place to end what ``on_request`` began (a span, an attached context).

A hook is a plain or ``async`` callable. One that raises is logged on the
``microdc`` logger and otherwise ignored: observing a request never breaks it.
"""

from __future__ import annotations

import inspect
import itertools
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union, TypeVar, Callable, Optional, Sequence, Awaitable, cast
from functools import cached_property
from dataclasses import field, dataclass
from urllib.parse import urlsplit

import httpx
from typing_extensions import Protocol, TypeAlias

from . import _clock
from ._logs import logger, redact_url, redact_headers
from ._retry import retry_after_seconds
from ._constants import MAX_RETRY_AFTER
from ._exceptions import APIError, APIStatusError
from ._operations import EndHook, StartHook, OperationInfo, SupportsOnOperation, is_cancellation, current_operation
from ._job_notices import JobHook, JobInfo, SupportsOnJob, terminal_jobs

if TYPE_CHECKING:
    from ._rate_limit import RateLimit
    from ._request_builder import FinalRequestOptions

__all__ = [
    "CallInfo",
    "ErrorHook",
    "ErrorInfo",
    "HookSet",
    "Hooks",
    "HooksArg",
    "Instrumentation",
    "InstrumentedCall",
    "RequestHook",
    "RequestInfo",
    "ResponseHook",
    "ResponseInfo",
    "RetryHook",
    "RetryInfo",
    "SupportsOnError",
    "SupportsOnRequest",
    "SupportsOnResponse",
    "SendAttempt",
    "SupportsOnRetry",
]

_InfoT = TypeVar("_InfoT")

# ---------------------------------------------------------------------- records


@dataclass(frozen=True)
class CallInfo:
    """What every record says about the call it belongs to."""

    method: str
    """``GET``, ``POST``, ..."""
    path: str
    """The operation's path template from the spec: ``/api/v1/jobs/{job_id}/status``
    (for ``client.get(path)`` and the other raw verbs: that path, without its query)."""
    url: str
    """The full URL of the attempt, download tokens redacted."""
    attempt: int
    """The attempt this record is about, from 1."""
    idempotency_key: Optional[str]
    """The ``Idempotency-Key`` every attempt of the call sends (``None`` for GET)."""
    call_id: int
    """The same number in every record of one call (unique in the process)."""
    state: Dict[Any, Any] = field(repr=False, compare=False)
    """One dict shared by every record of the call, for hooks that keep per-call
    data (a tracing span, a start time); key it by something your hook owns."""
    operation: Optional[OperationInfo] = field(default=None, repr=False, compare=False, kw_only=True)
    """The model call (``ask``, ``send``, ...) this call is part of, if any: its ``state`` is
    where a hook finds what it keeps for the operation (the GenAI span, for ``Telemetry``)."""


@dataclass(frozen=True)
class RequestInfo(CallInfo):
    """``on_request``: an attempt about to be sent."""

    _headers: httpx.Headers = field(repr=False, compare=False)

    @property
    def headers(self) -> Dict[str, str]:
        """A copy of the attempt's headers, credentials redacted."""
        return redact_headers(dict(self._headers))

    def set_header(self, name: str, value: str) -> None:
        """Send ``name: value`` with this attempt (e.g. a ``traceparent``)."""
        self._headers[name] = value


@dataclass(frozen=True)
class ResponseInfo(CallInfo):
    """``on_response``: an attempt that got an HTTP answer (any status)."""

    status_code: int
    elapsed: float
    """Seconds from sending the attempt to its response (headers, for a stream)."""
    time_to_first_byte: Optional[float]
    """Seconds from sending the attempt until the response's headers arrived; ``None``
    when the HTTP client does not report it (of the SDK's clients, the aiohttp one)."""
    request_id: Optional[str]
    """The answer's ``x-request-id``."""
    headers: httpx.Headers = field(repr=False, compare=False)
    _response: httpx.Response = field(repr=False, compare=False)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def content(self) -> Optional[bytes]:
        """The body, or ``None`` if it has not been read (a streamed or error answer)."""
        try:
            return self._response.content
        except httpx.ResponseNotRead:
            return None

    @cached_property
    def json(self) -> object:
        """The body parsed as JSON (once, on first use); ``None`` if unread or not JSON."""
        content = self.content
        if not content or "json" not in self.headers.get("content-type", ""):
            return None
        try:
            return self._response.json()
        except ValueError:
            return None


@dataclass(frozen=True)
class RetryInfo(CallInfo):
    """``on_retry``: attempt ``attempt`` failed and another follows after ``delay`` seconds."""

    delay: float
    status_code: Optional[int]
    """The status that caused the retry; ``None`` for a connection error or timeout."""
    error: APIError
    """The error the attempt ended with (``InternalServerError``, ``APITimeoutError``, ...)."""
    request_id: Optional[str]

    @property
    def reason(self) -> str:
        """``"HTTP 503"``, or the exception class: ``"APIConnectionError"``."""
        return f"HTTP {self.status_code}" if self.status_code is not None else type(self.error).__name__


@dataclass(frozen=True)
class ErrorInfo(CallInfo):
    """``on_error``: the call raises ``error`` after ``attempt`` attempts."""

    error: APIError
    status_code: Optional[int]
    request_id: Optional[str]
    elapsed: float
    """Seconds since the call started, every attempt and wait included."""


# ---------------------------------------------------------------------- hook sets

RequestHook: TypeAlias = Callable[[RequestInfo], Optional[Awaitable[None]]]
"""An ``on_request`` hook: a function or coroutine function of a :class:`RequestInfo`."""
ResponseHook: TypeAlias = Callable[[ResponseInfo], Optional[Awaitable[None]]]
"""An ``on_response`` hook: a function or coroutine function of a :class:`ResponseInfo`."""
RetryHook: TypeAlias = Callable[[RetryInfo], Optional[Awaitable[None]]]
"""An ``on_retry`` hook: a function or coroutine function of a :class:`RetryInfo`."""
ErrorHook: TypeAlias = Callable[[ErrorInfo], Optional[Awaitable[None]]]
"""An ``on_error`` hook: a function or coroutine function of an :class:`ErrorInfo`."""


@dataclass(frozen=True)
class Hooks:
    """Hooks from plain functions: ``AsyncMicroDC(hooks=Hooks(on_retry=log_retry))``."""

    on_request: Optional[RequestHook] = None
    on_response: Optional[ResponseHook] = None
    on_retry: Optional[RetryHook] = None
    on_error: Optional[ErrorHook] = None
    on_job: Optional[JobHook] = None


class SupportsOnRequest(Protocol):
    """A hook set with ``on_request``: called before each attempt is sent."""

    def on_request(self, info: RequestInfo, /) -> Optional[Awaitable[None]]:
        """Called before each attempt is sent; may be a coroutine function."""
        ...


class SupportsOnResponse(Protocol):
    """A hook set with ``on_response``: called for each attempt that got an HTTP answer."""

    def on_response(self, info: ResponseInfo, /) -> Optional[Awaitable[None]]:
        """Called for each attempt that got an HTTP answer; may be a coroutine function."""
        ...


class SupportsOnRetry(Protocol):
    """A hook set with ``on_retry``: called between two attempts."""

    def on_retry(self, info: RetryInfo, /) -> Optional[Awaitable[None]]:
        """Called between two attempts; may be a coroutine function."""
        ...


class SupportsOnError(Protocol):
    """A hook set with ``on_error``: called once, when a call finally raises."""

    def on_error(self, info: ErrorInfo, /) -> Optional[Awaitable[None]]:
        """Called once, when a call finally raises; may be a coroutine function."""
        ...


HookSet: TypeAlias = Union[
    Hooks, SupportsOnRequest, SupportsOnResponse, SupportsOnRetry, SupportsOnError, SupportsOnJob, SupportsOnOperation
]
"""An object with any of ``on_request``, ``on_response``, ``on_retry``, ``on_error``, ``on_job``,
``on_operation_start``/``on_operation_end``."""
HooksArg: TypeAlias = Union[HookSet, Sequence[HookSet]]
"""What ``hooks=`` takes: one hook set or a list of them (called in order)."""

_EVENTS = ("on_request", "on_response", "on_retry", "on_error", "on_job", "on_operation_start", "on_operation_end")
_INTERRUPTED = "_on_interrupted"


def _collect(hooks: Optional[HooksArg]) -> Dict[str, List[Callable[..., Any]]]:
    """``hooks=`` as one list of callables per event, in the order given."""
    lists: Dict[str, List[Callable[..., Any]]] = {event: [] for event in (*_EVENTS, _INTERRUPTED)}
    if hooks is None:
        return lists
    hook_sets: Sequence[object] = hooks if isinstance(hooks, (list, tuple)) else [hooks]
    for hook_set in hook_sets:
        found = False
        for event in _EVENTS:
            hook: object = getattr(hook_set, event, None)
            if hook is None:
                continue
            if not callable(hook):
                raise TypeError(f"{type(hook_set).__name__}.{event} must be callable, got {hook!r}")
            lists[event].append(hook)
            found = True
        if not found and not isinstance(hook_set, Hooks):
            raise TypeError(
                "hooks= takes objects with on_request, on_response, on_retry, on_error, on_job or "
                f"on_operation_start/on_operation_end; {type(hook_set).__name__} has none of them"
            )
        interrupted: object = getattr(hook_set, _INTERRUPTED, None)
        if found and callable(interrupted):
            lists[_INTERRUPTED].append(interrupted)
    return lists


async def _run(hooks: Sequence[Callable[[_InfoT], object]], info: _InfoT) -> None:
    for hook in hooks:
        try:
            result = hook(info)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("A hook raised; ignoring it: %r", hook)


# ---------------------------------------------------------------------- dispatch


_InterruptedHook: TypeAlias = Callable[[Dict[Any, Any], BaseException, bool], None]


class SendAttempt(Protocol):
    """How an attempt is sent (``BaseClient._attempt``): the request, whether to read the whole body."""

    def __call__(
        self, http: httpx.AsyncClient, request: httpx.Request, *, read_body: bool
    ) -> Awaitable[httpx.Response]: ...


class Instrumentation:
    """A client's hooks (per client) and rate limit (shared with its copies), ready to run."""

    __slots__ = (
        "on_error",
        "on_interrupted",
        "on_job",
        "on_operation_end",
        "on_operation_start",
        "on_request",
        "on_response",
        "on_retry",
        "rate_limit",
    )

    def __init__(self, hooks: Optional[HooksArg], rate_limit: Optional[RateLimit]) -> None:
        lists = _collect(hooks)
        self.on_request: Tuple[RequestHook, ...] = tuple(lists["on_request"])
        self.on_response: Tuple[ResponseHook, ...] = tuple(lists["on_response"])
        self.on_retry: Tuple[RetryHook, ...] = tuple(lists["on_retry"])
        self.on_error: Tuple[ErrorHook, ...] = tuple(lists["on_error"])
        self.on_interrupted: Tuple[_InterruptedHook, ...] = tuple(cast(List[_InterruptedHook], lists[_INTERRUPTED]))
        self.on_job: Tuple[JobHook, ...] = tuple(lists["on_job"])
        self.on_operation_start: Tuple[StartHook, ...] = tuple(lists["on_operation_start"])
        self.on_operation_end: Tuple[EndHook, ...] = tuple(lists["on_operation_end"])
        self.rate_limit = rate_limit

    @classmethod
    def build(cls, hooks: Optional[HooksArg], rate_limit: Optional[RateLimit]) -> Optional[Instrumentation]:
        """``None`` when there is nothing to run, so the client's hot path stays bare."""
        built = cls(hooks, rate_limit)
        has_hooks = any(getattr(built, event) for event in _EVENTS)
        return built if has_hooks or rate_limit is not None else None

    def start_call(self, options: FinalRequestOptions) -> InstrumentedCall:
        return InstrumentedCall(self, options)

    async def saw(self, parsed: object) -> None:
        """Tell the ``on_job`` hooks about each terminal Job in a parsed answer or page (none: no hooks run)."""
        for job, source in terminal_jobs(parsed):
            await _run(self.on_job, JobInfo(job, source))

    async def saw_event(self, job: object) -> None:
        """The terminal event of an event stream carried ``job``."""
        for found, _ in terminal_jobs(job):
            await _run(self.on_job, JobInfo(found, "event"))


_call_ids = itertools.count(1)


class InstrumentedCall:
    """One call's attempts as the hooks see them."""

    __slots__ = ("_base", "_instruments", "_reported", "_started", "attempts", "call_id", "state")

    def __init__(self, instruments: Instrumentation, options: FinalRequestOptions) -> None:
        self._instruments = instruments
        self._reported = False
        self._started = _clock.monotonic()
        self.attempts = 0
        self.call_id = next(_call_ids)
        self.state: Dict[Any, Any] = {}
        self._base: Dict[str, Any] = {
            "method": options.method,
            "path": _path_only(options.path_template),
            "url": "",
            "attempt": 0,
            "idempotency_key": options.idempotency_key,
            "call_id": self.call_id,
            "operation": current_operation(),
            "state": self.state,
        }

    async def attempt(
        self, send: SendAttempt, http: httpx.AsyncClient, request: httpx.Request, *, read_body: bool
    ) -> httpx.Response:
        """Send one attempt through the rate limit, between ``on_request`` and ``on_response``."""
        instruments = self._instruments
        self.attempts += 1
        base = self._base
        base["attempt"] = self.attempts
        base["url"] = redact_url(str(request.url))
        limit = instruments.rate_limit
        if limit is not None:
            await limit.acquire()
        headers_at: Optional[_HeadersArrival] = None
        if instruments.on_response and read_body:
            # httpcore reports when the response headers arrive through the request's
            # `trace` extension; a streamed attempt returns at that moment anyway.
            headers_at = _HeadersArrival()
            request.extensions["trace"] = headers_at
        try:
            if instruments.on_request:
                await _run(instruments.on_request, RequestInfo(**base, _headers=request.headers))
            sent = _clock.monotonic()
            response = await send(http, request, read_body=read_body)
            elapsed = _clock.monotonic() - sent
        finally:
            if limit is not None:
                limit.release()
        if limit is not None and response.status_code == 429:
            pause = retry_after_seconds(response.headers)
            if pause is not None and 0 < pause <= MAX_RETRY_AFTER:
                limit.pause(pause)
        if instruments.on_response:
            if headers_at is None:
                first_byte: Optional[float] = elapsed
            else:
                first_byte = None if headers_at.at is None else max(headers_at.at - sent, 0.0)
            info = ResponseInfo(
                **base,
                status_code=response.status_code,
                elapsed=elapsed,
                time_to_first_byte=first_byte,
                request_id=response.headers.get("x-request-id"),
                headers=response.headers,
                _response=response,
            )
            await _run(instruments.on_response, info)
        return response

    async def retrying(self, error: APIError, delay: float) -> None:
        """Attempt ``attempts`` ended in ``error``; the next one starts after ``delay`` seconds."""
        if self._instruments.on_retry:
            status, request_id = _status_of(error)
            info = RetryInfo(**self._base, delay=delay, status_code=status, error=error, request_id=request_id)
            await _run(self._instruments.on_retry, info)

    async def failed(self, error: APIError) -> None:
        """The call gives up and raises ``error``."""
        self._reported = True
        if self._instruments.on_error:
            status, request_id = _status_of(error)
            elapsed = _clock.monotonic() - self._started
            info = ErrorInfo(**self._base, error=error, status_code=status, request_id=request_id, elapsed=elapsed)
            await _run(self._instruments.on_error, info)

    def interrupted(self, error: BaseException) -> None:
        """The call leaves by ``error``; unless ``failed`` reported it, run the ``_on_interrupted`` hooks.

        Synchronous, and called from the call's own task (a cancelled task must not
        await; a context attached in ``on_request`` can only be detached there).
        """
        if self._reported or not self.attempts or not self._instruments.on_interrupted:
            return
        self._reported = True
        cancelled = is_cancellation(error)
        for hook in self._instruments.on_interrupted:
            try:
                hook(self.state, error, cancelled)
            except Exception:
                logger.exception("A hook raised; ignoring it: %r", hook)


def _path_only(path: str) -> str:
    """The path of a raw verb's full URL or query-carrying path (a spec template has neither)."""
    if "://" in path:
        path = urlsplit(path).path
    return path.split("?", 1)[0]


class _HeadersArrival:
    """An httpcore ``trace`` callback that notes when an attempt's response headers have arrived."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: Optional[float] = None

    async def __call__(self, event: str, info: Dict[str, Any]) -> None:  # noqa: ARG002 - httpcore's signature
        # httpcore's async interface requires a coroutine function; it awaits one per event.
        if event.endswith("receive_response_headers.complete") and self.at is None:
            self.at = _clock.monotonic()


def _status_of(error: APIError) -> Tuple[Optional[int], Optional[str]]:
    if isinstance(error, APIStatusError):
        return error.status_code, error.request_id
    return None, None
