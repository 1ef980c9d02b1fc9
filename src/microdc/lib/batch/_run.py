"""The engine of ``submit_many`` (see :mod:`microdc.lib.batch` for what it does).

One :class:`BatchRun` per call: worker tasks admit inputs in order (checking the
budget), submit them, and hand the job ids to ``as_completed`` followers in groups
of up to 100; a ticker writes the state file and reports progress.
"""

from __future__ import annotations

import time
import inspect
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Callable, Optional, Awaitable, cast

import anyio

from ._state import BatchState, StateEntry, hash_params
from ._types import BatchItem, OnProgress, BatchResult, BatchProgress, BatchItemStatus
from ..jobs._cost import price_book
from ..._exceptions import MicroDCError, APIConnectionError, AuthenticationError, InternalServerError
from ..jobs._waiting import IDS_PER_REQUEST, TERMINAL_STATUSES, as_completed
from ..jobs.builders import JobBuilder

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ...types.job import Job
    from ...resources.jobs import AsyncJobsResource

__all__ = ["PROGRESS_INTERVAL", "SAVE_INTERVAL", "BatchRun", "Slot"]

PROGRESS_INTERVAL = 0.25
"""Seconds between two ``on_progress`` calls, at least (the final call excepted)."""
SAVE_INTERVAL = 0.5
"""Seconds between two writes of the state file while the batch runs, at least."""
_EPSILON = 1e-12


class Slot:
    """One input while the batch runs (mutable; becomes a ``BatchItem`` at the end)."""

    __slots__ = (
        "cost",
        "error",
        "estimate",
        "index",
        "job",
        "job_id",
        "key",
        "live",
        "params",
        "params_hash",
        "status",
    )

    def __init__(self, index: int, params: Optional[Dict[str, Any]], error: Optional[Exception]) -> None:
        self.index = index
        self.params = params
        self.params_hash = hash_params(params) if params is not None else None
        self.key = ""
        self.status = "pending" if error is None else "error"
        self.error = error
        self.job: Optional[Job] = None
        self.job_id: Optional[str] = None
        self.cost = 0.0
        self.estimate = 0.0
        self.live = False  # holds a budget reservation that will be settled

    @classmethod
    def prepare(cls, index: int, job: object) -> Slot:
        if isinstance(job, JobBuilder):
            try:
                job.validate()
            except ValueError as exc:
                return cls(index, None, exc)
            return cls(index, job.to_params(), None)
        if isinstance(job, Mapping):
            params = dict(cast(Mapping[str, Any], job))
            if "idempotency_key" in params:
                return cls(index, None, ValueError("submit_many sets each job's idempotency_key; remove it"))
            return cls(index, params, None)
        raise TypeError(
            f"submit_many takes jobs.create parameter dicts or builders; input {index} is a {type(job).__name__}"
        )


class BatchRun:
    def __init__(
        self,
        jobs: AsyncJobsResource,
        slots: List[Slot],
        state: BatchState,
        *,
        concurrency: int,
        cost_limit: Optional[float],
        on_progress: Optional[OnProgress],
        wait: bool,
        poll_interval: float,
    ) -> None:
        self._jobs = jobs
        self._slots = slots
        self._state = state
        self._concurrency = concurrency
        self._cost_limit = cost_limit
        self._on_progress = on_progress
        self._wait = wait
        self._poll_interval = poll_interval
        self._prices = price_book(jobs._client) if cost_limit is not None else None
        self._queue = iter(slots)
        self._by_job_id: Dict[str, Slot] = {}
        self._admit_lock = anyio.Lock()
        self._settled_event = anyio.Event()
        # Budget: spent (actual) + reserved (estimates of jobs in flight) + unsettled
        # (estimates of jobs that may exist but can no longer be followed).
        self._spent = 0.0
        self._reserved = 0.0
        self._unsettled = 0.0
        self._live = 0
        self._budget_stopped = False
        self._blocked = False
        self._chunk: List[str] = []
        self._chunk_since = 0.0
        self._outer: Optional[TaskGroup] = None
        self._waiters: Optional[TaskGroup] = None
        self._fatal: Optional[Exception] = None
        self._started = time.monotonic()
        self._settled_now = 0
        self._dirty = False
        self._changed = True
        self._last_save = self._started
        self._restore()

    # --- the run ------------------------------------------------------------------------

    async def run(self) -> BatchResult:
        try:
            async with anyio.create_task_group() as outer:
                self._outer = outer
                outer.start_soon(self._guard, self._tick)
                async with anyio.create_task_group() as waiters:
                    self._waiters = waiters
                    await self._guard(self._start)
                    if self._fatal is None:
                        pending = sum(1 for slot in self._slots if slot.status == "pending")
                        async with anyio.create_task_group() as workers:
                            for _ in range(max(1, min(self._concurrency, pending))):
                                workers.start_soon(self._guard, self._worker)
                        self._flush()
                outer.cancel_scope.cancel()
            if self._fatal is not None:
                raise self._fatal
            self._save()
            await self._emit(done=True)
        finally:
            # Also on cancellation or error: whatever was submitted is on disk for the re-run.
            if self._dirty:
                self._save()
        return self._result()

    async def _guard(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work``; its exception ends the whole batch (and is raised by ``run``)."""
        try:
            await work()
        except Exception as exc:
            if self._fatal is None:
                self._fatal = exc
            assert self._outer is not None
            self._outer.cancel_scope.cancel()

    async def _start(self) -> None:
        await self._emit()
        in_flight = [slot for slot in self._slots if slot.status == "submitted"]
        finished = [slot for slot in self._slots if slot.status in TERMINAL_STATUSES]
        for slot in in_flight:
            estimate = 0.0
            if self._prices is not None and slot.params is not None:
                try:
                    estimate = (await self._prices.estimate(slot.params)).worst_case_usd
                except AuthenticationError:
                    raise
                except (MicroDCError, ValueError):
                    pass
            self._reserve(slot, estimate)
        await self._refresh(finished if self._wait else finished + in_flight)
        if self._wait:
            for slot in in_flight:
                self._watch(slot)

    async def _tick(self) -> None:
        while True:
            await anyio.sleep(PROGRESS_INTERVAL)
            now = time.monotonic()
            if self._chunk and now - self._chunk_since >= self._poll_interval:
                self._flush()
            if self._dirty and now - self._last_save >= SAVE_INTERVAL:
                self._save()
            if self._changed:
                await self._emit()

    # --- submitting ---------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            async with self._admit_lock:  # inputs are admitted one at a time, in order
                slot = self._next_pending()
                if slot is None:
                    return
                admitted = await self._admit(slot)
            if admitted:
                await self._submit(slot)

    def _next_pending(self) -> Optional[Slot]:
        for slot in self._queue:
            if slot.status != "pending":
                continue
            if self._budget_stopped:
                self._mark(slot, "skipped_budget")
                continue
            return slot
        return None

    async def _admit(self, slot: Slot) -> bool:
        """Reserve the slot's estimated cost, waiting for room; False if it was not admitted."""
        if self._prices is None or self._cost_limit is None:
            self._reserve(slot, 0.0)
            return True
        assert slot.params is not None
        try:
            estimate = (await self._prices.estimate(slot.params)).worst_case_usd
        except AuthenticationError:
            raise
        except (MicroDCError, ValueError) as exc:
            self._mark(slot, "error", exc)
            return False
        while self._spent + self._reserved + self._unsettled + estimate > self._cost_limit + _EPSILON:
            if not self._wait or self._live == 0:
                self._budget_stopped = True
                self._mark(slot, "skipped_budget")
                return False
            # Wait for a job in flight to finish: its actual cost may leave room.
            self._blocked = True
            self._flush()
            event = self._settled_event
            await event.wait()
        self._blocked = False
        self._reserve(slot, estimate)
        return True

    async def _submit(self, slot: Slot) -> None:
        assert slot.params is not None
        create = cast(Callable[..., Awaitable["Job"]], self._jobs.create)
        try:
            job = await create(**slot.params, idempotency_key=slot.key)
        except AuthenticationError:
            raise
        except (MicroDCError, ValueError, TypeError) as exc:
            # A connection error or a 5xx may hide a job that was made: keep its estimate.
            self._settle(slot, keep_estimate=isinstance(exc, (APIConnectionError, InternalServerError)))
            self._mark(slot, "error", exc)
            return
        slot.job, slot.job_id = job, job.id
        self._by_job_id[job.id] = slot
        self._state.entries[slot.index] = StateEntry(params_hash=slot.params_hash or "", job_id=job.id)
        self._dirty = True
        self._mark(slot, "submitted")
        if self._wait:
            self._watch(slot)

    # --- waiting ------------------------------------------------------------------------

    def _watch(self, slot: Slot) -> None:
        assert slot.job_id is not None
        if not self._chunk:
            self._chunk_since = time.monotonic()
        self._chunk.append(slot.job_id)
        if len(self._chunk) >= IDS_PER_REQUEST or self._blocked:
            self._flush()

    def _flush(self) -> None:
        """Start following the ids gathered so far (one ``as_completed`` per group)."""
        if self._chunk:
            ids, self._chunk = self._chunk, []
            assert self._waiters is not None
            self._waiters.start_soon(self._guard, lambda: self._follow(ids))

    async def _follow(self, ids: List[str]) -> None:
        iterator = as_completed(self._jobs, ids, poll_interval=self._poll_interval, timeout=None, on_complete=None)
        try:
            async for job in iterator:
                self._finish(self._by_job_id[job.id], job)
        except AuthenticationError:
            raise
        except MicroDCError as exc:
            for job_id in ids:
                slot = self._by_job_id[job_id]
                if slot.status == "submitted":
                    self._settle(slot, keep_estimate=True)
                    self._mark(slot, "error", exc)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()

    async def _refresh(self, slots: List[Slot]) -> None:
        """Fetch the current Job of resumed inputs (100 per request), without waiting."""
        ids = [slot.job_id for slot in slots if slot.job_id is not None]
        for start in range(0, len(ids), IDS_PER_REQUEST):
            try:
                page = await self._jobs.list(ids=ids[start : start + IDS_PER_REQUEST], limit=IDS_PER_REQUEST)
            except AuthenticationError:
                raise
            except MicroDCError:
                continue  # only detail is lost: these inputs keep their recorded outcome
            for job in page.data:
                slot = self._by_job_id.get(job.id)
                if slot is None:
                    continue
                if slot.status == "submitted" and job.status in TERMINAL_STATUSES:
                    self._finish(slot, job)
                else:
                    slot.job = job

    def _finish(self, slot: Slot, job: Job) -> None:
        if slot.status in TERMINAL_STATUSES:  # finished in an earlier run: already counted
            slot.job = job
            return
        cost = float(job.usage.cost_usd) if job.usage is not None else 0.0
        self._settle(slot)
        slot.job, slot.cost = job, cost
        self._spent += cost
        entry = self._state.entries.get(slot.index)
        if entry is not None:
            entry.status, entry.cost_usd = str(job.status), cost
            self._dirty = True
        self._mark(slot, str(job.status))

    # --- bookkeeping --------------------------------------------------------------------

    def _restore(self) -> None:
        for index, entry in self._state.entries.items():
            slot = self._slots[index]
            slot.job_id = entry.job_id
            slot.status = entry.status
            self._by_job_id[entry.job_id] = slot
            if entry.status in TERMINAL_STATUSES:
                slot.cost = entry.cost_usd
                self._spent += entry.cost_usd

    def _reserve(self, slot: Slot, estimate: float) -> None:
        slot.estimate, slot.live = estimate, True
        self._reserved += estimate
        self._live += 1

    def _settle(self, slot: Slot, *, keep_estimate: bool = False) -> None:
        """The slot's job finished (or cannot be followed): release its reservation."""
        if not slot.live:
            return
        slot.live = False
        self._live -= 1
        self._reserved = self._reserved - slot.estimate if self._live else 0.0
        if keep_estimate:
            self._unsettled += slot.estimate
        self._settled_event.set()
        self._settled_event = anyio.Event()

    def _mark(self, slot: Slot, status: str, error: Optional[Exception] = None) -> None:
        slot.status = status
        if error is not None:
            slot.error = error
        if status != "submitted" or not self._wait:
            self._settled_now += 1
        self._changed = True

    def _save(self) -> None:
        self._state.save()
        self._dirty = False
        self._last_save = time.monotonic()

    def _progress(self, done: bool) -> BatchProgress:
        counts = dict.fromkeys(("pending", "submitted", *TERMINAL_STATUSES, "error", "skipped_budget"), 0)
        for slot in self._slots:
            counts[slot.status] = counts.get(slot.status, 0) + 1
        elapsed = time.monotonic() - self._started
        return BatchProgress(
            total=len(self._slots),
            pending=counts["pending"],
            submitted=counts["submitted"],
            completed=counts["completed"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            error=counts["error"],
            skipped_budget=counts["skipped_budget"],
            spent_usd=self._spent,
            cost_limit_usd=self._cost_limit,
            elapsed=elapsed,
            rate=self._settled_now / elapsed if elapsed > 0 else 0.0,
            wait=self._wait,
            done=done,
        )

    async def _emit(self, *, done: bool = False) -> None:
        self._changed = False
        if self._on_progress is None:
            return
        result = self._on_progress(self._progress(done))
        if inspect.isawaitable(result):
            await result

    def _result(self) -> BatchResult:
        items = tuple(
            BatchItem(
                index=slot.index,
                status=cast(BatchItemStatus, slot.status),
                job=slot.job,
                job_id=slot.job_id,
                error=slot.error,
                cost_usd=slot.cost,
                idempotency_key=slot.key or None,
            )
            for slot in self._slots
        )
        return BatchResult(
            batch_id=self._state.batch_id,
            items=items,
            spent_usd=self._spent,
            elapsed=time.monotonic() - self._started,
            cost_limit_usd=self._cost_limit,
        )
