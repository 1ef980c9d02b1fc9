"""``jobs.watcher()``: call back when jobs end, for services that submit as requests come in.

::

    async with client.jobs.watcher(poll_interval=1.0) as watcher:
        job = await client.jobs.create(...)
        watcher.watch(job.id, on_done)      # on_done(job), sync or async, once
        ...
        await watcher.join()                # every watched job delivered

The watcher subscribes its ids to the client's one :mod:`job poller <._poller>`,
which asks the list endpoint about up to 100 ids per request, filtered to terminal
states once the server has shown an id, so a round over 1,000 jobs is 10 requests
(shared with the client's waits, ``as_completed`` and batches). An id the server
does not know gets nothing called, and ``join()`` raises that ``NotFoundError``.
One background task waits for the poller's news; the watcher's ids are polled every
``poll_interval`` seconds.

Callbacks run in their own tasks, so a slow one does not hold up polling; one that
raises is logged on the ``microdc`` logger and the watcher goes on. A service runs
for days, so a poll that fails after the client's retries does not stop it: the
failure is logged and the ids are asked about again next round, the rounds backing
off (as the retry policy does, up to its ``max_delay``) while polls keep failing.
Waits between rounds go through the SDK clock (``microdc.lib.retry.disable_retry_delays``
makes them instant). Leaving the ``async with`` block stops polling and cancels
callbacks still running.
"""

from __future__ import annotations

import inspect
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Dict, List, Type, Union, Callable, Optional, Awaitable

import anyio
import anyio.abc

from ._poller import Cadence, Subscription, poller_for
from ..._exceptions import NotFoundError

if TYPE_CHECKING:
    from . import AsyncJobs
    from ...types.job import Job

__all__ = ["JobCallback", "JobWatcher"]

log = logging.getLogger("microdc")

JobCallback = Callable[["Job"], Union[Awaitable[None], None]]
"""Called once with the terminal Job; may be a plain function or a coroutine function."""


class JobWatcher:
    """Calls back once per watched job when it ends; made by ``client.jobs.watcher()`` (see the module docs)."""

    def __init__(self, jobs: AsyncJobs, *, poll_interval: float = 1.0) -> None:
        # Polled every poll_interval while polls succeed (jobs arrive all the time: no backoff).
        self._cadence = Cadence(poll_interval, backoff=False)
        self._jobs = jobs
        # Watched ids, in the order they were first watched, with their callbacks.
        self._pending: Dict[str, List[JobCallback]] = {}
        self._missing: Dict[str, NotFoundError] = {}
        self._running_callbacks = 0
        self._changed = anyio.Event()
        self._tasks: Optional[anyio.abc.TaskGroup] = None
        self._sub: Optional[Subscription] = None
        self._state = "new"  # -> "open" -> "closed"

    # --- the public surface -------------------------------------------------------------

    @property
    def poll_interval(self) -> float:
        return self._cadence.poll_interval

    @property
    def watching(self) -> int:
        """How many jobs are watched and not yet delivered."""
        return len(self._pending)

    @property
    def rounds(self) -> int:
        """Polling rounds that asked about this watcher's ids so far."""
        return self._sub.rounds if self._sub is not None else 0

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
        if self._sub is not None:
            self._sub.add(job_id)

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
        self._sub = poller_for(self._jobs).subscribe(self._jobs, self._cadence)
        self._sub.add_all(self._pending)
        self._tasks = anyio.create_task_group()
        await self._tasks.__aenter__()
        self._state = "open"
        self._tasks.start_soon(self._poll_forever, self._sub, name="microdc JobWatcher")
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
        try:
            if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
                # The block's own error: stop the tasks as on a normal exit, and let the
                # error go on as it is (not wrapped in an exception group).
                await tasks.__aexit__(None, None, None)
                return None
            return await tasks.__aexit__(exc_type, exc, traceback)
        finally:
            if self._sub is not None:
                self._sub.close()

    # --- polling ------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _poll_forever(self, sub: Subscription) -> None:
        while True:
            report = await sub.next()
            for job in report.jobs:
                self._deliver(job)
            for job_id, missing in report.unknown.items():
                self._forget(job_id, missing)
            if report.error is not None:
                log.warning(
                    "JobWatcher: polling failed for %d job(s) (%s); they are asked about again next round",
                    len(report.failed),
                    report.error,
                )

    def _forget(self, job_id: str, missing: NotFoundError) -> None:
        if self._pending.pop(job_id, None) is not None:
            self._missing[job_id] = missing
            log.warning("JobWatcher: the server does not know job %s; nothing will be called for it", job_id)
            self._notify()

    def _deliver(self, job: Job) -> None:
        callbacks = self._pending.pop(job.id, None)
        if not callbacks:
            return
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
