"""Operations: one model call as the user asked for it, above the HTTP calls it takes.

Where this sits: ``jobs.ask``, ``conversation.send``/``stream``, ``create_and_wait``
and ``jobs.wait`` of a model job (``llm_complete``, ``llm_chat``, ``llm_embed``) each
open an :class:`Operation` around their whole run: submit, wait, terminal Job. A
structured ``ask``/``send`` (``response_model=``, read with ``jobs.parse``'s rules) is
one operation too, its re-asks and the validation of each reply included. Hook
sets that implement ``on_operation_start`` / ``on_operation_end`` see it
(``lib.otel.Telemetry`` turns it into the GenAI span); every other hook set, and a
client without hooks, never does: :func:`operation` returns :data:`NO_OPERATION`
after one ``is None`` check.

One operation at a time per task: while one is current (a :class:`~contextvars.ContextVar`),
the operations its helpers would open (the ``jobs.wait`` inside ``ask``) open none, and
every HTTP call made meanwhile carries it (``CallInfo.operation``), so a hook can put
the call under it. A coroutine operation is current from its start to its end; a
streamed one (``conversation.stream``) only while its stream is being read
(:meth:`Operation.current`), so the caller's code between two deltas is outside it.

The two hooks are plain functions, not coroutines, called in the operation's own
task: the end runs while a cancelled task unwinds, when nothing may be awaited.
"""

from __future__ import annotations

import asyncio
import itertools
import contextvars
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, List, Type, Tuple, Union, Mapping, Callable, Optional, Generator
from contextlib import contextmanager
from dataclasses import field, dataclass
from urllib.parse import urlsplit

import anyio
from typing_extensions import Self, Protocol

from . import _clock
from ._logs import logger

if TYPE_CHECKING:
    from .types.job import Job
    from ._base_client import BaseClient

__all__ = [
    "NO_OPERATION",
    "OPERATION_NAMES",
    "Operation",
    "OperationEndInfo",
    "OperationScope",
    "OperationInfo",
    "SupportsOnOperation",
    "current_operation",
    "is_cancellation",
    "observed",
    "operation",
]

OPERATION_NAMES: Mapping[str, str] = {"llm_complete": "text_completion", "llm_chat": "chat", "llm_embed": "embeddings"}
"""The GenAI operation name (``gen_ai.operation.name``) of each job type that is a model call."""


@dataclass(frozen=True)
class OperationInfo:
    """``on_operation_start``: a model call about to run (``ask``, ``send``, ``create_and_wait``, ...)."""

    operation_name: str
    """``"text_completion"`` (``llm_complete``), ``"chat"`` (``llm_chat``) or ``"embeddings"`` (``llm_embed``)."""
    model: str
    """The model the job is submitted to."""
    params: Mapping[str, Any] = field(repr=False)
    """The job's ``jobs.create`` parameters (``temperature``, ``max_tokens``, ``prompt``/``messages``/``input``)."""
    server_address: str
    """The host of the client's ``base_url``."""
    server_port: int
    """Its port (443/80 when the URL names none)."""
    streaming: bool
    """Whether the reply is read as a stream of deltas (``conversation.stream``)."""
    operation_id: int
    """The same number in the start and end records of one operation (unique in the process)."""
    state: Dict[Any, Any] = field(repr=False, compare=False)
    """Shared by the start and end records and by the ``CallInfo.operation`` of every call
    inside: per-operation data for hooks (a span); key it by something your hook owns."""


@dataclass(frozen=True)
class OperationEndInfo(OperationInfo):
    """``on_operation_end``: the operation returned, raised or was cancelled."""

    job: Optional[Job]
    """The terminal Job, when the operation got that far (a failed or cancelled job too); the
    last one, when the operation ran several."""
    jobs: Tuple[Job, ...]
    """Every terminal Job the operation ran, in order: more than one when a structured reply
    (``response_model=``) was re-asked, each re-ask being a job of its own."""
    error: Optional[BaseException]
    """What the operation raised (``JobFailedError`` for a job that failed), or ``None``."""
    cancelled: bool
    """The operation's task was cancelled, or its stream left early (``error`` says which)."""
    elapsed: float
    """Seconds from the start, on the SDK's clock."""


class SupportsOnOperation(Protocol):
    """A hook set that sees operations: both methods are plain functions, called in the operation's task."""

    def on_operation_start(self, info: OperationInfo, /) -> None:
        """Called when the operation starts, before its first request."""
        ...

    def on_operation_end(self, info: OperationEndInfo, /) -> None:
        """Called once when it ends (also when cancelled); ``info.job`` holds the terminal Job if any."""
        ...


_current: contextvars.ContextVar[Optional[Operation]] = contextvars.ContextVar("microdc_operation", default=None)
_operation_ids = itertools.count(1)

StartHook = Callable[[OperationInfo], object]
EndHook = Callable[[OperationEndInfo], object]


def current_operation() -> Optional[OperationInfo]:
    """The operation running in this task, if any."""
    running = _current.get()
    return None if running is None else running.info


class Operation:
    """One model call's scope: ``with operation(...) as op: ...; op.finish(job)``.

    :func:`operation` starts it (``on_operation_start``); entering makes it current and
    leaving ends it (``on_operation_end``, with the exception the block raised, if any).
    An operation whose end lies elsewhere (a stream, read step by step; ``jobs.wait``,
    which ends it after its timeout) is made current per step with :meth:`current`
    and ended with :meth:`end`.
    """

    __slots__ = ("_ended", "_ends", "_jobs", "_started", "_token", "info")

    def __init__(self, info: OperationInfo, starts: Tuple[StartHook, ...], ends: Tuple[EndHook, ...]) -> None:
        self.info = info
        self._ends = ends
        self._jobs: List[Job] = []
        self._ended = False
        self._token: Optional[contextvars.Token[Optional[Operation]]] = None
        self._started = _clock.monotonic()
        for hook in starts:
            _call(hook, info)

    def finish(self, job: Job) -> None:
        """The operation reached a terminal Job (before any error about it is raised); once per job it ran."""
        self._jobs.append(job)

    def end(self, error: Optional[BaseException] = None) -> None:
        """End it once: the end hooks run with ``error`` (``None`` for a success)."""
        if self._ended:
            return
        self._ended = True
        # A stream the caller left early (GeneratorExit) was abandoned like a cancelled task.
        cancelled = error is not None and (is_cancellation(error) or isinstance(error, GeneratorExit))
        info = OperationEndInfo(
            **{name: getattr(self.info, name) for name in _INFO_FIELDS},
            job=self._jobs[-1] if self._jobs else None,
            jobs=tuple(self._jobs),
            error=error,
            cancelled=cancelled,
            elapsed=_clock.monotonic() - self._started,
        )
        for hook in self._ends:
            _call(hook, info)

    @contextmanager
    def current(self) -> Generator[None, None, None]:
        """Make the operation current for a block (one read of a stream)."""
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    def __enter__(self) -> Self:
        self._token = _current.set(self)
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        self.end(exc)


class _NoOperation:
    """What :func:`operation` returns when nothing observes operations: every method does nothing."""

    __slots__ = ()

    def finish(self, job: Job) -> None:
        pass

    def end(self, error: Optional[BaseException] = None) -> None:
        pass

    @contextmanager
    def current(self) -> Generator[None, None, None]:
        yield

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        pass


NO_OPERATION = _NoOperation()
"""The operation of a client whose hooks do not observe operations, or of a nested one."""

OperationScope = Union[Operation, _NoOperation]
"""What :func:`operation` returns: a running :class:`Operation`, or :data:`NO_OPERATION`."""

_INFO_FIELDS = tuple(OperationInfo.__dataclass_fields__)


def observed(client: BaseClient) -> bool:
    """Whether :func:`operation` would open one on ``client`` now (for a model job): its hooks
    observe operations and none is current (so a caller may skip a look it needs only for one)."""
    instruments = client._instrumentation  # pyright: ignore[reportPrivateUsage]
    return instruments is not None and bool(instruments.on_operation_start) and _current.get() is None


def operation(client: BaseClient, params: Mapping[str, Any], *, streaming: bool = False) -> OperationScope:
    """The operation for submitting ``params`` (``jobs.create`` arguments) on ``client``.

    :data:`NO_OPERATION` unless the client has hooks that observe operations, the job
    is a model call and no operation is current already (a nested one opens none).
    """
    instruments = client._instrumentation  # pyright: ignore[reportPrivateUsage]
    if instruments is None or not instruments.on_operation_start:
        return NO_OPERATION
    name = OPERATION_NAMES.get(str(params.get("type")))
    if name is None or _current.get() is not None:
        return NO_OPERATION
    base = urlsplit(client._base_url)  # pyright: ignore[reportPrivateUsage]
    info = OperationInfo(
        operation_name=name,
        model=str(params.get("model")),
        params=params,
        server_address=base.hostname or "",
        server_port=base.port or (443 if base.scheme == "https" else 80),
        streaming=streaming,
        operation_id=next(_operation_ids),
        state={},
    )
    return Operation(info, instruments.on_operation_start, instruments.on_operation_end)


def is_cancellation(error: BaseException) -> bool:
    """Whether ``error`` is a cancellation: asyncio's, or the running async library's (trio's ``Cancelled``)."""
    if isinstance(error, asyncio.CancelledError):
        return True
    try:
        return isinstance(error, anyio.get_cancelled_exc_class())
    except Exception:  # no async library running
        return False


def _call(hook: Callable[[Any], object], info: OperationInfo) -> None:
    try:
        hook(info)
    except Exception:
        logger.exception("A hook raised; ignoring it: %r", hook)
