"""Bulk jobs: ``await client.jobs.submit_many(jobs, ...)`` → :class:`BatchResult`.

::

    from microdc.lib.progress import ProgressDisplay

    with ProgressDisplay() as show:
        result = await client.jobs.submit_many(
            ({"type": "llm_complete", "model": "echo-1", "prompt": p, "max_tokens": 64} for p in prompts),
            concurrency=32,
            cost_limit_usd=5.00,
            state_file="run.state.json",
            on_progress=show,
        )
    for item in result:                      # input order
        print(item.index, item.status, item.job and item.job.result)

How it works:

* **Submission** — at most ``concurrency`` ``jobs.create`` calls in flight, in input
  order. Each input gets a stable ``Idempotency-Key``: ``<batch_id>-<position>-<hash
  of its parameters>``. The batch id comes from the state file, so after a crash or a
  Ctrl-C the re-run sends the same keys and the server answers with the jobs it
  already made (for 24 hours) instead of making new ones.
* **Waiting** — ids go to ``as_completed`` in groups of up to 100 (one list request
  per 100 jobs per round, every ``poll_interval`` seconds).
* **State file** — JSON (see :mod:`microdc.lib.batch._state`) with the batch id, each
  input's job id, status and cost; written at the start, at most twice a second
  while the batch runs, and at the end, always atomically. A re-run with the same
  file waits for the jobs it lists instead of submitting them again, and retries
  the inputs that failed to submit or were skipped for the budget.
* **Cost limit** — before each submission, the job's worst-case cost is estimated
  (:mod:`microdc.lib.jobs._cost`). A job is submitted only if the spend so far plus the
  estimates of the jobs in flight plus its own stays within ``cost_limit_usd``.
  When it does not fit, submitting pauses until jobs in flight finish (their actual
  ``usage.cost_usd`` replaces their estimates); when nothing is left in flight and
  it still does not fit, submitting stops and the rest of the inputs come back
  ``skipped_budget``. (With ``wait=False`` nothing finishes in time, so it stops
  at once.)
* **Progress** — ``on_progress(BatchProgress)`` (a function or a coroutine function)
  when something changed, at most 4 times a second, and once more at the end with
  ``done=True``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from ._run import Slot, BatchRun
from ._state import StrPath, BatchState, BatchStateError
from ._types import (
    JobInput,
    BatchItem,
    OnProgress,
    BatchResult,
    BatchProgress,
    BatchItemStatus,
)

if TYPE_CHECKING:
    from ...resources.jobs import AsyncJobsResource

__all__ = [
    "BatchItem",
    "BatchItemStatus",
    "BatchProgress",
    "BatchResult",
    "BatchStateError",
    "JobInput",
    "OnProgress",
    "submit_many",
]

DEFAULT_POLL_INTERVAL = 2.0


async def submit_many(
    jobs_resource: AsyncJobsResource,
    jobs: Iterable[JobInput],
    *,
    concurrency: int = 32,
    cost_limit_usd: Optional[float] = None,
    state_file: Optional[StrPath] = None,
    on_progress: Optional[OnProgress] = None,
    wait: bool = True,
    batch_id: Optional[str] = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> BatchResult:
    """Submit every job in ``jobs``, wait for them, and return each one's outcome in input order.

    The body of ``client.jobs.submit_many`` (see the module docs for the details).

    Args:
      jobs_resource: ``client.jobs``.
      jobs: ``jobs.create`` keyword arguments as dicts, or builders (``LLMChat(...)``, ...).
      concurrency: the most ``jobs.create`` calls in flight at once.
      cost_limit_usd: stop submitting before the spend could pass this (US dollars).
      state_file: a JSON file that records the batch, so that a re-run resumes it.
      on_progress: called with a :class:`BatchProgress` as the batch moves.
      wait: wait for every job to end (default); ``False`` returns once all are submitted.
      batch_id: the batch id for a new state (default: a random one); a resumed state
        keeps its own, and a different one given here is an error.
      poll_interval: seconds between two rounds of list requests while waiting.

    Raises:
      BatchStateError: the state file is not a batch state, or was written for other
        inputs (the file is left as it is).
      AuthenticationError: the API key was refused (nothing more is attempted).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"concurrency must be an integer of at least 1, got {concurrency!r}")
    if cost_limit_usd is not None and not cost_limit_usd >= 0:
        raise ValueError(f"cost_limit_usd must be a number >= 0, got {cost_limit_usd!r}")
    if not poll_interval > 0:
        raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
    slots = [Slot.prepare(index, job) for index, job in enumerate(jobs)]
    state, resumed = BatchState.open(state_file, batch_id)
    if resumed:
        state.check_inputs([slot.params_hash for slot in slots])
    for slot in slots:
        slot.key = f"{state.batch_id}-{slot.index}-{slot.params_hash}"
    run = BatchRun(
        jobs_resource,
        slots,
        state,
        concurrency=concurrency,
        cost_limit=cost_limit_usd,
        on_progress=on_progress,
        wait=wait,
        poll_interval=poll_interval,
    )
    return await run.run()


for _public in (BatchItem, BatchProgress, BatchResult, BatchStateError):
    _public.__module__ = __name__
del _public
