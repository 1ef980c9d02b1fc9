"""The values a batch hands back: a :class:`BatchItem` per input, :class:`BatchProgress`
along the way, and at the end a :class:`BatchSummary` (``run.wait()``) or, for
``submit_many``, a :class:`BatchResult`. Re-exported by :mod:`microdc.lib.batch`."""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Tuple,
    Union,
    Generic,
    Mapping,
    Callable,
    Iterator,
    Optional,
    Awaitable,
    overload,
)
from dataclasses import field, dataclass

from typing_extensions import Literal, TypeVar, TypeAlias

from ..._spec import TERMINAL_JOB_STATES, TerminalJobState
from ..jobs.builders import JobBuilder

if TYPE_CHECKING:
    from ...types.job import Job
    from ..structured import OutputValidationError

__all__ = [
    "BATCH_ITEM_STATUSES",
    "FINAL_STATUSES",
    "BatchItem",
    "BatchItemStatus",
    "BatchProgress",
    "BatchResult",
    "BatchSummary",
    "JobInput",
    "OnProgress",
]

BatchItemStatus: TypeAlias = Union[TerminalJobState, Literal["error", "skipped_budget", "submitted"]]
"""How an input of a batch ended: its job's terminal state, ``submitted`` (``wait=False``), ``error`` or ``skipped_budget``."""
FINAL_STATUSES: Tuple[BatchItemStatus, ...] = (*TERMINAL_JOB_STATES, "error", "skipped_budget")
"""The outcomes an item keeps (``submitted`` is only final with ``wait=False``)."""
BATCH_ITEM_STATUSES: Tuple[BatchItemStatus, ...] = (*FINAL_STATUSES, "submitted")
T = TypeVar("T", default=Any)
"""What each item's reply is parsed as (``response_model=``); ``Any`` when no type is given."""

JobInput: TypeAlias = Union[Mapping[str, Any], JobBuilder]
"""A job to submit: the keyword arguments of ``jobs.create`` as a dict, or a builder."""


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch stands, as given to ``on_progress`` and kept as ``run.progress``.

    ``total`` is the number of inputs of this run (of this shard), or ``None`` while
    it is not known (a generator not read to its end yet). ``pending`` inputs are
    not submitted yet (read, or still to read when the total is known);
    ``submitted`` jobs are in flight (with ``wait=False``, where they stay); the
    other counts are final outcomes. ``rate`` counts inputs settled per second during
    this run (finished, or submitted when not waiting); ``done`` is true on the
    final call only.
    """

    total: Optional[int]
    pending: int
    submitted: int
    completed: int
    failed: int
    cancelled: int
    error: int
    skipped_budget: int
    spent_usd: float
    cost_limit_usd: Optional[float]
    elapsed: float
    rate: float
    wait: bool = True
    done: bool = False

    @property
    def finished(self) -> int:
        """Inputs with a final outcome: completed, failed, cancelled, error or skipped."""
        return self.completed + self.failed + self.cancelled + self.error + self.skipped_budget

    @property
    def settled(self) -> int:
        """Inputs this batch is done with: ``finished``, plus ``submitted`` when not waiting."""
        return self.finished + (0 if self.wait else self.submitted)

    @property
    def counts(self) -> Dict[str, int]:
        """The counts by status, as a dict (``pending``, ``submitted`` and each final outcome)."""
        counts: Dict[str, int] = {"pending": self.pending, "submitted": self.submitted}
        counts.update((status, getattr(self, status)) for status in FINAL_STATUSES)
        return counts

    @property
    def eta(self) -> Optional[float]:
        """Seconds left at the current rate; ``None`` before there is a rate or a total."""
        if self.rate <= 0 or self.total is None:
            return None
        return max(0, self.total - self.settled) / self.rate


@dataclass(frozen=True)
class BatchItem(Generic[T]):
    """The outcome for one input (``index`` is its position in the inputs).

    ``status``: ``completed``, ``failed`` or ``cancelled`` (``job`` is the terminal
    Job; ``None`` for an input a resumed run found finished and did not fetch
    again); ``submitted`` (``wait=False``: ``job`` as last seen); ``error``
    (``error`` is what stopped it: an invalid input, a refused or failed
    submission, or a failure while waiting, in which case ``job_id`` is set);
    ``skipped_budget`` (never submitted: its worst case did not fit in the cost limit).

    With ``response_model=``, a completed item has ``parsed`` (its reply as that
    type) or ``parse_error`` (an ``OutputValidationError``: the reply was still
    invalid after its re-asks, or a re-ask could not be sent); ``job`` is then the
    last job of the item and ``cost_usd`` what all of its jobs cost.
    """

    index: int
    status: BatchItemStatus
    job: Optional[Job] = None
    job_id: Optional[str] = None
    error: Optional[Exception] = None
    cost_usd: float = 0.0
    idempotency_key: Optional[str] = None
    parsed: Optional[T] = None
    parse_error: Optional[OutputValidationError] = None

    @property
    def ok(self) -> bool:
        """Whether the job completed (and, with ``response_model=``, its reply parsed)."""
        return self.status == "completed" and self.parse_error is None


def _zero_counts() -> Dict[str, int]:
    return dict.fromkeys(BATCH_ITEM_STATUSES, 0)


@dataclass(frozen=True)
class BatchSummary:
    """How a batch ended, without its items: ``await run.wait()``.

    ``counts`` has every status as a key; ``total`` is the number of items the run
    produced; ``cancelled_run`` is true when ``run.cancel()`` stopped it early (the
    inputs it did not reach have no item); ``parse_errors`` counts the completed
    items whose reply did not parse (``response_model=``).
    """

    batch_id: str
    counts: Dict[str, int] = field(default_factory=_zero_counts)
    spent_usd: float = 0.0
    elapsed: float = 0.0
    cost_limit_usd: Optional[float] = None
    cancelled_run: bool = False
    parse_errors: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """Whether every item completed and parsed (and the run was not cancelled)."""
        return not self.cancelled_run and self.counts["completed"] == self.total and not self.parse_errors


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """Every input's outcome, in input order, and what the batch spent (``submit_many``).

    Iterate over it (or index it) for the :class:`BatchItem` of each input.
    """

    batch_id: str
    items: Tuple[BatchItem[T], ...]
    spent_usd: float
    elapsed: float
    cost_limit_usd: Optional[float] = None

    @property
    def counts(self) -> Dict[str, int]:
        """How many items ended in each status (every status is a key)."""
        counts = _zero_counts()
        for item in self.items:
            counts[item.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        """Whether every input completed."""
        return all(item.ok for item in self.items)

    @property
    def jobs(self) -> List[Optional[Job]]:
        """The Job of each input (``None`` where there is none), in input order."""
        return [item.job for item in self.items]

    def __len__(self) -> int:
        return len(self.items)

    @property
    def parsed(self) -> List[Optional[T]]:
        """Each input's parsed reply (``response_model=``; ``None`` where there is none), in input order."""
        return [item.parsed for item in self.items]

    def __iter__(self) -> Iterator[BatchItem[T]]:
        return iter(self.items)

    @overload
    def __getitem__(self, index: int) -> BatchItem[T]: ...
    @overload
    def __getitem__(self, index: slice) -> Tuple[BatchItem[T], ...]: ...
    def __getitem__(self, index: Union[int, slice]) -> Union[BatchItem[T], Tuple[BatchItem[T], ...]]:
        return self.items[index]


OnProgress: TypeAlias = Callable[[BatchProgress], Optional[Awaitable[None]]]
"""``on_progress``: called with a :class:`BatchProgress`; may be a coroutine function."""
