"""Waiting for jobs: one (``jobs.wait``) or thousands (``jobs.as_completed``).

``wait`` follows the job's event stream, which tells the moment a job ends
without polling. If the stream is unavailable or keeps failing, it polls
``retrieve_status`` instead, from ``poll_interval`` growing by half each round up
to :data:`MAX_POLL_INTERVAL`. Every connection it opens is closed when it
returns, raises, times out or is cancelled.

``as_completed`` asks the list endpoint about up to 100 job ids per request
(filtered to terminal states), so one polling round over 10,000 jobs costs 100
requests, not 10,000.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Callable, Iterable, Optional, Awaitable, FrozenSet, AsyncIterator

import anyio

from ..._spec import TERMINAL_JOB_STATES, JOB_LIST_IDS_MAX_ITEMS
from ..._exceptions import APIError, JobWaitTimeoutError
from ...types.job_status_event import JobStatusEvent
from ...types.job_terminal_event import JobTerminalEvent

if TYPE_CHECKING:
    from ...types.job import Job
    from ...resources.jobs import AsyncJobsResource

__all__ = ["MAX_POLL_INTERVAL", "TERMINAL_STATUSES", "as_completed", "wait_for_job"]

TERMINAL_STATUSES: FrozenSet[str] = frozenset(TERMINAL_JOB_STATES)
MAX_POLL_INTERVAL = 10.0
IDS_PER_REQUEST = JOB_LIST_IDS_MAX_ITEMS
# Reconnections of the event stream before wait() falls back to polling.
EVENT_STREAM_RETRIES = 1

OnComplete = Callable[["Job"], Optional[Awaitable[None]]]


def is_terminal(status: object) -> bool:
    return status in TERMINAL_STATUSES


async def wait_for_job(jobs: AsyncJobsResource, job_id: str, *, timeout: Optional[float], poll_interval: float) -> Job:
    """The body of ``jobs.wait``: the job once it is terminal, or ``JobWaitTimeoutError``."""
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be positive, got {poll_interval}")
    seen: List[Job] = []
    with anyio.move_on_after(timeout) as scope:
        return await _follow(jobs, job_id, poll_interval, seen)
    assert scope.cancelled_caught
    last = seen[-1] if seen else None
    status = last.status if last is not None else "unknown"
    raise JobWaitTimeoutError(
        f"Job {job_id} did not finish within {timeout} s (last status: {status}). "
        "Call jobs.wait again to keep waiting, or raise `timeout`.",
        job=last,
    )


async def _follow(jobs: AsyncJobsResource, job_id: str, poll_interval: float, seen: List[Job]) -> Job:
    job = await jobs.retrieve(job_id)
    seen.append(job)
    if is_terminal(job.status):
        return job
    ended = await _follow_events(jobs, job_id, seen)
    if ended is not None:
        return ended
    return await _poll(jobs, job_id, poll_interval, seen)


async def _follow_events(jobs: AsyncJobsResource, job_id: str, seen: List[Job]) -> Optional[Job]:
    """The terminal Job from the event stream, or ``None`` if the stream failed us."""
    try:
        async with await jobs.events(job_id, max_retries=EVENT_STREAM_RETRIES) as stream:
            async for event in stream:
                if isinstance(event, JobStatusEvent):
                    update: Dict[str, Any] = {"status": event.data.status, "progress": event.data.progress}
                    seen.append(seen[-1].model_copy(update=update))
                elif isinstance(event, JobTerminalEvent):
                    seen.append(event.data)
                    return event.data
    except APIError:
        pass
    return None


async def _poll(jobs: AsyncJobsResource, job_id: str, poll_interval: float, seen: List[Job]) -> Job:
    interval = poll_interval
    cap = max(poll_interval, MAX_POLL_INTERVAL)
    while True:
        status = await jobs.retrieve_status(job_id)
        if is_terminal(status.status):
            job = await jobs.retrieve(job_id)
            seen.append(job)
            return job
        seen.append(seen[-1].model_copy(update={"status": status.status, "progress": status.progress}))
        await anyio.sleep(interval)
        interval = min(interval * 1.5, cap)


async def as_completed(
    jobs: AsyncJobsResource,
    job_ids: Iterable[str],
    *,
    poll_interval: float,
    timeout: Optional[float],
    on_complete: Optional[OnComplete],
) -> AsyncIterator[Job]:
    """The body of ``jobs.as_completed``: each job once, as it reaches a terminal state."""
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be positive, got {poll_interval}")
    pending: Dict[str, None] = dict.fromkeys(job_ids)
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending:
        finished: List[Job] = []
        ids = list(pending)
        for start in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[start : start + IDS_PER_REQUEST]
            page = await jobs.list(ids=chunk, status=list(TERMINAL_JOB_STATES), limit=IDS_PER_REQUEST)
            finished.extend(job for job in page.data if job.id in pending)
        finished.sort(key=lambda job: (job.completed_at is None, str(job.completed_at or "")))
        for job in finished:
            if job.id not in pending:
                continue
            del pending[job.id]
            if on_complete is not None:
                result = on_complete(job)
                if result is not None:
                    await result
            yield job
        if not pending:
            return
        if deadline is not None and time.monotonic() + poll_interval > deadline:
            raise JobWaitTimeoutError(
                f"{len(pending)} job(s) did not finish within {timeout} s, e.g. {next(iter(pending))}.",
                job=None,
            )
        await anyio.sleep(poll_interval)
