"""Server-sent events: the :class:`AsyncStream` that ``jobs.events`` returns.

The bytes become events in :class:`~microdc._sse.SSEDecoder` (WHATWG framing, linear
in the stream's size); :class:`AsyncStream` yields one parsed item per event. Each
event's ``data`` is parsed as JSON on its own, in one pass from its bytes, as the
data type of the item its *name* selects (``job.status`` -> ``JobStatusUpdate``, a terminal name -> ``Job``);
the item is then built around it. Nothing in the data can change which kind of
item it becomes. Data that does not fit that type is kept as sent (lenient) or
raises ``APIResponseValidationError`` (strict); data that is not JSON always raises.
An event whose name the item type does not know is kept as a plain
``microdc.BaseModel`` with its ``event``, ``id`` and ``data`` (strict: raises), so it
is neither lost nor taken for a kind of event the code checks for.

The stream ends after a terminal event (for ``JobEvent`` items, the names of the
generated ``JobTerminalEvent``). When the connection drops, or the server ends the
stream cleanly before a terminal event (proxies close idle streams that way), it
re-enters the client's retry loop with that failure (``BaseClient._send``), which
asks the retry policy (``RetryPolicy.next_delay``: its rules, ``retry_if``, the
server's hints, the deadline), fires ``on_retry``, waits on the SDK's clock
(``microdc._clock``) and reconnects with ``Last-Event-ID``; ``on_error`` fires only
if the stream finally raises. ``max_retries`` counts the failures in a row: a
reconnection that delivers a new event restores the whole budget, so a stream
follows a job of any length through any number of cuts that each make progress.
The caller sees every event exactly once. A stream of an item type without terminal
names ends when the server ends it. Leave a stream early with ``async with`` (or
``await stream.close()``): the connection is closed before control returns,
including on cancellation.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import (
    Any,
    Set,
    Dict,
    List,
    Type,
    Tuple,
    Union,
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

from ._sse import SSEDecoder, ServerSentEvent
from ._logs import redact_url
from ._models import (
    BaseModel,
    _is_json_error,
    construct_type,
    json_validator,
    check_cast_type,
    python_validator,
)
from ._exceptions import APIError, APITimeoutError, APIConnectionError, APIResponseValidationError

__all__ = ["AsyncStream", "Resume"]

_T = TypeVar("_T")

Resume = Callable[[APIError, Optional[str], int], Awaitable[Tuple[httpx.Response, int]]]
"""Re-opens a stream after the failure that ended its last response: given that
failure, the ``Last-Event-ID`` to send and the failures in a row so far, it returns
the new response and the failures in a row counting the reconnections it made
(``BaseClient._stream_resumer``); it raises when the policy gives up."""
OnTerminal = Callable[[Any], Awaitable[None]]
"""Told the data of the stream's terminal event (the client's ``on_job`` hooks, when it has any)."""


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
        resume: Optional[Resume] = None,
        failures: int = 0,
        on_terminal: Optional[OnTerminal] = None,
    ) -> None:
        self.response = response
        self._cast_to = cast_to
        self._kinds = _item_kinds(cast(Any, cast_to))
        self._strict = strict
        self._resume = resume
        # Failed attempts in a row (the call's retries before the stream opened count):
        # what the policy's `max_retries` bounds; a new event sets it back to 0.
        self._failures = failures
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
                        self._failures = 0
                        item = self._parse(sse)
                        if sse.event in terminal:
                            await self.response.aclose()
                            # The on_job hooks see the terminal Job before the caller does.
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
            await self._reconnect(decoder, error)

    def _parse(self, sse: ServerSentEvent) -> object:
        """The item for ``sse``; for a name the item type does not know, a plain ``BaseModel`` (lenient)."""
        kind = self._kinds.get(sse.event)
        if kind is None:
            if self._strict:
                raise self._invalid(sse, f"its name {sse.event!r} is not one this stream knows")
            kind = _UNKNOWN
        # The data alone, in one pass from its bytes: nothing in it can reach the envelope.
        try:
            data = kind.validate_data(sse.raw_data or b"null")
        except pydantic.ValidationError as exc:
            data = self._data_that_failed(kind, sse, exc)
        envelope = {"event": sse.event, "id": sse.id, "data": data}
        try:
            # The data is already built, so this only checks the name and id.
            return kind.validate_envelope(envelope)
        except pydantic.ValidationError as exc:
            if self._strict:
                raise self._invalid(sse, str(exc)) from None
            return construct_type(kind.envelope_type, envelope)

    def _data_that_failed(self, kind: _ItemKind, sse: ServerSentEvent, error: pydantic.ValidationError) -> object:
        """The data when its first parse failed: kept leniently, or the error that explains why not."""
        source: Union[bytes, str] = sse.raw_data or b"null"
        if _is_json_error(error) and not source.isascii():
            # Bytes that are not UTF-8 read as U+FFFD (the event-stream rule): parse the text instead.
            source = sse.data
            try:
                return kind.validate_data(source)
            except pydantic.ValidationError as exc:
                error = exc
        if _is_json_error(error):
            raise self._invalid(sse, f"its data is not JSON: {error.errors()[0]['msg']}") from None
        if self._strict:
            raise self._invalid(sse, f"its data does not fit a {sse.event or 'stream'} event: {error}") from None
        return construct_type(kind.data_type, json.loads(source))

    def _invalid(self, sse: ServerSentEvent, reason: str) -> APIResponseValidationError:
        return APIResponseValidationError(
            self.response,
            sse.data,
            message=redact_url(f"The event stream sent an event that could not be parsed (id {sse.id!r}): {reason}"),
        )

    async def _reconnect(self, decoder: SSEDecoder, error: APIError) -> None:
        """Re-open the stream after ``error``, or raise the error the retry policy gives up on."""
        # Bytes of a half-received event are dropped: the server sends that event again.
        decoder.discard_partial_event()
        if self._resume is None:
            raise error
        last_id = decoder.last_event_id or self.response.request.headers.get("last-event-id")
        failures = self._failures
        self.response, self._failures = await self._resume(error, last_id, failures)
        self._reconnections += self._failures - failures


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
