"""The jobs a waiting batch follows until they end (``batch(..., wait=True)``).

Submitted job ids go to one subscription of the client's :mod:`job poller
<microdc.lib.jobs._poller>`, which asks the list endpoint about them 100 ids per
request every ``poll_interval`` seconds (in the same rounds as the client's other
waits). One task takes the poller's news and reports each job through the engine's
``ended``/``lost`` callbacks: a job that ended, an id the server does not know, or
one whose poll failed after the client's retries (its item is an ``error``; its
row stays ``submitted``, so a re-run with the state file follows it again). At most
``limit`` jobs are followed at a time: :meth:`Following.until_room` is where the
feeder waits, which is what keeps a run's memory flat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Callable, Optional, Awaitable, Coroutine

import anyio

from ..._exceptions import AuthenticationError
from ..jobs._poller import Cadence, poller_for

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ...types.job import Job
    from ..jobs._poller import Report, Subscription
    from ...resources.jobs import AsyncJobsResource

__all__ = ["Followed", "Following"]

Work = Callable[[], Awaitable[None]]


class Followed:
    """A job being waited for: enough to make its item and its row.

    With ``response_model=``, also what a re-ask needs: the item's first parameters
    (``params``), which attempt this job is (1: the first) and what the item's
    earlier attempts cost (``prior_cost``, in picodollars).
    """

    __slots__ = ("attempt", "counted", "estimate", "index", "key", "params", "params_hash", "prior_cost")

    def __init__(
        self,
        index: int,
        key: str,
        params_hash: str,
        estimate: int,
        *,
        counted: bool,
        params: Optional[Dict[str, Any]] = None,
        attempt: int = 1,
        prior_cost: int = 0,
    ) -> None:
        self.index, self.key, self.params_hash, self.estimate, self.counted = index, key, params_hash, estimate, counted
        self.params, self.attempt, self.prior_cost = params, attempt, prior_cost


class Following:
    """Follows submitted jobs through the client's job poller until each one ends."""

    def __init__(
        self,
        jobs: AsyncJobsResource,
        *,
        poll_interval: float,
        limit: int,
        guard: Callable[[Work], Coroutine[Any, Any, None]],
        ended: Callable[[Followed, Job], Awaitable[None]],
        lost: Callable[[str, Followed, Exception], Awaitable[None]],
    ) -> None:
        self.limit = limit
        self._jobs = jobs
        self._poll_interval = poll_interval
        self._guard = guard
        self._ended = ended
        self._lost = lost
        self._followed: Dict[str, Followed] = {}
        self._sub: Optional[Subscription] = None
        self._scope = anyio.CancelScope()
        self._room = anyio.Event()
        self._idle = anyio.Event()
        self._reporting = False  # the follower is handing the poller's news to the engine
        self._stopping = False

    @property
    def count(self) -> int:
        """Jobs followed now."""
        return len(self._followed)

    def start(self, tasks: TaskGroup) -> None:
        """Follow the jobs from a task of ``tasks``."""
        self._sub = poller_for(self._jobs).subscribe(self._jobs, Cadence(self._poll_interval, backoff=False))
        tasks.start_soon(self._guard, self._follow)

    def add(self, job_id: str, followed: Followed, *, known: bool) -> None:
        """Follow ``job_id`` (``known``: the server just answered with it, so its existence is not checked)."""
        assert self._sub is not None
        self._followed[job_id] = followed
        if not self._stopping:
            # Just submitted: not worth asking about before a poll interval has passed.
            self._sub.add(job_id, known=known, after=self._poll_interval)

    def take(self, job_id: str) -> Optional[Followed]:
        """Stop following ``job_id`` (ended, or cancelled by the engine); what was known of it."""
        followed = self._followed.pop(job_id, None)
        if followed is not None:
            if self._sub is not None:
                self._sub.discard(job_id)
            self._room.set()
        return followed

    def poll_now(self) -> None:
        """Ask about every followed job at once (the engine waits for room in the budget)."""
        if self._sub is not None:
            self._sub.poll_now()

    async def until_room(self) -> None:
        """Wait while ``limit`` jobs are followed (returns at once once stopped)."""
        while self.count >= self.limit and not self._stopping:
            self._room = anyio.Event()
            await self._room.wait()

    async def drain(self) -> None:
        """Wait until every job followed has ended and its item is out (or :meth:`stop`).

        Jobs added meanwhile (the re-asks of a structured batch) are waited for too.
        """
        while (self._followed or self._reporting) and not self._stopping:
            self._idle = anyio.Event()
            await self._idle.wait()

    def stop(self) -> None:
        """Stop polling and release whoever waits for room or for the jobs."""
        self._stopping = True
        self._scope.cancel()
        self._room.set()
        self._idle.set()

    async def _follow(self) -> None:
        sub = self._sub
        assert sub is not None
        try:
            with self._scope:
                while True:
                    report = await sub.next()
                    self._reporting = True
                    try:
                        await self._report(report)
                    finally:
                        self._reporting = False
                    self._idle.set()
        finally:
            sub.close()

    async def _report(self, report: Report) -> None:
        for job in report.jobs:
            followed = self._followed.get(job.id)
            if followed is not None:
                await self._ended(followed, job)
        for job_id, missing in report.unknown.items():
            await self._lose(job_id, missing)
        if isinstance(report.error, AuthenticationError):
            raise report.error  # every other poll would fail the same way: stop the run
        if report.error is not None:
            for job_id in report.failed:
                await self._lose(job_id, report.error)

    async def _lose(self, job_id: str, error: Exception) -> None:
        followed = self._followed.get(job_id)
        if followed is not None:
            await self._lost(job_id, followed, error)
