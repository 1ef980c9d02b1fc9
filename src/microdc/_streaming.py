"""Server-sent events: the decoder and the :class:`AsyncStream` that ``jobs.events`` returns.

:class:`SSEDecoder` follows the WHATWG event-stream rules: ``\\n``, ``\\r`` and
``\\r\\n`` line ends (also split across chunks), multi-line ``data``, ``id`` that
persists until replaced, ``retry``, comments, and an unterminated last event that
is dropped.

:class:`AsyncStream` yields one parsed item per event. Each event's ``data`` is
parsed as JSON on its own, in one pass from its text, as the data type of the item
its *name* selects (``job.status`` -> ``JobStatusUpdate``, a terminal name -> ``Job``);
the item is then built around it. Nothing in the data can change which kind of
item it becomes. Data that does not fit that type is kept as sent (lenient) or
raises ``APIResponseValidationError`` (strict); data that is not JSON always raises.
An event whose name the item type does not know is kept as a plain
``microdc.BaseModel`` with its ``event``, ``id`` and ``data`` (strict: raises), so it
is neither lost nor taken for a kind of event the code checks for.

The stream ends after a terminal event (for ``JobEvent`` items, the names of the
generated ``JobTerminalEvent``). When the connection drops, or the server ends the
stream cleanly before a terminal event (proxies close idle streams that way), it
reconnects with ``Last-Event-ID`` after a backoff from the client's retry policy,
on the SDK's clock (``microdc._clock``); each reconnection counts against the
call's ``max_retries``. So the caller sees every event exactly once. A stream of an
item type without terminal names ends when the server ends it. Leave a stream early
with ``async with`` (or ``await stream.close()``): the connection is closed before
control returns, including on cancellation.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Set,
    Dict,
    List,
    Type,
    Generic,
    TypeVar,
    Callable,
    Optional,
    Awaitable,
    FrozenSet,
    AsyncIterator,
    AsyncGenerator,
    cast,
)
from functools import cache

import httpx
import pydantic
from typing_extensions import Self, Annotated, get_args, get_origin

from . import _clock
from ._logs import redact_url
from ._models import (
    BaseModel,
    _is_json_error,
    construct_type,
    json_validator,
    check_cast_type,
    python_validator,
)
from ._exceptions import APIError, APIStatusError, APITimeoutError, APIConnectionError, APIResponseValidationError

if TYPE_CHECKING:
    from ._retry import RetryPolicy

__all__ = ["AsyncStream", "SSEDecoder", "ServerSentEvent"]

_T = TypeVar("_T")

Reconnect = Callable[[Optional[str]], Awaitable[httpx.Response]]
"""Re-opens the stream, sending ``Last-Event-ID`` when given one."""
OnTerminal = Callable[[Any], Awaitable[None]]
"""Told the data of the stream's terminal event (the client's ``on_job`` hooks, when it has any)."""


class ServerSentEvent:
    """One decoded event: its ``event`` name, ``data``, ``id`` and ``retry``."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, *, event: Optional[str], data: str, id: Optional[str], retry: Optional[int]) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def json(self) -> Any:
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, retry={self.retry!r})"


_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Turns the bytes of an event stream, chunk by chunk, into events."""

    __slots__ = ("_data", "_event", "_id", "_last_id", "_partial", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._partial: bytes = b""
        self._skip_lf = False
        self._started = False
        self._data: List[str] = []
        self._event: Optional[str] = None
        self._id: Optional[str] = None
        self._last_id: Optional[str] = None
        self._retry: Optional[int] = None

    @property
    def last_event_id(self) -> Optional[str]:
        """The id as of the last complete event: what a reconnection sends as ``Last-Event-ID``."""
        return self._last_id

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        """Decode ``chunk``; return the events it completed."""
        if not chunk:
            return []
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        buffer: bytes = self._partial + chunk if self._partial else chunk
        if not self._started:
            # A UTF-8 byte order mark may open the stream (even split across chunks); it is not data.
            if _BOM.startswith(buffer):
                self._partial = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        lines = buffer.splitlines(keepends=True)
        self._partial = b""
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            self._partial = lines.pop()
        elif buffer.endswith(b"\r"):
            # A "\r\n" may be split between this chunk and the next.
            self._skip_lf = True
        events: List[ServerSentEvent] = []
        for raw in lines:
            event = self._line(raw.rstrip(b"\r\n").decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def discard_partial_event(self) -> None:
        """Forget a half-received event (after a dropped connection); keep the last complete event's id.

        What follows is a new response, which may open with a byte order mark again.
        """
        self._partial = b""
        self._skip_lf = False
        self._started = False
        self._data = []
        self._event = None
        self._id = self._last_id

    def _line(self, line: str) -> Optional[ServerSentEvent]:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> Optional[ServerSentEvent]:
        # The id becomes the one to resume from only once its event is complete.
        self._last_id = self._id
        if not self._data:
            # A block without data lines is no event (and its name does not carry over).
            self._event = None
            return None
        event = ServerSentEvent(event=self._event, data="\n".join(self._data), id=self._id, retry=self._retry)
        self._data = []
        self._event = None
        return event


class _ItemKind:
    """How one kind of stream item is built: parse the data as ``data_type``, then wrap it."""

    __slots__ = ("construct", "data_type", "envelope_type", "validate_data", "validate_envelope")

    def __init__(self, envelope_type: Any, data_type: Any) -> None:
        self.envelope_type = envelope_type
        self.data_type = data_type
        self.validate_data = json_validator(data_type)
        self.validate_envelope = python_validator(envelope_type)


class _ItemKinds:
    """The kinds of item a stream yields, by SSE event name, and the names that end it.

    ``by_name`` is None when every event becomes the same kind (``default``).
    """

    __slots__ = ("by_name", "default", "terminal")

    def __init__(
        self, by_name: Optional[Dict[str, _ItemKind]], default: Optional[_ItemKind], terminal: FrozenSet[str]
    ) -> None:
        self.by_name = by_name
        self.default = default
        self.terminal = terminal

    def get(self, name: Optional[str]) -> Optional[_ItemKind]:
        if self.by_name is None:
            return self.default
        return self.by_name.get(name) if name is not None else None


@cache
def _item_kinds(cast_to: Any) -> _ItemKinds:
    """Read the item type: a union tagged by ``event`` maps each name to its variant and data type."""
    check_cast_type(cast_to, build=False)  # each item kind builds its own parsers
    if get_origin(cast_to) is Annotated:
        inner, *metadata = get_args(cast_to)
        if any(getattr(m, "discriminator", None) == "event" for m in metadata):
            return _tagged_kinds([v for v in get_args(inner) if isinstance(v, type) and issubclass(v, BaseModel)])
    if isinstance(cast_to, type) and issubclass(cast_to, BaseModel) and "data" in cast_to.model_fields:
        return _ItemKinds(None, _ItemKind(cast_to, cast_to.model_fields["data"].annotation), frozenset())
    return _ItemKinds(None, _ItemKind(cast_to, Any), frozenset())


def _tagged_kinds(variants: List[Type[BaseModel]]) -> _ItemKinds:
    # Job event streams end with the events of the generated JobTerminalEvent (names
    # from openapi.yml); imported here, when a stream is first read, not at import.
    from .types.job_terminal_event import JobTerminalEvent

    by_name: Dict[str, _ItemKind] = {}
    terminal: Set[str] = set()
    for variant in variants:
        names = [n for n in get_args(variant.model_fields["event"].annotation) if isinstance(n, str)]
        kind = _ItemKind(variant, variant.model_fields["data"].annotation)
        by_name.update(dict.fromkeys(names, kind))
        if issubclass(variant, JobTerminalEvent):
            terminal.update(names)
    return _ItemKinds(by_name, None, frozenset(terminal))


class AsyncStream(Generic[_T]):
    """An async iterator of parsed events over one HTTP response, resumable.

    Each item is ``{"event": name, "id": id, "data": <the event's JSON data>}`` as
    the item type the name selects.
    """

    response: httpx.Response

    def __init__(
        self,
        *,
        cast_to: Type[_T],
        response: httpx.Response,
        strict: bool = False,
        reconnect: Optional[Reconnect] = None,
        retries_left: int = 0,
        retry_policy: Optional[RetryPolicy] = None,
        on_terminal: Optional[OnTerminal] = None,
    ) -> None:
        self.response = response
        self._cast_to = cast_to
        self._kinds = _item_kinds(cast(Any, cast_to))
        self._strict = strict
        self._reconnect = reconnect
        self._retries_left = retries_left
        self._retry_policy = retry_policy
        self._on_terminal = on_terminal
        self._reconnections = 0
        self._iterator = self._events()

    @property
    def reconnections(self) -> int:
        """How many times the stream was resumed (after a dropped connection or an early end)."""
        return self._reconnections

    def __aiter__(self) -> AsyncIterator[_T]:
        return self

    async def __anext__(self) -> _T:
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            raise
        except BaseException:
            # An error or a cancellation: release the connection before it propagates.
            await self.close()
            raise

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; iteration ends."""
        try:
            # A read in progress in another task cannot be stopped here; it ends with the connection.
            if not getattr(self._iterator, "ag_running", False):
                await self._iterator.aclose()
        finally:
            await self.response.aclose()

    async def _events(self) -> AsyncGenerator[_T, None]:
        decoder = SSEDecoder()
        terminal = self._kinds.terminal
        while True:
            try:
                async for chunk in self.response.aiter_bytes():
                    for sse in decoder.feed(chunk):
                        item = self._parse(sse)
                        if sse.event in terminal:
                            await self.response.aclose()
                            if self._on_terminal is not None:
                                await self._on_terminal(getattr(item, "data", None))
                            yield cast(_T, item)
                            return
                        yield cast(_T, item)
                await self.response.aclose()
                if not terminal:
                    return
                error: APIError = APIConnectionError(
                    message=(
                        "The event stream ended before its last event "
                        f"({', '.join(sorted(terminal))}); resuming it failed."
                    ),
                    request=self.response.request,
                )
            except httpx.TransportError as exc:
                await self.response.aclose()
                error = _interrupted(exc, self.response.request)
            await self._resume(decoder, error)

    def _parse(self, sse: ServerSentEvent) -> object:
        """The item for ``sse``; for a name the item type does not know, a plain ``BaseModel`` (lenient)."""
        kind = self._kinds.get(sse.event)
        if kind is None:
            if self._strict:
                raise self._invalid(sse, f"its name {sse.event!r} is not one this stream knows")
            kind = _UNKNOWN
        # The data alone, in one pass from its text: nothing in it can reach the envelope.
        text = sse.data or "null"
        try:
            data = kind.validate_data(text)
        except pydantic.ValidationError as exc:
            if _is_json_error(exc):
                raise self._invalid(sse, f"its data is not JSON: {exc.errors()[0]['msg']}") from None
            if self._strict:
                raise self._invalid(sse, f"its data does not fit a {sse.event or 'stream'} event: {exc}") from None
            data = construct_type(kind.data_type, json.loads(text))
        envelope = {"event": sse.event, "id": sse.id, "data": data}
        try:
            # The data is already built, so this only checks the name and id.
            return kind.validate_envelope(envelope)
        except pydantic.ValidationError as exc:
            if self._strict:
                raise self._invalid(sse, str(exc)) from None
            return construct_type(kind.envelope_type, envelope)

    def _invalid(self, sse: ServerSentEvent, reason: str) -> APIResponseValidationError:
        return APIResponseValidationError(
            self.response,
            sse.data,
            message=redact_url(f"The event stream sent an event that could not be parsed (id {sse.id!r}): {reason}"),
        )

    async def _resume(self, decoder: SSEDecoder, error: APIError) -> None:
        """Re-open the stream after ``error``; every attempt counts against the call's ``max_retries``."""
        # Bytes of a half-received event are dropped: the server sends that event again.
        decoder.discard_partial_event()
        last_id = decoder.last_event_id or self.response.request.headers.get("last-event-id")
        while True:
            if self._reconnect is None or self._retries_left <= 0:
                raise error
            if self._retry_policy is not None:
                await _clock.sleep(self._retry_policy.backoff(self._reconnections))
            self._retries_left -= 1
            self._reconnections += 1
            try:
                self.response = await self._reconnect(last_id)
                return
            except APIConnectionError as exc:
                error = exc
            except APIStatusError as exc:
                if self._retry_policy is None or not self._retry_policy.should_retry_response(exc.response):
                    raise
                error = exc


_UNKNOWN = _ItemKind(BaseModel, BaseModel)
"""An event whose name the item type does not know: kept as a plain ``BaseModel``
(``event``, ``id`` and ``data`` as sent, data objects as ``BaseModel`` too), which no
``isinstance`` check for a known kind of event matches."""


def _interrupted(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    error: APIConnectionError
    if isinstance(exc, httpx.TimeoutException):
        error = APITimeoutError(request=request)
    else:
        error = APIConnectionError(
            message=f"The event stream was interrupted: {redact_url(str(exc)) or type(exc).__name__}", request=request
        )
    error.__cause__ = exc
    return error
