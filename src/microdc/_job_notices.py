"""Terminal jobs the SDK sees, told to the hook sets that want them (``on_job``).

Where this sits: a Job reaches the SDK three ways, and each is already parsed into a
model when it gets here, so no body is read twice:

* an answer that is a Job (``retrieve``, ``create``, ``cancel``, the first look of
  ``jobs.wait``): :func:`microdc._response.parse_response`;
* a list page (``jobs.list``; so ``as_completed``, the watcher and ``jobs.batch``, which
  poll through it): the same parser, for each Job on the page;
* an event stream's terminal event (``jobs.events``; so ``jobs.wait`` and
  ``conversation.stream``): :class:`microdc._streaming.AsyncStream`.

Each terminal one (``completed``, ``failed``, ``cancelled``) becomes a :class:`JobInfo`
for the client's ``on_job`` hooks. A client without such hooks pays one ``is None``
check per answer. The same job is seen again whenever it is fetched again, so a hook
that counts jobs keeps a :class:`RecentIds` of the ones it counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Tuple, Callable, Optional, Awaitable, FrozenSet, cast
from collections import OrderedDict
from dataclasses import dataclass

from typing_extensions import Literal, Protocol, TypeAlias

from ._spec import TERMINAL_JOB_STATES
from .pagination import BaseAsyncPage

if TYPE_CHECKING:
    from .types.job import Job

__all__ = [
    "JOBS_REMEMBERED",
    "TERMINAL_STATES",
    "JobHook",
    "JobInfo",
    "JobSource",
    "RecentIds",
    "SupportsOnJob",
    "terminal_jobs",
]

JobSource: TypeAlias = Literal["answer", "list", "event"]
"""Where a Job was seen: an answer that is the Job, a list page, an event stream's terminal event."""

JOBS_REMEMBERED = 65_536
"""How many job ids a :class:`RecentIds` keeps by default (about 5 MiB of ids)."""

TERMINAL_STATES: FrozenSet[str] = frozenset(TERMINAL_JOB_STATES)
"""The states a job ends in, as a set (what the SDK's helpers test a status against too)."""


@dataclass(frozen=True)
class JobInfo:
    """``on_job``: the SDK saw a Job in a terminal state (``completed``, ``failed``, ``cancelled``)."""

    job: Job
    """The Job as the answer, page or event carried it (with its ``usage``, ``result``, ``error``)."""
    source: JobSource
    """``"answer"``, ``"list"`` or ``"event"``."""


JobHook: TypeAlias = Callable[[JobInfo], Optional[Awaitable[None]]]
"""An ``on_job`` hook: a function or coroutine function of a :class:`JobInfo`."""


class SupportsOnJob(Protocol):
    """A hook set with ``on_job``: called for each terminal Job an answer, page or event stream carried."""

    def on_job(self, info: JobInfo, /) -> Optional[Awaitable[None]]:
        """Called for each terminal Job seen (the same job again each time it is fetched again)."""
        ...


def terminal_jobs(parsed: object) -> Tuple[Tuple[Job, JobSource], ...]:
    """The terminal Jobs in a parsed answer: the answer itself, or the Jobs of a page."""
    kind = getattr(parsed, "object", None)
    if kind == "job":
        job: Any = parsed
        return ((job, "answer"),) if job.status in TERMINAL_STATES else ()
    if not isinstance(parsed, BaseAsyncPage):
        return ()
    items: List[Any] = cast(Any, parsed).data
    return tuple(
        (item, "list")
        for item in items
        if getattr(item, "object", None) == "job" and getattr(item, "status", None) in TERMINAL_STATES
    )


class RecentIds:
    """A set of the last ``size`` ids added: memory stays bounded however many jobs go by.

    ``add(id)`` is true the first time an id is added (and false while it is still
    remembered), so ``if seen.add(job.id): count(job)`` counts each job once.
    """

    __slots__ = ("_ids", "_size")

    def __init__(self, size: int = JOBS_REMEMBERED) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember ``key``; true if it was not remembered already."""
        ids = self._ids
        if key in ids:
            ids.move_to_end(key)
            return False
        ids[key] = None
        if len(ids) > self._size:
            ids.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def clear(self) -> None:
        """Forget every id."""
        self._ids.clear()
