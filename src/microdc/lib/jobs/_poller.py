"""The job poller: one per client and event loop, asking the list endpoint about every job waited for.

Its subscribers are ``jobs.wait`` (the waits that hold no event stream),
``jobs.as_completed``, the watcher and ``jobs.batch``'s following. Each holds a
:class:`Subscription`: a set of job ids and a :class:`Cadence`. A *round* asks about
the ids of every subscription that is due, all together, up to
:data:`IDS_PER_REQUEST` ids per ``jobs.list`` request (so 1,000 waits cost 10
requests a round, not 1,000):

* an id no answer has shown yet is asked about without a status filter, which
  confirms the server knows it; one the answer leaves out is looked up once with
  ``retrieve_status``, and a 404 reports a ``NotFoundError`` naming it (instead of
  polling it forever);
* confirmed ids are asked about with the terminal states as the filter, so an
  answer holds only the jobs that ended, which go to every subscription of the id.

**When.** A subscription is polled at once, then after ``poll_interval``; with
``backoff`` each wait without news doubles, up to the client's
``RetryPolicy.max_delay`` (or ``poll_interval`` if longer), and a round that brings
a job starts again from ``poll_interval``. A wait is due anywhere in its last
``jitter`` share (the policy's), so subscriptions whose windows overlap share a
round, and a lone one waits a random point of it, as the retry backoff does. A
subscription with a ``deadline`` has a last look at it and then reports
``expired``. Every wait sleeps on the SDK's clock.

**Who runs it.** The subscribers do: whichever waits for news (:meth:`Subscription.next`)
while nobody else is running rounds runs them, and hands over to another waiting
subscriber when it has its news or is cancelled. So the poller has no task of its
own, nothing runs while nobody waits, and a round is sent through the client of
the subscriber running it.

**Failures.** A list request is one call of the client: its request loop retries
it as the client's ``RetryPolicy`` says (``RetryPolicy.next_delay``), firing
``on_retry`` and, when it finally fails, ``on_error``. The poller never retries it
again: a poll that finally fails is reported once to every due subscription with
an id in it (:attr:`Report.error`, :attr:`Report.failed`), which decides —
``wait`` and ``as_completed`` raise it, a batch turns those jobs into ``error``
items, the watcher logs it and tries again next round (backing off while polls
keep failing). So one poll with the list endpoint down costs ``1 + max_retries``
requests, once.
"""

from __future__ import annotations

import math
import random
import weakref
from typing import TYPE_CHECKING, Dict, List, Iterable, KeysView, Optional
from dataclasses import field, dataclass

import anyio

from ... import _clock
from ..._spec import TERMINAL_JOB_STATES, JOB_LIST_IDS_MAX_ITEMS
from ..._exceptions import APIError, NotFoundError
from ..._job_notices import TERMINAL_STATES
from ...types.job_state import JobState

if TYPE_CHECKING:
    import httpx

    from ...types.job import Job
    from ...resources.jobs import AsyncJobsResource

__all__ = [
    "IDS_PER_REQUEST",
    "MAX_EVENT_STREAMS",
    "TERMINAL_STATES",
    "Cadence",
    "JobPoller",
    "Report",
    "Subscription",
    "check_poll_interval",
    "is_terminal",
    "poller_for",
]

IDS_PER_REQUEST = JOB_LIST_IDS_MAX_ITEMS
"""Job ids per list request: as many as the API takes."""
_TERMINAL_FILTER: List[JobState] = [*TERMINAL_JOB_STATES]  # the list filter of a poll of known ids
MAX_EVENT_STREAMS = 8
"""Event streams the ``jobs.wait`` calls of one client hold at most, between them."""
# A timer may fire a hair early; what is due this close to now is due now.
_SLACK = 0.001

_jitter = random.Random()


def is_terminal(status: object) -> bool:
    """Whether a job in ``status`` has ended (``completed``, ``failed`` or ``cancelled``)."""
    return status in TERMINAL_STATES


def check_poll_interval(poll_interval: object) -> float:
    """``poll_interval`` as seconds; ``TypeError``/``ValueError`` saying what to pass otherwise."""
    if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)):
        raise TypeError(f"poll_interval must be a number of seconds, got {type(poll_interval).__name__}.")
    if not math.isfinite(poll_interval) or poll_interval <= 0:
        raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}.")
    return float(poll_interval)


@dataclass(frozen=True)
class Cadence:
    """How often a subscription is polled: every ``poll_interval`` s, doubling while nothing ends if ``backoff``.

    Without ``backoff`` the waits are exactly ``poll_interval`` while polls succeed,
    and back off (with jitter) only while they fail.
    """

    poll_interval: float
    backoff: bool = True

    def __post_init__(self) -> None:
        check_poll_interval(self.poll_interval)


@dataclass
class Report:
    """What a round brought a subscription (see :meth:`Subscription.next`)."""

    jobs: List[Job] = field(default_factory=lambda: [])
    """Jobs that ended, in completion order; no longer watched."""
    unknown: Dict[str, NotFoundError] = field(default_factory=lambda: {})
    """Ids the server does not know, with the error naming each; no longer watched."""
    error: Optional[APIError] = None
    """The error of a poll that finally failed (after the client's retries)."""
    failed: List[str] = field(default_factory=lambda: [])
    """The ids that poll asked about: still watched, until the subscriber lets them go."""
    expired: bool = False
    """The subscription's deadline passed, after a last look."""

    @property
    def news(self) -> bool:
        return bool(self.jobs or self.unknown or self.error is not None or self.expired)


class _Watched:
    """One id: who watches it, and whether the server has shown it to us."""

    __slots__ = ("confirmed", "subs")

    def __init__(self, confirmed: bool) -> None:
        self.confirmed = confirmed
        self.subs: List[Subscription] = []


class Subscription:
    """A set of job ids one waiter follows through the poller; made by :meth:`JobPoller.subscribe`."""

    def __init__(self, poller: JobPoller, jobs: AsyncJobsResource, cadence: Cadence, deadline: Optional[float]) -> None:
        self.jobs = jobs
        """The resource this subscription's rounds are sent through (when it runs them)."""
        self.cadence = cadence
        self.deadline = deadline
        """When to give up, on the SDK's clock (``None``: never)."""
        self.rounds = 0
        """Rounds that asked about this subscription's ids."""
        self.last_seen: Optional[Job] = None
        """The last unfinished Job an answer showed for one of the ids."""
        self._poller = poller
        self._ids: Dict[str, None] = {}
        self._report = Report()
        self._step = 0
        self._ready = self._due = 0.0
        self._wake: Optional[anyio.Event] = None
        self._closed = False

    @property
    def watching(self) -> int:
        """Ids watched and not reported yet."""
        return len(self._ids)

    @property
    def ids(self) -> KeysView[str]:
        """The ids watched and not reported yet, in the order they were added."""
        return self._ids.keys()

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids

    def add(self, job_id: str, *, known: bool = False, after: float = 0.0) -> None:
        """Watch ``job_id`` (``known``: the server just answered with it, so no check is needed).

        An idle subscription's first look is ``after`` seconds from now; one already
        polling takes the id along on its next round.
        """
        if self._closed:
            raise RuntimeError("this subscription is closed")
        if job_id in self._ids:
            return
        idle = not self._ids
        self._ids[job_id] = None
        self._poller._watch(job_id, self, known)
        if idle:
            self._step = 0
            self._at(_clock.monotonic() + after)

    def add_all(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            self.add(job_id)

    def discard(self, job_id: str) -> None:
        """Stop watching ``job_id`` (nothing more is reported about it)."""
        if self._ids.pop(job_id, 0) is None:
            self._poller._unwatch(job_id, self)

    def poll_now(self) -> None:
        """Ask about this subscription's ids at once (the batch does when it waits for room in its budget)."""
        self._at(_clock.monotonic())

    def close(self) -> None:
        """Leave the poller; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        for job_id in self._ids:
            self._poller._unwatch(job_id, self)
        self._ids.clear()
        self._poller._leave(self)

    async def next(self) -> Report:
        """Wait for news (ended jobs, unknown ids, a failed poll, the deadline) and return it.

        Runs the rounds itself while nobody else does. With no ids it waits until
        some are added.
        """
        poller = self._poller
        while not self._report.news:
            if poller._driver is None:
                await poller._drive(self)
                continue
            self._wake = anyio.Event()
            poller._waiting[self] = None
            woken = False
            try:
                await self._wake.wait()
                woken = True
            finally:
                self._wake = None
                del poller._waiting[self]
                if poller._successor is self:  # woken to run the rounds...
                    poller._successor = None
                    if not woken or self._report.news:
                        poller._hand_over()  # ...but it is cancelled, or has news: someone else must
        report, self._report = self._report, Report()
        report.jobs.sort(key=lambda job: (job.completed_at is None, str(job.completed_at or "")))
        return report

    # --- the poller's side ----------------------------------------------------------------

    def _at(self, when: float) -> None:
        self._ready = self._due = when
        self._poller._changed(when)

    def _wake_at(self) -> float:
        if not self._ids:
            return math.inf
        return self._due if self.deadline is None else min(self._due, self.deadline)

    def _is_due(self, now: float) -> bool:
        soon = now + _SLACK
        return bool(self._ids) and (self._ready <= soon or (self.deadline is not None and self.deadline <= soon))

    def _polled(self, now: float, progressed: bool, failed: bool) -> None:
        """Schedule the next look after a round (see the module docs), or report the deadline."""
        self.rounds += 1
        if self.deadline is not None and self.deadline <= now + _SLACK and self._ids:
            self._report.expired = True
        cadence = self.cadence
        if progressed or not (cadence.backoff or failed):
            self._step = 0
        policy = self.jobs._client.retry_policy
        cap = max(policy.max_delay, cadence.poll_interval)
        # The exponent is bounded because 2.0**1024 overflows a float; the cap applies long before.
        full = min(cadence.poll_interval * 2.0 ** min(self._step, 64), cap)
        if cadence.backoff or failed:
            self._step += 1
            self._ready = now + full * (1 - policy.jitter)
            self._due = now + full * (1 - policy.jitter * _jitter.random())
        else:
            self._ready = self._due = now + full

    def _tell(self) -> None:
        if self._wake is not None:
            self._wake.set()


class JobPoller:
    """The rounds over every subscribed id of one client (see the module docs); get it with :func:`poller_for`."""

    def __init__(self) -> None:
        self._subs: Dict[Subscription, None] = {}
        self._watched: Dict[str, _Watched] = {}
        self._driver: Optional[Subscription] = None
        self._waiting: Dict[Subscription, None] = {}  # blocked in next(), waiting for news
        self._successor: Optional[Subscription] = None  # woken to run the rounds, not running yet
        self._nap: Optional[anyio.CancelScope] = None
        self._nap_until = math.inf
        self.streams = 0
        """Event streams the client's waits hold now (at most :data:`MAX_EVENT_STREAMS`)."""

    @property
    def watching(self) -> int:
        """Distinct ids watched now."""
        return len(self._watched)

    @property
    def idle(self) -> bool:
        """Whether no round is running now (nobody drives, or the driver sleeps until the next one)."""
        return self._driver is None or self._nap is not None

    def subscribe(self, jobs: AsyncJobsResource, cadence: Cadence, *, deadline: Optional[float] = None) -> Subscription:
        """A new subscription (``close()`` it when done); its rounds go through ``jobs``."""
        sub = Subscription(self, jobs, cadence, deadline)
        self._subs[sub] = None
        return sub

    def open_stream(self) -> bool:
        """Take one of the :data:`MAX_EVENT_STREAMS` event-stream slots; False when all are taken."""
        if self.streams >= MAX_EVENT_STREAMS:
            return False
        self.streams += 1
        return True

    def close_stream(self) -> None:
        self.streams -= 1

    # --- subscriptions ----------------------------------------------------------------------

    def _watch(self, job_id: str, sub: Subscription, known: bool) -> None:
        watched = self._watched.get(job_id)
        if watched is None:
            watched = self._watched[job_id] = _Watched(known)
        elif known:
            watched.confirmed = True
        watched.subs.append(sub)

    def _unwatch(self, job_id: str, sub: Subscription) -> None:
        watched = self._watched.get(job_id)
        if watched is not None and sub in watched.subs:
            watched.subs.remove(sub)
            if not watched.subs:
                del self._watched[job_id]

    def _leave(self, sub: Subscription) -> None:
        self._subs.pop(sub, None)

    def _changed(self, when: float) -> None:
        """A subscription is due at ``when``: wake the napping driver if that is sooner."""
        if self._nap is not None and when < self._nap_until:
            self._nap.cancel()

    # --- rounds -------------------------------------------------------------------------------

    async def _drive(self, me: Subscription) -> None:
        """Run rounds until ``me`` has news; then let another waiting subscriber take over."""
        self._driver = me
        try:
            while not me._report.news:
                now = _clock.monotonic()
                wake = min((sub._wake_at() for sub in self._subs), default=math.inf)
                if wake > now + _SLACK:
                    await self._sleep_until(wake, now)
                    continue
                await self._round(me.jobs, now)
        finally:
            self._driver = None
            self._hand_over()

    def _hand_over(self) -> None:
        """While nobody runs the rounds, wake one subscriber that waits without news, to run them.

        (One with news is leaving, not driving.)
        """
        if self._driver is not None or self._successor is not None:
            return
        for sub in self._waiting:
            if not sub._report.news:
                self._successor = sub
                sub._tell()
                return

    async def _sleep_until(self, wake: float, now: float) -> None:
        with anyio.CancelScope() as nap:
            self._nap, self._nap_until = nap, wake
            try:
                if math.isinf(wake):
                    await anyio.sleep_forever()  # until a subscription adds ids (which cancels the nap)
                else:
                    await _clock.sleep(wake - now)
            finally:
                self._nap, self._nap_until = None, math.inf

    async def _round(self, jobs: AsyncJobsResource, started: float) -> None:
        """Ask about the ids of every due subscription, :data:`IDS_PER_REQUEST` at a time."""
        due = {sub: False for sub in self._subs if sub._is_due(started)}
        ids: Dict[str, None] = {}
        # The last look of a subscription at its deadline is unfiltered: it shows where its jobs are.
        fresh: set[str] = set()
        for sub in due:
            ids.update(sub._ids)
            if sub.deadline is not None and sub.deadline <= started + _SLACK:
                fresh.update(sub._ids)
        watched = self._watched
        # Ids that need an unfiltered look go first, so they share as few requests as possible.
        order = sorted(ids, key=lambda job_id: watched[job_id].confirmed and job_id not in fresh)
        failed: set[Subscription] = set()
        try:
            for start in range(0, len(order), IDS_PER_REQUEST):
                await self._ask(jobs, order[start : start + IDS_PER_REQUEST], fresh, due, failed)
            # Only a round that ran to its end moves the schedules on: an interrupted one
            # (its driver was cancelled) is run again by the next driver.
            now = _clock.monotonic()
            for sub, progressed in due.items():
                sub._polled(now, progressed, sub in failed)
        finally:
            for sub in self._waiting:
                if sub._report.news:
                    sub._tell()

    async def _ask(
        self,
        jobs: AsyncJobsResource,
        chunk: List[str],
        fresh: set[str],
        due: Dict[Subscription, bool],
        failed: set[Subscription],
    ) -> None:
        watched = self._watched
        chunk = [job_id for job_id in chunk if job_id in watched]  # (some may have been let go meanwhile)
        if not chunk:
            return
        try:
            if all(watched[job_id].confirmed and job_id not in fresh for job_id in chunk):
                page = await jobs.list(ids=chunk, status=_TERMINAL_FILTER, limit=IDS_PER_REQUEST)
            else:  # no filter: the answer shows every job the server knows, ended or not
                page = await jobs.list(ids=chunk, limit=IDS_PER_REQUEST)
        except APIError as exc:
            self._failed(chunk, exc, due, failed)
            return
        found = {job.id: job for job in page.data}
        for job_id in chunk:
            entry = watched.get(job_id)
            if entry is None:
                continue
            job = found.get(job_id)
            if job is None:
                if not entry.confirmed:
                    await self._confirm(jobs, job_id, due, failed)
                continue
            entry.confirmed = True
            if job.status in TERMINAL_STATES:
                del watched[job_id]
                for sub in entry.subs:
                    sub._ids.pop(job_id, None)
                    sub._report.jobs.append(job)
                    if sub in due:
                        due[sub] = True
            else:
                for sub in entry.subs:
                    sub.last_seen = job

    async def _confirm(
        self, jobs: AsyncJobsResource, job_id: str, due: Dict[Subscription, bool], failed: set[Subscription]
    ) -> None:
        """An id an unfiltered answer left out: look it up once; a 404 means the server does not know it."""
        try:
            await jobs.retrieve_status(job_id)
        except NotFoundError as exc:
            entry = self._watched.pop(job_id, None)
            if entry is None:
                return
            unknown = NotFoundError(
                f"The server knows no job {job_id!r}: the job list by id left it out, and looking it up "
                f"answered 404 ({exc.message}). Check the id, or stop waiting for it.",
                response=exc.response,
                body=exc.body,
            )
            for sub in entry.subs:
                sub._ids.pop(job_id, None)
                sub._report.unknown[job_id] = unknown
        except APIError as exc:
            self._failed([job_id], exc, due, failed)
        else:
            entry = self._watched.get(job_id)
            if entry is not None:
                entry.confirmed = True  # it exists; the list just did not show it yet

    def _failed(
        self, chunk: List[str], exc: APIError, due: Dict[Subscription, bool], failed: set[Subscription]
    ) -> None:
        for job_id in chunk:
            entry = self._watched.get(job_id)
            for sub in entry.subs if entry is not None else ():
                if sub in due:
                    report = sub._report
                    report.error = report.error or exc
                    report.failed.append(job_id)
                    failed.add(sub)


_pollers: weakref.WeakKeyDictionary[httpx.AsyncClient, JobPoller] = weakref.WeakKeyDictionary()


def poller_for(jobs: AsyncJobsResource) -> JobPoller:
    """The poller of ``jobs``'s client on the running event loop (shared by the client's copies)."""
    # The httpx client of the running loop: one per loop, and shared by copy()/with_options() copies.
    http = jobs._client._client
    poller = _pollers.get(http)
    if poller is None:
        poller = _pollers[http] = JobPoller()
    return poller
