"""The errors of the job helpers (``jobs.wait``, ``ask``, conversations, budgets).

They belong to ``microdc.lib.jobs``, the layer that raises them (the runtime never
does), and are importable from ``microdc`` as well, where tracebacks show them::

    MicroDCError
    ├── JobWaitTimeoutError   (jobs.wait gave up; carries the last Job)
    ├── JobFailedError        (ask/send: the job failed or was cancelled; carries it)
    └── BudgetExceededError   (a turn's worst case would pass max_cost_usd)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..._exceptions import MicroDCError

if TYPE_CHECKING:
    from ._cost import CostEstimate
    from ...types.job import Job

__all__ = ["BudgetExceededError", "JobFailedError", "JobWaitTimeoutError"]


class JobWaitTimeoutError(MicroDCError):
    """``jobs.wait`` reached its ``timeout`` before the job ended.

    ``job`` is the last state of the job that was seen (``None`` if none was, e.g.
    when ``as_completed`` gives up on several jobs at once).
    """

    job: Optional[Job]

    def __init__(self, message: str, *, job: Optional[Job]) -> None:
        super().__init__(message)
        self.job = job


class JobFailedError(MicroDCError):
    """``jobs.ask`` or a conversation's ``send``/``stream``: the job ended ``failed`` or ``cancelled``.

    ``job`` is that terminal Job (its ``error`` says why it failed). A conversation's
    history is left as it was before the turn.
    """

    job: Job

    def __init__(self, message: str, *, job: Job) -> None:
        super().__init__(message)
        self.job = job


class BudgetExceededError(MicroDCError):
    """A job's worst-case cost would take the spend past ``max_cost_usd``; nothing was sent.

    ``spent_usd`` is what was spent so far (for ``jobs.ask``, what the call's earlier
    jobs cost: 0, unless a structured call's re-ask is refused), ``limit_usd`` the
    budget, ``estimate`` the job's ``CostEstimate`` (``estimate.worst_case_usd`` is
    what it could cost at most).
    """

    spent_usd: float
    limit_usd: float
    estimate: CostEstimate

    def __init__(self, message: str, *, spent_usd: float, limit_usd: float, estimate: CostEstimate) -> None:
        super().__init__(message)
        self.spent_usd = spent_usd
        self.limit_usd = limit_usd
        self.estimate = estimate


# Tracebacks and reprs say `microdc.JobFailedError`, the name users import.
for _error in (JobWaitTimeoutError, JobFailedError, BudgetExceededError):
    _error.__module__ = "microdc"
del _error
