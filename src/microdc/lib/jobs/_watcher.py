"""``jobs.watcher()``: call back when jobs end, for services that submit as requests come in.

::

    async with client.jobs.watcher(poll_interval=1.0) as watcher:
        job = await client.jobs.create(...)
        watcher.watch(job.id, on_done)      # on_done(job), sync or async, once
        ...
        await watcher.join()                # every watched job delivered

One background task polls every id still watched, through the list endpoint: up
to 100 ids per request, filtered to terminal states, so a round over 1,000 jobs is
10 requests. An id is first asked about without the status filter, which confirms
the server knows it; one the answer leaves out is retrieved once, and if that is a
404 nothing is called for it and ``join()`` raises that ``NotFoundError``.

Callbacks run in their own tasks, so a slow one does not hold up polling; one that
raises is logged on the ``microdc`` logger and the watcher goes on. A failed poll
(the API unreachable after its retries) is logged and tried again next round.
Waits between rounds go through the SDK clock (``microdc.lib.retry.disable_retry_delays``
makes them instant). Leaving the ``async with`` block stops polling and cancels
callbacks still running.
"""

from __future__ import annotations

import math
import inspect
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Dict, List, Type, Union, Callable, Optional, Awaitable

import anyio
import anyio.abc

from ... import _clock
from ..._spec import TERMINAL_JOB_STATES, JOB_LIST_IDS_MAX_ITEMS
from ..._exceptions import APIError, NotFoundError
from ...types.job_state import JobState

if TYPE_CHECKING:
    from . import AsyncJobs
    from ...types.job import Job

__all__ = ["IDS_PER_REQUEST", "JobCallback", "JobWatcher"]

log = logging.getLogger("microdc")

IDS_PER_REQUEST = JOB_LIST_IDS_MAX_ITEMS
_TERMINAL: List[JobState] = list(TERMINAL_JOB_STATES)
TERMINAL_STATUSES = frozenset(_TERMINAL)

JobCallback = Callable[["Job"], Union[Awaitable[None], None]]
"""Called once with the terminal Job; may be a plain function or a coroutine function."""


class JobWatcher:
    """Calls back once per watched job when it ends; made by ``client.jobs.watcher()`` (see the module docs)."""

    def __init__(self, jobs: AsyncJobs, *, poll_interval: float = 1.0) -> None:
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)):
            raise TypeError(f"poll_interval must be a number of seconds, got {type(poll_interval).__name__}.")
        if not math.isfinite(poll_interval) or poll_interval <= 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}.")
        self._jobs = jobs
        self._poll_interval = float(poll_interval)
        # Watched ids, in the order they were first watched, with their callbacks.
        self._pending: Dict[str, List[JobCallback]] = {}
        self._confirmed: set[str] = set()  # ids the server has shown us
        self._missing: Dict[str, NotFoundError] = {}
        self._running_callbacks = 0
        self._changed = anyio.Event()
        self._tasks: Optional[anyio.abc.TaskGroup] = None
        self._state = "new"  # -> "open" -> "closed"
        self._rounds = 0

    # --- the public surface -------------------------------------------------------------

    @property
    def poll_interval(self) -> float:
        return self._poll_interval

    @property
    def watching(self) -> int:
        """How many jobs are watched and not yet delivered."""
        return len(self._pending)

    @property
    def rounds(self) -> int:
        """Polling rounds run so far (each asks about every watched id once)."""
        return self._rounds

    def watch(self, job_id: str, callback: JobCallback) -> None:
        """Call ``callback(job)`` once, with the terminal Job, when ``job_id`` ends.

        Several callbacks may watch one id (each is called once). A job that has
        already ended is delivered on the next round.
        """
        if not isinstance(job_id, str) or not job_id or "," in job_id or job_id != job_id.strip():
            raise ValueError(f"watch() needs a job id such as 'job_abc123', got {job_id!r}.")
        if not callable(callback):
            raise TypeError(f"watch() needs a callable to call with the Job, got {callback!r}.")
        if self._state == "closed":
            raise RuntimeError("This watcher is closed: watch jobs inside its `async with` block.")
        self._pending.setdefault(job_id, []).append(callback)
        self._notify()

    async def join(self) -> None:
        """Wait until every watched job has been delivered and its callbacks have returned.

        Raises ``NotFoundError`` for an id the server does not know (named in the
        message); such ids are then forgotten.
        """
        if self._state != "open":
            raise RuntimeError("join() needs a running watcher: use it inside `async with client.jobs.watcher():`.")
        while self._pending or self._running_callbacks:
            changed = self._changed
            await changed.wait()
        if self._missing:
            missing = list(self._missing.values())
            self._missing.clear()
            raise missing[0]

    async def __aenter__(self) -> JobWatcher:
        if self._state != "new":
            raise RuntimeError("A JobWatcher runs once: make a new one with client.jobs.watcher().")
        self._tasks = anyio.create_task_group()
        await self._tasks.__aenter__()
        self._state = "open"
        self._tasks.start_soon(self._poll_forever, name="microdc JobWatcher")
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Optional[bool]:
        self._state = "closed"
        tasks, self._tasks = self._tasks, None
        assert tasks is not None
        tasks.cancel_scope.cancel()
        self._notify()
        if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
            # The block's own error: stop the tasks as on a normal exit, and let the
            # error go on as it is (not wrapped in an exception group).
            await tasks.__aexit__(None, None, None)
            return None
        return await tasks.__aexit__(exc_type, exc, traceback)

    # --- polling ------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _poll_forever(self) -> None:
        while True:
            while not self._pending:
                changed = self._changed
                await changed.wait()
            try:
                await self._poll_round()
            except APIError as exc:
                log.warning("JobWatcher: polling failed (%s); trying again in %g s", exc, self._poll_interval)
            if self._pending:
                await _clock.sleep(self._poll_interval)

    async def _poll_round(self) -> None:
        """Ask about every watched id once, ``IDS_PER_REQUEST`` at a time; deliver the ended jobs."""
        self._rounds += 1
        # Ids the server has not shown us yet go first, so they share as few requests as possible.
        ids = sorted(self._pending, key=lambda job_id: job_id in self._confirmed)
        for start in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[start : start + IDS_PER_REQUEST]
            unconfirmed = [job_id for job_id in chunk if job_id not in self._confirmed]
            if unconfirmed:
                # No status filter: the answer shows every job the server knows, ended or not.
                page = await self._jobs.list(ids=chunk, limit=IDS_PER_REQUEST)
            else:
                page = await self._jobs.list(ids=chunk, status=_TERMINAL, limit=IDS_PER_REQUEST)
            seen = {job.id: job for job in page.data}
            self._confirmed.update(seen)
            for job_id in unconfirmed:
                if job_id not in seen:
                    await self._check_exists(job_id, seen)
            for job in seen.values():
                if job.status in TERMINAL_STATUSES:
                    self._deliver(job)

    async def _check_exists(self, job_id: str, seen: Dict[str, Job]) -> None:
        """An id the list left out: retrieve it once; a 404 means the server does not know it."""
        try:
            job = await self._jobs.retrieve(job_id)
        except NotFoundError as exc:
            if self._pending.pop(job_id, None) is not None:
                self._missing[job_id] = exc
                log.warning("JobWatcher: the server does not know job %s; nothing will be called for it", job_id)
                self._notify()
            return
        self._confirmed.add(job_id)
        seen[job_id] = job

    def _deliver(self, job: Job) -> None:
        callbacks = self._pending.pop(job.id, None)
        if not callbacks:
            return
        self._confirmed.discard(job.id)
        assert self._tasks is not None
        for callback in callbacks:
            self._running_callbacks += 1
            self._tasks.start_soon(self._call, callback, job, name=f"microdc JobWatcher callback for {job.id}")
        self._notify()

    async def _call(self, callback: JobCallback, job: Job) -> None:
        try:
            result = callback(job)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("JobWatcher: the callback for job %s raised; the watcher goes on", job.id)
        finally:
            self._running_callbacks -= 1
            self._notify()
