"""The jobs a waiting batch follows until they end (``batch(..., wait=True)``).

Submitted job ids gather in groups of up to :data:`IDS_PER_REQUEST`; a group is
handed to its own task, which polls the list endpoint with those ids until every job
in it has ended (or can no longer be followed), and reports each through the
engine's ``ended``/``lost`` callbacks. A group is handed over when it is full, when
its oldest id has waited ``poll_interval``, or at once when the engine needs room.
At most ``limit`` jobs are followed at a time: :meth:`Following.until_room` is where
the feeder waits, which is what keeps a run's memory flat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Set, Dict, Callable, Optional, Awaitable, Coroutine

import anyio

from ... import _clock
from ._state import TERMINAL
from ..._spec import JOB_LIST_IDS_MAX_ITEMS
from ..._exceptions import APIError, MicroDCError, AuthenticationError

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ...types.job import Job
    from ...resources.jobs import AsyncJobsResource

__all__ = ["IDS_PER_REQUEST", "Followed", "Following"]

IDS_PER_REQUEST = JOB_LIST_IDS_MAX_ITEMS
"""Job ids per list request while following jobs: as many as the API takes."""

Work = Callable[[], Awaitable[None]]


class Followed:
    """A job being waited for: enough to make its item and its row.

    With ``response_model=``, also what a re-ask needs: the item's first parameters
    (``params``), which attempt this job is (1: the first) and what the item's
    earlier attempts cost (``prior_cost``).
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
        prior_cost: float = 0.0,
    ) -> None:
        self.index, self.key, self.params_hash, self.estimate, self.counted = index, key, params_hash, estimate, counted
        self.params, self.attempt, self.prior_cost = params, attempt, prior_cost


class Following:
    """Follows submitted jobs, in groups polled by their own tasks, until each one ends."""

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
        self.count = 0
        """Jobs followed now."""
        self.limit = limit
        self.urgent = False
        """While set, each job is polled for at once (the engine waits for room in the budget)."""
        self._jobs = jobs
        self._poll_interval = poll_interval
        self._guard = guard
        self._ended = ended
        self._lost = lost
        self._followed: Dict[str, Followed] = {}
        self._group: Dict[str, Followed] = {}
        self._group_since = 0.0
        self._tasks: Optional[TaskGroup] = None
        self._scopes: Set[anyio.CancelScope] = set()
        self._polling = 0  # group tasks running
        self._polling_done = anyio.Event()
        self._room = anyio.Event()
        self._stopping = False

    def start(self, tasks: TaskGroup) -> None:
        """Run the group tasks in ``tasks``."""
        self._tasks = tasks

    def add(self, job_id: str, followed: Followed) -> None:
        self.count += 1
        self._followed[job_id] = followed
        if not self._group:
            self._group_since = _clock.monotonic()
        self._group[job_id] = followed
        if len(self._group) >= IDS_PER_REQUEST or self.urgent:
            self.flush()

    def take(self, job_id: str) -> Optional[Followed]:
        """Stop following ``job_id`` (ended, or cancelled by the engine); what was known of it."""
        followed = self._followed.pop(job_id, None)
        if followed is not None:
            self.count -= 1
            self._room.set()
        return followed

    def flush(self) -> None:
        """Hand the gathering group to a task now."""
        if self._group and self._tasks is not None and not self._stopping:
            group, self._group = self._group, {}
            self._polling += 1
            self._tasks.start_soon(self._guard, lambda: self._poll_until_done(group))

    def flush_if_due(self) -> None:
        """Hand the gathering group over if its oldest job has waited a poll interval."""
        if self._group and _clock.monotonic() - self._group_since >= self._poll_interval:
            self.flush()

    async def until_room(self) -> None:
        """Wait while ``limit`` jobs are followed (returns at once once stopped)."""
        while self.count >= self.limit and not self._stopping:
            self.flush()
            self._room = anyio.Event()
            await self._room.wait()

    async def drain(self) -> None:
        """Wait until every job followed has ended (or :meth:`stop`).

        A group still gathering is handed over first, also one that jobs added while
        waiting (the re-asks of a structured batch) started: it is never left behind.
        """
        while not self._stopping:
            self.flush()
            if not self._polling:
                return
            self._polling_done = anyio.Event()
            await self._polling_done.wait()

    def stop(self) -> None:
        """Stop polling and release whoever waits for room or for the groups."""
        self._stopping = True
        for scope in self._scopes:
            scope.cancel()
        self._room.set()
        self._polling_done.set()

    async def _poll_until_done(self, group: Dict[str, Followed]) -> None:
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if not self._stopping:
                    await self._poll(group)
            finally:
                self._scopes.discard(scope)
                self._polling -= 1
                if not self._polling:
                    self._polling_done.set()

    async def _poll(self, group: Dict[str, Followed]) -> None:
        policy = self._jobs._client.retry_policy  # pyright: ignore[reportPrivateUsage]
        failures = 0
        while group:
            try:
                page = await self._jobs.list(ids=list(group), limit=IDS_PER_REQUEST)
            except AuthenticationError:
                raise
            except APIError as exc:
                failures += 1
                if failures > policy.max_retries:
                    for job_id in list(group):
                        await self._lost(job_id, group.pop(job_id), exc)
                    return
                await _clock.sleep(policy.backoff(failures - 1))
                continue
            failures = 0
            seen: Set[str] = set()
            for job in page.data:
                seen.add(job.id)
                if job.status in TERMINAL and job.id in group:
                    await self._ended(group.pop(job.id), job)
            for job_id in [job_id for job_id in group if job_id not in seen]:
                error = MicroDCError(f"Job {job_id} is not known to the server: the job list has no such id")
                await self._lost(job_id, group.pop(job_id), error)
            if group:
                await _clock.sleep(self._poll_interval)
