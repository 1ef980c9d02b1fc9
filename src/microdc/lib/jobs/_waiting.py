"""Waiting for jobs: one (``jobs.wait``) or thousands (``jobs.as_completed``).

``wait`` follows the job's event stream, which tells the moment a job ends
without polling, while fewer than :data:`~._poller.MAX_EVENT_STREAMS` (8) of the
client's waits hold one; every other wait, and one whose stream fails, is polled by
the client's one :mod:`job poller <._poller>`, so 1,000 concurrent waits hold 8
connections and ask about the rest 100 ids per request. Every connection a wait
opens is closed when it returns, raises, times out or is cancelled.

``as_completed`` subscribes all its ids to the same poller: a round over 10,000
jobs costs 100 requests, not 10,000; an id the server does not know raises
``NotFoundError`` naming it instead of being polled forever.

Time: every wait sleeps on the SDK's one clock (:mod:`microdc._clock`), and
``timeout`` is measured on it, so ``disable_retry_delays()`` or a fake's
``virtual_time()`` makes a one-hour wait finish at once, with the same requests.
Polls start ``poll_interval`` apart and double up to the policy's ``max_delay``
(never below ``poll_interval``), each less up to the policy's ``jitter`` of itself;
a poll that brings a job starts again from ``poll_interval``. Each request is
retried by the client as any call is; a poll that still fails makes ``wait`` and
``as_completed`` raise its error. A wait is bounded by its ``timeout``, not by the
policy's per-call ``deadline``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Callable, Iterable, Optional, Awaitable, AsyncIterator

import anyio

from ... import _clock
from ._errors import JobWaitTimeoutError
from ._poller import Cadence, JobPoller, poller_for, is_terminal
from ..._exceptions import APIError
from ..._operations import NO_OPERATION, OperationScope, observed, operation
from ...types.job_status_event import JobStatusEvent
from ...types.job_terminal_event import JobTerminalEvent

if TYPE_CHECKING:
    from ...types.job import Job
    from ...resources.jobs import AsyncJobsResource

__all__ = ["OnComplete", "as_completed", "wait_for_job"]

OnComplete = Callable[["Job"], Optional[Awaitable[None]]]


class _DeadlinePassed(Exception):
    """The ``timeout`` of a wait ran out on the SDK's clock."""


def _deadline(timeout: Optional[float]) -> Optional[float]:
    return None if timeout is None else _clock.monotonic() + timeout


async def wait_for_job(jobs: AsyncJobsResource, job_id: str, *, timeout: Optional[float], poll_interval: float) -> Job:
    """The body of ``jobs.wait``: the job once it is terminal, or ``JobWaitTimeoutError``."""
    cadence = Cadence(poll_interval)
    seen: List[Job] = []
    # The wait of a model job is an operation (its GenAI span), once the first look tells its type.
    running: List[OperationScope] = [NO_OPERATION]
    deadline = _deadline(timeout)
    # The deadline is checked on the SDK's clock between steps; real time bounds the
    # blocking reads as well (a clock never runs slower than real time, so on the
    # SDK's own clocks the deadline is reached first).
    try:
        with anyio.move_on_after(timeout):
            try:
                job = await _follow(jobs, job_id, cadence, deadline, seen, running)
            except _DeadlinePassed:
                pass
            else:
                running[0].finish(job)
                running[0].end()
                return job
        last = seen[-1] if seen else None
        status = last.status if last is not None else "unknown"
        raise JobWaitTimeoutError(
            f"Job {job_id} did not finish within {timeout} s (last status: {status}). "
            "Call jobs.wait again to keep waiting, or raise `timeout`.",
            job=last,
        )
    except BaseException as exc:
        running[0].end(exc)
        raise


async def _follow(
    jobs: AsyncJobsResource,
    job_id: str,
    cadence: Cadence,
    deadline: Optional[float],
    seen: List[Job],
    running: List[OperationScope],
) -> Job:
    poller = poller_for(jobs)
    if poller.open_stream():
        try:
            job = await _first_look(jobs, job_id, seen, running)
            if is_terminal(job.status):
                return job
            with running[0].current():
                ended = await _follow_events(jobs, job_id, deadline, seen)
            if ended is not None:
                return ended
        finally:
            poller.close_stream()
    elif observed(jobs._client):
        # Polled, but an operation's span starts at the first look, which tells the job's type.
        job = await _first_look(jobs, job_id, seen, running)
        if is_terminal(job.status):
            return job
    return await _poll(poller, jobs, job_id, cadence, deadline, seen)


async def _first_look(jobs: AsyncJobsResource, job_id: str, seen: List[Job], running: List[OperationScope]) -> Job:
    """``retrieve`` the job, and open the wait's operation from what it is (a model job's only)."""
    job = await jobs.retrieve(job_id)
    seen.append(job)
    running[0] = operation(jobs._client, {"type": job.type, "model": job.model})
    return job


async def _poll(
    poller: JobPoller,
    jobs: AsyncJobsResource,
    job_id: str,
    cadence: Cadence,
    deadline: Optional[float],
    seen: List[Job],
) -> Job:
    """The job through the client's poller, with the other waits' jobs (its rounds serve every subscriber)."""
    sub = poller.subscribe(jobs, cadence, deadline=deadline)
    try:
        sub.add(job_id, known=bool(seen))
        report = await sub.next()
    finally:
        sub.close()
    if sub.last_seen is not None:
        seen.append(sub.last_seen)
    if report.jobs:
        seen.append(report.jobs[0])
        return report.jobs[0]
    if report.unknown:
        raise next(iter(report.unknown.values()))
    if report.error is not None:
        raise report.error
    raise _DeadlinePassed


async def _follow_events(
    jobs: AsyncJobsResource, job_id: str, deadline: Optional[float], seen: List[Job]
) -> Optional[Job]:
    """The terminal Job from the event stream, or ``None`` if the stream failed us."""
    try:
        async with await jobs.events(job_id) as stream:
            async for event in stream:
                if isinstance(event, JobTerminalEvent):
                    seen.append(event.data)
                    return event.data
                if isinstance(event, JobStatusEvent):
                    update: Dict[str, Any] = {"status": event.data.status, "progress": event.data.progress}
                    seen.append(seen[-1].model_copy(update=update))
                if deadline is not None and _clock.monotonic() >= deadline:
                    raise _DeadlinePassed
    except APIError:
        pass
    return None


def _pending_ids(job_ids: Iterable[str]) -> Dict[str, None]:
    if isinstance(job_ids, (str, bytes)):
        raise TypeError(f"job_ids must be an iterable of job ids, not one id as a string: pass [{job_ids!r}]")
    pending: Dict[str, None] = {}
    for job_id in job_ids:
        if not isinstance(job_id, str):
            raise TypeError(f"job_ids must hold job id strings; got {type(job_id).__name__} {job_id!r}")
        if not job_id:
            raise ValueError("job_ids holds an empty string; every id must name a job (job_...)")
        pending[job_id] = None
    return pending


async def as_completed(
    jobs: AsyncJobsResource,
    job_ids: Iterable[str],
    *,
    poll_interval: float,
    timeout: Optional[float],
    on_complete: Optional[OnComplete],
) -> AsyncIterator[Job]:
    """The body of ``jobs.as_completed``: each job once, as it reaches a terminal state."""
    cadence = Cadence(poll_interval)
    pending = _pending_ids(job_ids)
    sub = poller_for(jobs).subscribe(jobs, cadence, deadline=_deadline(timeout))
    try:
        sub.add_all(pending)
        while sub.watching:
            report = await sub.next()
            if report.unknown:
                raise next(iter(report.unknown.values()))
            if report.error is not None:
                raise report.error
            for job in report.jobs:
                if on_complete is not None:
                    result = on_complete(job)
                    if result is not None:
                        await result
                yield job
            if report.expired and sub.watching:
                raise JobWaitTimeoutError(
                    f"{sub.watching} job(s) did not finish within {timeout} s, e.g. {next(iter(sub.ids))}.",
                    job=None,
                )
    finally:
        sub.close()
