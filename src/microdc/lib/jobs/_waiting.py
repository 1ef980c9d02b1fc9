"""Waiting for jobs: one (``jobs.wait``) or thousands (``jobs.as_completed``).

``wait`` follows the job's event stream, which tells the moment a job ends
without polling. If the stream is unavailable or keeps failing, it polls
``retrieve_status`` instead. Every connection it opens is closed when it returns,
raises, times out or is cancelled.

``as_completed`` asks the list endpoint about up to 100 job ids per request
(filtered to terminal states), so one polling round over 10,000 jobs costs 100
requests, not 10,000. The first round asks without the filter, which also tells
which ids the server knows; an id it leaves out is looked up once with
``retrieve_status``, so an unknown id raises ``NotFoundError`` instead of being
polled forever.

Time: every wait here sleeps on the SDK's one clock (:mod:`microdc._clock`), and
``timeout`` is measured on it, so ``disable_retry_delays()`` or a fake's
``virtual_time()`` makes a one-hour wait finish at once, with the same requests.
The waits between polls follow the client's :class:`~microdc.RetryPolicy`
(:func:`poll_delays`): they start at ``poll_interval`` and double up to the
policy's ``max_delay`` (never below ``poll_interval``), each less up to the
policy's ``jitter`` of itself, like the client's retry backoff. ``as_completed``
starts again from ``poll_interval`` after a round that yields a job. Each request a
wait sends is retried by the client as any call is (``max_retries``, ``deadline``);
the wait itself is bounded by its ``timeout``, not by the policy's per-call
``deadline``.
"""

from __future__ import annotations

import random
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Callable,
    Iterable,
    Iterator,
    Optional,
    Awaitable,
    FrozenSet,
    AsyncIterator,
)

import anyio

from ... import _clock
from ..._spec import TERMINAL_JOB_STATES, JOB_LIST_IDS_MAX_ITEMS
from ._errors import JobWaitTimeoutError
from ..._exceptions import APIError, NotFoundError
from ..._operations import NO_OPERATION, OperationScope, operation
from ...types.job_state import JobState
from ...types.job_status_event import JobStatusEvent
from ...types.job_terminal_event import JobTerminalEvent

if TYPE_CHECKING:
    from ..._retry import RetryPolicy
    from ...types.job import Job
    from ...resources.jobs import AsyncJobsResource

__all__ = ["IDS_PER_REQUEST", "TERMINAL_STATUSES", "as_completed", "poll_delays", "wait_for_job"]

_TERMINAL: List[JobState] = list(TERMINAL_JOB_STATES)
TERMINAL_STATUSES: FrozenSet[str] = frozenset(TERMINAL_JOB_STATES)
IDS_PER_REQUEST = JOB_LIST_IDS_MAX_ITEMS
# Reconnections of the event stream before wait() falls back to polling.
EVENT_STREAM_RETRIES = 1

OnComplete = Callable[["Job"], Optional[Awaitable[None]]]

_jitter = random.Random()


def is_terminal(status: object) -> bool:
    return status in TERMINAL_STATUSES


def poll_delays(policy: RetryPolicy, poll_interval: float) -> Iterator[float]:
    """The waits between polls: the client's backoff shape, starting from ``poll_interval``.

    The n-th wait is ``min(poll_interval * 2**n, max(policy.max_delay, poll_interval))``,
    less up to ``policy.jitter`` of itself.
    """
    cap = max(policy.max_delay, poll_interval)
    doublings = 0
    while True:
        # The exponent stops growing once the cap is reached (2.0**1024 would overflow).
        full = min(poll_interval * 2.0**doublings, cap)
        if full < cap:
            doublings += 1
        yield full * (1 - policy.jitter * _jitter.random())


class _DeadlinePassed(Exception):
    """The ``timeout`` of a wait ran out on the SDK's clock."""


def _remaining(deadline: Optional[float]) -> Optional[float]:
    """Seconds left before ``deadline`` on the SDK's clock; raises once none are."""
    if deadline is None:
        return None
    left = deadline - _clock.monotonic()
    if left <= 0:
        raise _DeadlinePassed
    return left


def _policy(jobs: AsyncJobsResource) -> RetryPolicy:
    return jobs._client.retry_policy


async def wait_for_job(jobs: AsyncJobsResource, job_id: str, *, timeout: Optional[float], poll_interval: float) -> Job:
    """The body of ``jobs.wait``: the job once it is terminal, or ``JobWaitTimeoutError``."""
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be positive, got {poll_interval}")
    seen: List[Job] = []
    # The wait of a model job is an operation (its GenAI span), once the first look tells its type.
    running: List[OperationScope] = [NO_OPERATION]
    deadline = None if timeout is None else _clock.monotonic() + timeout
    # The deadline is checked on the SDK's clock between steps; real time bounds the
    # blocking reads as well (a clock never runs slower than real time, so on the
    # SDK's own clocks the deadline is reached first).
    try:
        with anyio.move_on_after(timeout):
            try:
                job = await _follow(jobs, job_id, poll_interval, deadline, seen, running)
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
    poll_interval: float,
    deadline: Optional[float],
    seen: List[Job],
    running: List[OperationScope],
) -> Job:
    job = await jobs.retrieve(job_id)
    seen.append(job)
    running[0] = operation(jobs._client, {"type": job.type, "model": job.model})
    with running[0].current():
        if is_terminal(job.status):
            return job
        ended = await _follow_events(jobs, job_id, deadline, seen)
        if ended is not None:
            return ended
        return await _poll(jobs, job_id, poll_interval, deadline, seen)


async def _follow_events(
    jobs: AsyncJobsResource, job_id: str, deadline: Optional[float], seen: List[Job]
) -> Optional[Job]:
    """The terminal Job from the event stream, or ``None`` if the stream failed us."""
    try:
        async with await jobs.events(job_id, max_retries=EVENT_STREAM_RETRIES) as stream:
            async for event in stream:
                if isinstance(event, JobTerminalEvent):
                    seen.append(event.data)
                    return event.data
                if isinstance(event, JobStatusEvent):
                    update: Dict[str, Any] = {"status": event.data.status, "progress": event.data.progress}
                    seen.append(seen[-1].model_copy(update=update))
                _remaining(deadline)
    except APIError:
        pass
    return None


async def _poll(
    jobs: AsyncJobsResource, job_id: str, poll_interval: float, deadline: Optional[float], seen: List[Job]
) -> Job:
    delays = poll_delays(_policy(jobs), poll_interval)
    while True:
        status = await jobs.retrieve_status(job_id)
        if is_terminal(status.status):
            job = await jobs.retrieve(job_id)
            seen.append(job)
            return job
        seen.append(seen[-1].model_copy(update={"status": status.status, "progress": status.progress}))
        wait = next(delays)
        left = _remaining(deadline)
        # The last wait ends at the deadline, for one more look before giving up.
        await _clock.sleep(wait if left is None else min(wait, left))


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
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be positive, got {poll_interval}")
    pending = _pending_ids(job_ids)
    unconfirmed = set(pending)  # ids no list answer has shown yet
    deadline = None if timeout is None else _clock.monotonic() + timeout
    policy = _policy(jobs)
    delays = poll_delays(policy, poll_interval)
    while pending:
        finished: List[Job] = []
        ids = list(pending)
        for start in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[start : start + IDS_PER_REQUEST]
            finished.extend(await _finished_in(jobs, chunk, unconfirmed))
        finished.sort(key=lambda job: (job.completed_at is None, str(job.completed_at or "")))
        yielded = False
        for job in finished:
            if job.id not in pending:
                continue
            del pending[job.id]
            if on_complete is not None:
                result = on_complete(job)
                if result is not None:
                    await result
            yielded = True
            yield job
        if not pending:
            return
        if yielded:
            delays = poll_delays(policy, poll_interval)
        wait = next(delays)
        try:
            left = _remaining(deadline)
        except _DeadlinePassed:
            raise JobWaitTimeoutError(
                f"{len(pending)} job(s) did not finish within {timeout} s, e.g. {next(iter(pending))}.",
                job=None,
            ) from None
        await _clock.sleep(wait if left is None else min(wait, left))


async def _finished_in(jobs: AsyncJobsResource, chunk: List[str], unconfirmed: set[str]) -> List[Job]:
    """The terminal jobs among ``chunk`` (one list request); checks ids never seen before exist."""
    if not unconfirmed.intersection(chunk):
        page = await jobs.list(ids=chunk, status=_TERMINAL, limit=IDS_PER_REQUEST)
        return list(page.data)
    # Unfiltered, so every job the server knows comes back, finished or not.
    page = await jobs.list(ids=chunk, limit=IDS_PER_REQUEST)
    unconfirmed.difference_update(job.id for job in page.data)
    for job_id in [i for i in chunk if i in unconfirmed]:
        try:
            await jobs.retrieve_status(job_id)
        except NotFoundError as exc:
            raise NotFoundError(
                f"as_completed: the server knows no job {job_id!r}; remove it from job_ids ({exc.message})",
                response=exc.response,
                body=exc.body,
            ) from exc
        unconfirmed.discard(job_id)  # it exists; the list just did not show it yet
    return [job for job in page.data if is_terminal(job.status)]
