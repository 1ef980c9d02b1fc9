"""Bulk jobs: ``client.jobs.batch(...)`` → :class:`BatchRun`, for runs of any size, and
``await client.jobs.submit_many(...)`` → :class:`BatchResult`, the same collected in input order.

::

    async with client.jobs.batch(
        ({"prompt": p} for p in prompts),          # any iterable or async iterable, read lazily
        defaults={"type": "llm_complete", "model": "echo-1", "max_tokens": 64},
        concurrency=32,
        cost_limit_usd=5.00,
        state_file="run.sqlite3",
    ) as run:
        async for item in run:                     # in completion order
            print(item.index, item.status, item.job and item.job.result)
    summary = run.summary()

How it works (:mod:`._engine` has the details):

* **Inputs** are pulled one at a time, as submitters free up; ``defaults`` is merged
  under each (an input's own keys win). Each gets a stable ``Idempotency-Key``,
  ``<batch_id>-<index>-<hash of its parameters>``, so a re-run, a resumed run or a
  retried shard never makes a job twice (the server replays the first answer).
* **Memory** does not grow with the number of inputs: a bounded number are in
  flight, finished items go out through a bounded channel, and everything the run
  must remember goes to the state file.
* **The state file** is an SQLite database (:mod:`._state`), one row per input,
  written in batches from a worker thread. A re-run with it checks that the inputs
  it records did not change, waits for the jobs it lists, and submits only the rest.
* **The cost limit** admits an input only if the spend so far, plus the worst cases
  of the jobs in flight, plus its own worst case (``jobs.estimate_cost``) fit. An
  input that does not fit waits for jobs in flight to end (their actual cost then
  replaces their worst case); if it cannot fit even so, it comes back
  ``skipped_budget``.
* **Shards**: ``shard=(i, n)`` takes the inputs whose index is ``i`` mod ``n``,
  with the batch id and keys a single run would use.
* **Structured outputs**: with ``response_model=T`` each job carries the instruction
  for ``T``, each completed item's reply is parsed into ``item.parsed`` (or
  ``item.parse_error``), and an invalid reply is re-asked up to ``max_reasks`` times,
  each re-ask admitted under the cost limit like any input (:mod:`._reasks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Union, Iterable, AsyncIterable

from typing_extensions import Unpack

from ._run import BatchRun
from ._state import BatchStateError
from ._types import (
    JobInput,
    BatchItem,
    OnProgress,
    BatchResult,
    BatchSummary,
    BatchProgress,
    BatchItemStatus,
)
from ._options import BatchArgs, BatchOptions

if TYPE_CHECKING:
    from ...resources.jobs import AsyncJobsResource

__all__ = [
    "BatchArgs",
    "BatchItem",
    "BatchItemStatus",
    "BatchOptions",
    "BatchProgress",
    "BatchResult",
    "BatchRun",
    "BatchStateError",
    "BatchSummary",
    "JobInput",
    "OnProgress",
    "batch",
    "submit_many",
]


def batch(
    jobs_resource: AsyncJobsResource,
    jobs: Union[Iterable[Any], AsyncIterable[Any]],
    *,
    response_model: object = None,
    max_reasks: int = 1,
    **options: Unpack[BatchArgs],
) -> BatchRun[Any]:
    """The body of ``client.jobs.batch`` (see the module docs)."""
    return BatchRun(jobs_resource, jobs, BatchOptions(response_model=response_model, max_reasks=max_reasks, **options))


async def submit_many(
    jobs_resource: AsyncJobsResource,
    jobs: Union[Iterable[Any], AsyncIterable[Any]],
    *,
    response_model: object = None,
    max_reasks: int = 1,
    **options: Unpack[BatchArgs],
) -> BatchResult[Any]:
    """``batch`` collected into a :class:`BatchResult`, in input order (for small runs: it keeps every item).

    Raises what the run raises: ``BatchStateError`` for an unusable state file (left
    untouched), ``AuthenticationError`` for a refused key, or the exception of an
    input iterator that failed (the state is saved first).
    """
    return await _collect(batch(jobs_resource, jobs, response_model=response_model, max_reasks=max_reasks, **options))


async def _collect(run: BatchRun[Any]) -> BatchResult[Any]:
    """Run ``run`` to its end and return every item, in input order."""
    by_index: Dict[int, BatchItem[Any]] = {}
    async with run:
        async for item in run:
            by_index[item.index] = item
    summary = run.summary()
    return BatchResult(
        batch_id=summary.batch_id,
        items=tuple(by_index[index] for index in sorted(by_index)),
        spent_usd=summary.spent_usd,
        elapsed=summary.elapsed,
        cost_limit_usd=summary.cost_limit_usd,
    )


for _public in (BatchItem, BatchOptions, BatchProgress, BatchResult, BatchSummary, BatchRun, BatchStateError):
    _public.__module__ = __name__
del _public
