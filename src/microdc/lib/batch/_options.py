"""A batch's options, declared once: the keywords of ``jobs.batch``/``submit_many`` and the checked value they make.

:class:`BatchArgs` is what the callers type (``**options: Unpack[BatchArgs]``);
:class:`BatchOptions` is the frozen value made from them, checked once when it is
made, and passed whole to the run and its engine. A new option is a field in each.
``response_model`` and ``max_reasks`` are keywords of their own in the signatures
(the type of ``response_model`` is what makes a ``BatchRun[T]``), and fields of
:class:`BatchOptions` like the others.
"""

from __future__ import annotations

import math
import types
from typing import Any, Tuple, Mapping, Iterable, Optional, cast
from dataclasses import dataclass

from typing_extensions import TypedDict

from ._state import StrPath, validate_batch_id
from ._types import OnProgress
from ._inputs import Shard
from ..jobs._poller import check_poll_interval
from ..jobs._structured import check_max_reasks
from ..structured._schema import adapter_for

__all__ = ["BatchArgs", "BatchOptions"]


class BatchArgs(TypedDict, total=False):
    """The options of ``client.jobs.batch(jobs, **options)`` and ``submit_many``; all optional.

    ``response_model=`` and ``max_reasks=`` are named in the signatures themselves, since
    the type given is what the run's items are parsed as (``BatchRun[T]``).
    """

    concurrency: int
    """Submissions in flight at most (default 32)."""
    cost_limit_usd: Optional[float]
    """Never spend past this many US dollars: an input whose worst case does not fit is ``skipped_budget``."""
    state_file: Optional[StrPath]
    """An SQLite file that lets a re-run resume without submitting anything twice."""
    batch_id: Optional[str]
    """The batch's id, in every idempotency key (default: the state file's, else a new one)."""
    defaults: Optional[Mapping[str, Any]]
    """``jobs.create`` arguments merged under every input (an input's own keys win)."""
    shard: Optional[Shard]
    """``(i, n)``: only the inputs whose index is ``i`` mod ``n`` (needs ``batch_id``)."""
    wait: bool
    """Follow each job until it ends (default); ``False`` stops at submission."""
    poll_interval: float
    """Seconds between two looks at the jobs being followed (default 1)."""
    on_progress: Optional[OnProgress]
    """Called (or awaited) with a ``BatchProgress`` when something changed, at most four times a second."""


@dataclass(frozen=True)
class BatchOptions:
    """The checked options of one batch (see :class:`BatchArgs` for what each means).

    Made from the caller's keywords, ``BatchOptions(**options)``; raises ``ValueError``
    or ``TypeError`` saying what to pass.
    """

    concurrency: int = 32
    cost_limit_usd: Optional[float] = None
    state_file: Optional[StrPath] = None
    batch_id: Optional[str] = None
    defaults: Optional[Mapping[str, Any]] = None
    shard: Optional[Shard] = None
    wait: bool = True
    poll_interval: float = 1.0
    on_progress: Optional[OnProgress] = None
    response_model: object = None
    """What each completed job's reply is parsed as (``None``: replies are not parsed)."""
    max_reasks: int = 1
    """Re-asks of an invalid reply at most, per input (with ``response_model``)."""

    def __post_init__(self) -> None:
        concurrency: object = self.concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer of at least 1, got {concurrency!r}")
        limit: object = self.cost_limit_usd
        if limit is not None and not (
            isinstance(limit, (int, float)) and not isinstance(limit, bool) and math.isfinite(limit) and limit >= 0
        ):
            raise ValueError(f"cost_limit_usd must be a finite number >= 0 (US dollars), or None; got {limit!r}")
        if self.batch_id is not None:
            validate_batch_id(self.batch_id)
        if self.defaults is not None:
            if "idempotency_key" in self.defaults:
                raise ValueError("defaults cannot set idempotency_key: a batch sets each job's key itself")
            # A copy of its own, read-only: the caller's dict may change after the call.
            object.__setattr__(self, "defaults", types.MappingProxyType(dict(self.defaults)))
        try:
            check_poll_interval(self.poll_interval)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if self.shard is not None:
            object.__setattr__(self, "shard", _check_shard(self.shard))
        if self.on_progress is not None and not callable(self.on_progress):
            raise TypeError(f"on_progress must be a function (or coroutine function), got {self.on_progress!r}")
        if self.response_model is not None:
            adapter_for(self.response_model)  # a type pydantic cannot build fails here, not on the first reply
            check_max_reasks(self.max_reasks)


def _check_shard(shard: object) -> Shard:
    pair: Tuple[object, ...] = tuple(cast(Iterable[object], shard)) if isinstance(shard, (tuple, list)) else ()
    index, count = pair if len(pair) == 2 else (None, None)
    if not (isinstance(index, int) and isinstance(count, int)) or isinstance(index, bool) or isinstance(count, bool):
        raise ValueError(f"shard must be a pair (i, n) of integers with 0 <= i < n, got {shard!r}")
    if not 0 <= index < count:
        raise ValueError(f"shard must be a pair (i, n) of integers with 0 <= i < n, got {shard!r}")
    return (index, count)
