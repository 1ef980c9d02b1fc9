"""Submitting under a cost limit: waiting until a job's worst case fits, and a submission that holds it.

Shared by the engine's submitters and the re-asks of a structured batch (:mod:`._reasks`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple, Callable, Optional, Awaitable

from ._budget import Budget
from ..._exceptions import APIError, APIStatusError, AuthenticationError

if TYPE_CHECKING:
    from ._following import Following
    from ...types.job import Job

__all__ = ["submit_reserved", "wait_to_fit"]


async def wait_to_fit(budget: Budget, following: Following, estimate: int) -> bool:
    """Wait until ``estimate`` (picodollars) fits in the cost limit; ``False`` (at once) when it never can."""
    while not budget.fits(estimate):
        if budget.live == 0 or not budget.could_fit(estimate):
            return False
        following.poll_now()  # the jobs that could make room should be asked about now
        await budget.changed()
    return True


async def submit_reserved(
    budget: Budget, create: Callable[..., Awaitable[Job]], params: Dict[str, Any], key: str, estimate: int
) -> Tuple[Optional[Job], Optional[Exception], bool]:
    """Submit one job whose worst case ``estimate`` (picodollars) is reserved in ``budget``.

    ``(job, None, False)``; or, when it failed, ``(None, the error, whether a job may
    exist all the same)``: then the estimate stays reserved, else it is released.
    An ``AuthenticationError`` is raised (every other submission would fail alike).
    """
    try:
        return await create(**params, idempotency_key=key), None, False
    except AuthenticationError:
        budget.release(estimate)
        raise
    except APIStatusError as exc:
        if exc.status_code < 500:  # refused: no job was made
            budget.release(estimate)
            return None, exc, False
        budget.keep(estimate)  # a 5xx may hide a job: its worst case stays reserved
        return None, exc, True
    except APIError as exc:  # the answer was lost: a job may exist
        budget.keep(estimate)
        return None, exc, True
    except (ValueError, TypeError) as exc:  # refused before sending
        budget.release(estimate)
        return None, exc, False
