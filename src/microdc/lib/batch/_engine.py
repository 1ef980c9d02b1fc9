"""The batch engine behind :class:`~microdc.lib.batch.BatchRun` (see :mod:`microdc.lib.batch`).

Tasks, all in the caller's event loop, none holding more than a bounded number of inputs:

* the **feeder** pulls one input at a time, checks it against the state file,
  estimates and admits it under the cost limit, and queues it for the submitters
  (:mod:`._channel`; it waits while ``concurrency`` inputs are queued and as many
  submissions are in flight, or while the jobs being followed reach their limit:
  that is what keeps memory flat);
* ``concurrency`` **submitters** call ``jobs.create`` with the input's key;
* the **follower** takes the news of the client's job poller, which asks the list
  endpoint about the submitted jobs, 100 ids per request, until each one ends
  (``wait=True``; :mod:`._following`);
* the **writer** saves state rows in transactions of many rows, in a worker thread;
* the **ticker** reports progress;
* with ``response_model=``, a task per **re-ask** of an invalid reply (:mod:`._reasks`).

Finished items go to a bounded channel that ``async for item in run`` reads.
"""

from __future__ import annotations

import inspect
import logging
import contextlib
import collections
from typing import (
    TYPE_CHECKING,
    Any,
    Set,
    Dict,
    Deque,
    Union,
    Callable,
    Iterable,
    Optional,
    Awaitable,
    AsyncIterable,
    cast,
)

import anyio
import anyio.to_thread

from ... import _clock
from ._state import StateRow, BatchState, BatchStateError
from ._types import FINAL_STATUSES, BATCH_ITEM_STATUSES, BatchItem, BatchProgress, BatchItemStatus
from .._money import to_usd, to_picodollars
from ._budget import Budget
from ._inputs import Prepared, prepare, dumps_error, read_inputs
from ._reasks import Reasks
from ._submit import wait_to_fit, submit_reserved
from ._writer import RowWriter
from ._channel import Channel
from ._options import BatchOptions
from ._following import Followed, Following
from ..jobs._cost import PriceBook, cost_of
from ..._exceptions import APIError, MicroDCError, ConflictError, AuthenticationError
from ..jobs._poller import is_terminal

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ...types.job import Job
    from ..structured import OutputValidationError
    from ...resources.jobs import AsyncJobsResource

__all__ = ["Engine"]

log = logging.getLogger("microdc.batch")

PROGRESS_INTERVAL = 0.25
"""Seconds between two ``on_progress`` calls, at least (the final call excepted)."""
ROW_WINDOW = 4096
"""Input positions whose recorded rows are read from the state file at a time."""


class Engine:
    """One run of a batch (see the module docs); :class:`~microdc.lib.batch.BatchRun` drives it."""

    def __init__(
        self,
        jobs: AsyncJobsResource,
        inputs: Union[Iterable[object], AsyncIterable[object]],
        state: BatchState,
        send: Channel[BatchItem[Any]],
        options: BatchOptions,
        *,
        total: Optional[int],
        prices: Optional[PriceBook],
    ) -> None:
        self.jobs = jobs
        self.state = state
        self.batch_id = state.batch_id
        self.options = options
        self.budget = Budget(options.cost_limit_usd, spent=state.prior_spent, reserved=state.prior_reserved)
        self._inputs = inputs
        self._send = send
        self.wait = options.wait
        self.prices = prices
        self.reasks = (
            Reasks(self, options.response_model, options.max_reasks, options.concurrency)
            if options.response_model is not None
            else None
        )
        self.parse_errors = 0
        self.total = total
        self.counts: Dict[str, int] = dict.fromkeys(BATCH_ITEM_STATUSES, 0)
        self.read = 0
        self.settled_now = 0
        self.started = _clock.monotonic()
        self.ended: Optional[float] = None
        self.fatal: Optional[BaseException] = None
        self.stopping = False
        self.cancelled = False
        self._late: Deque[BatchItem[Any]] = collections.deque()  # items made after the channel closed (remote cancel)
        # Up to `concurrency` inputs wait, prepared, for a free submitter: one that finishes takes
        # the next at once, so each submission's garbage is freed as the next one is made (handed
        # over in bursts instead, the young-generation collections come ten times as often).
        self._to_submit = Channel[Prepared](options.concurrency)
        self.following = Following(
            jobs,
            poll_interval=options.poll_interval,
            limit=max(10_000, 100 * options.concurrency),
            guard=self._guard,
            ended=self._ended,
            lost=self._lost,
        )
        self._writer = RowWriter(state)
        self._estimates: Dict[int, int] = {}  # admitted inputs on their way to a submitter
        self._send_scopes: Set[anyio.CancelScope] = set()
        self._remote_cancel = False
        self._drop_queued = False
        self._row_window: Dict[int, StateRow] = {}
        self._window_end = -1
        self._changed = True
        self._feed_scope = anyio.CancelScope()
        self._background: Optional[TaskGroup] = None
        self.done = anyio.Event()

    # --- the run ------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with anyio.create_task_group() as background:
                self._background = background
                if self.options.on_progress is not None:  # nobody to tell: no timer waking the loop
                    background.start_soon(self._guard, self._ticker)
                background.start_soon(self._guard, self._writer.run)
                self.following.start(background)
                async with anyio.create_task_group() as submitters:
                    for _ in range(self.options.concurrency):
                        submitters.start_soon(self._guard, self._submitter)
                    try:
                        with self._feed_scope:
                            await self._guard(self._feed)
                    finally:
                        self._to_submit.close()
                if not self.stopping:
                    self.total = self.read  # every input was read
                await self._drain()
                if self._remote_cancel:
                    await self._guard(self._cancel_remote)
                background.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._finish()

    async def _finish(self) -> None:
        self.ended = _clock.monotonic()
        self._send.close()
        try:
            await self._writer.save()
        except Exception as exc:  # the state could not be saved: say so, once
            if self.fatal is None:
                self.fatal = exc
        finally:
            await anyio.to_thread.run_sync(self.state.close)
        with contextlib.suppress(Exception):
            await self._report(done=True)
        self.done.set()

    async def _drain(self) -> None:
        """Wait until every job followed has ended, and every re-ask they led to too."""
        await self.following.drain()
        while self.reasks is not None and self.reasks.pending and not self.stopping:
            await self.reasks.idle()
            await self.following.drain()

    def start_background(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` in a task of the run (its exception stops the run)."""
        assert self._background is not None
        self._background.start_soon(self._guard, work)

    async def _guard(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work``; its exception stops the run and is raised to the caller."""
        try:
            await work()
        except Exception as exc:
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        if self.fatal is None:
            self.fatal = exc
        if isinstance(exc, BatchStateError):
            self._writer.discard()  # the inputs are not the file's: leave it as it was
        # The inputs already read are sent, unless each would fail the same way or could not be saved.
        self.stop(send_queued=not isinstance(exc, (AuthenticationError, BatchStateError)))

    async def cancel(self, *, remote: bool) -> None:
        """``run.cancel()``: stop the run (``remote``: cancel its unfinished jobs on the server) and wait for it."""
        if not self.done.is_set():
            self.cancelled = True
            self.stop(remote=remote)
        await self.done.wait()

    def take_late(self) -> Optional[BatchItem[Any]]:
        """The next item made after the channel closed (remote cancel), if any."""
        return self._late.popleft() if self._late else None

    def stop(self, *, remote: bool = False, send_queued: bool = False) -> None:
        """Stop reading inputs and following jobs; submissions in flight finish and are saved.

        ``remote``: then cancel on the server every job the batch lists as unfinished.
        ``send_queued``: submit the inputs read and queued for the submitters too (by
        default they are not sent, and a re-run with the state file reads them again).
        """
        self._remote_cancel = self._remote_cancel or remote
        self.stopping = True
        self._drop_queued = self._drop_queued or not send_queued
        for item in () if send_queued else self._to_submit.drain():
            self.budget.release(self._estimates.pop(item.index, 0))
        for scope in self._send_scopes:
            scope.cancel()
        self._feed_scope.cancel()
        self.following.stop()
        if self.reasks is not None:
            self.reasks.stop()

    # --- reading and admitting ------------------------------------------------------------

    async def _feed(self) -> None:
        last_index = -1
        async with contextlib.aclosing(read_inputs(self._inputs, self.options.shard)) as inputs:
            async for index, raw in inputs:
                if self.stopping:  # (sending to the submitters does not yield, so say it here)
                    return
                last_index = index
                self.read += 1
                self._changed = True
                item = prepare(index, raw, self.options.defaults, self.batch_id, self.options.response_model)
                row = await self._recorded(index)
                if row is not None and row.params_hash != item.params_hash:
                    raise BatchStateError(
                        self.state.path,
                        f"input {index} differs from the one it records (submitted as {row.job_id or 'nothing'}): "
                        "the inputs changed",
                    )
                if self._writer.holding and index >= self.state.last_index:
                    self._writer.release()
                await self._dispatch(item, row)
        if self._writer.holding:
            raise BatchStateError(
                self.state.path,
                f"it records input {self.state.last_index}, but only {last_index + 1} input(s) were given",
            )

    async def _recorded(self, index: int) -> Optional[StateRow]:
        if index > self.state.last_index:
            return None
        if index > self._window_end:
            start = index
            self._window_end = index + ROW_WINDOW - 1
            self._row_window = await anyio.to_thread.run_sync(self.state.rows, start, self._window_end + 1)
        return self._row_window.pop(index, None)

    async def _dispatch(self, item: Prepared, row: Optional[StateRow]) -> None:
        if row is not None and row.job_id is not None and (row.status == "submitted" or is_terminal(row.status)):
            if self.wait:
                await self.following.until_room()
                counted = row.status != "submitted"
                estimate = to_picodollars(row.estimate_usd)
                if not counted:
                    self.budget.adopt(estimate)
                followed = Followed(item.index, item.key, item.params_hash, estimate, counted=counted)
                followed.prior_cost = to_picodollars(row.cost_usd)  # (a finished row's cost is the item's whole cost)
                if self.reasks is not None:
                    followed.params = item.params
                    followed.attempt = self.reasks.resumed_attempt(followed.prior_cost)
                self.following.add(row.job_id, followed, known=False)
            else:
                status = cast(BatchItemStatus, row.status)
                await self._emit(BatchItem(item.index, status, None, row.job_id, None, row.cost_usd, item.key))
            return
        if item.error is not None or item.params is None:
            error = item.error or ValueError(f"input {item.index} is not a job")
            await self._outcome(item, "error", error=error)
            return
        prior = to_picodollars(row.estimate_usd) if row is not None and row.maybe_created else None
        if await self._admit(item, prior) is not None:
            await self._to_submit.send(item)

    async def _admit(self, item: Prepared, prior: Optional[int]) -> Optional[int]:
        """Reserve the input's worst case (waiting for room); ``None`` when it was not admitted."""
        await self.following.until_room()
        budget = self.budget
        if prior is not None:  # an earlier run kept this worst case reserved: it carries over
            budget.adopt(prior)
            self._estimates[item.index] = prior
            return prior
        estimate = 0
        if self.prices is not None and budget.limited:
            assert item.params is not None
            try:
                worst = (await self.prices.estimate(item.params)).worst_case_usd
                estimate = to_picodollars(worst, "up")
            except AuthenticationError:
                raise
            except (MicroDCError, ValueError) as exc:
                await self._outcome(item, "error", error=exc)
                return None
            if not await wait_to_fit(budget, self.following, estimate):
                await self._outcome(item, "skipped_budget", estimate=estimate)
                return None
        budget.reserve(estimate)
        self._estimates[item.index] = estimate
        return estimate

    # --- submitting -----------------------------------------------------------------------

    async def _submitter(self) -> None:
        create = cast(Callable[..., Awaitable["Job"]], self.jobs.create)
        while True:
            try:
                item = await self._to_submit.receive()
            except anyio.EndOfStream:
                return
            if self._drop_queued:  # queued before the run stopped: not sent
                self.budget.release(self._estimates.pop(item.index, 0))
                continue
            await self._submit(create, item)

    async def _submit(self, create: Callable[..., Awaitable[Job]], item: Prepared) -> None:
        estimate = self._estimates.pop(item.index, 0)
        assert item.params is not None
        job, error, maybe_created = await submit_reserved(self.budget, create, item.params, item.key, estimate)
        if job is None:
            await self._outcome(
                item, "error", error=error, estimate=estimate if maybe_created else 0, maybe_created=maybe_created
            )
            return
        self.record(StateRow(item.index, item.params_hash, "submitted", job.id, 0.0, to_usd(estimate)))
        if self.wait:
            params = item.params if self.reasks is not None else None
            followed = Followed(item.index, item.key, item.params_hash, estimate, counted=False, params=params)
            self.following.add(job.id, followed, known=True)
        else:
            self.budget.keep(estimate)
            await self._emit(BatchItem(item.index, "submitted", job, job.id, None, 0.0, item.key))

    # --- following ------------------------------------------------------------------------

    async def _ended(self, followed: Followed, job: Job) -> None:
        cost = cost_of(job)
        if not followed.counted:
            self.budget.settle(followed.estimate, cost)
        self.following.take(job.id)
        # The item's cost (picodollars): its earlier jobs' and this one's; a finished row read back records it whole.
        this = to_picodollars(cost)
        total = max(followed.prior_cost, this) if followed.counted else followed.prior_cost + this
        parsed: Any = None
        parse_error: Optional[OutputValidationError] = None
        if self.reasks is not None and job.status == "completed":
            parsed, parse_error, reask = self.reasks.parse(followed, job, total)
            if reask is not None:
                self.reasks.start(followed, job, total, reask)
                return
        await self.settle_item(followed, job, total, parsed=parsed, parse_error=parse_error)

    async def settle_item(
        self,
        followed: Followed,
        job: Job,
        total: int,
        *,
        parsed: Any = None,
        parse_error: Optional[OutputValidationError] = None,
        maybe_created: Optional[int] = None,
    ) -> None:
        """An item is done with its last job, its jobs having cost ``total`` (picodollars): record its
        row, count it, hand it out.

        ``maybe_created``: the worst case of a re-ask whose answer was lost (it stays reserved).
        """
        status = cast(BatchItemStatus, job.status)
        estimate = followed.estimate if maybe_created is None else maybe_created
        cost_usd = to_usd(total)
        self.record(
            StateRow(
                followed.index,
                followed.params_hash,
                status,
                job.id,
                cost_usd,
                to_usd(estimate),
                maybe_created is not None,
            )
        )
        if parse_error is not None:
            self.parse_errors += 1
        await self._emit(
            BatchItem(followed.index, status, job, job.id, None, cost_usd, followed.key, parsed, parse_error)
        )

    async def _lost(self, job_id: str, followed: Followed, error: Exception) -> None:
        """A job that can no longer be followed: an error item; its row stays ``submitted``."""
        if not followed.counted:
            self.budget.keep(followed.estimate)
        self.following.take(job_id)
        cost_usd = to_usd(followed.prior_cost)  # what the item's earlier jobs cost (re-asks of a reply)
        await self._emit(BatchItem(followed.index, "error", None, job_id, error, cost_usd, followed.key))

    # --- outcomes, rows, progress -----------------------------------------------------------

    async def _outcome(
        self,
        item: Prepared,
        status: BatchItemStatus,
        *,
        error: Optional[Exception] = None,
        estimate: int = 0,
        maybe_created: bool = False,
    ) -> None:
        text = dumps_error(error) if error is not None else None
        self.record(StateRow(item.index, item.params_hash, status, None, 0.0, to_usd(estimate), maybe_created, text))
        await self._emit(BatchItem(item.index, status, None, None, error, 0.0, item.key or None))

    async def _emit(self, item: BatchItem[Any]) -> None:
        self.counts[item.status] += 1
        self.settled_now += 1
        self._changed = True
        if self.stopping:
            self._late.append(item)  # never block a stopping run on a reader
            return
        try:
            self._send.send_nowait(item)  # room in the buffer: no need to wait
            return
        except anyio.WouldBlock:
            pass
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # nobody reads the items any more (the run was left early)
        with anyio.CancelScope() as scope:
            self._send_scopes.add(scope)
            try:
                await self._send.send(item)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # nobody reads the items any more (the run was left early)
            finally:
                self._send_scopes.discard(scope)
        if scope.cancelled_caught:
            self._late.append(item)

    def record(self, row: StateRow) -> None:
        self._writer.record(row)

    async def _ticker(self) -> None:
        while True:
            await _clock.sleep(PROGRESS_INTERVAL)
            if self._changed:
                await self._report()

    async def _report(self, *, done: bool = False) -> None:
        self._changed = False
        on_progress = self.options.on_progress
        if on_progress is None:
            return
        result = on_progress(self.progress(done=done))
        if inspect.isawaitable(result):
            await result

    def progress(self, *, done: bool = False) -> BatchProgress:
        counts = self.counts
        end = self.ended if self.ended is not None else _clock.monotonic()
        elapsed = max(0.0, end - self.started)
        finished = sum(counts[status] for status in FINAL_STATUSES)
        submitted = self.following.count if self.wait else counts["submitted"]
        base = self.total if self.total is not None else self.read
        return BatchProgress(
            total=self.total,
            pending=max(0, base - finished - submitted),
            submitted=submitted,
            completed=counts["completed"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            error=counts["error"],
            skipped_budget=counts["skipped_budget"],
            spent_usd=self.budget.spent_usd,
            cost_limit_usd=self.budget.limit_usd,
            elapsed=elapsed,
            rate=self.settled_now / elapsed if elapsed > 0 else 0.0,
            wait=self.wait,
            done=done,
        )

    # --- cancelling on the server -------------------------------------------------------------

    async def _cancel_remote(self) -> None:
        """Cancel every job the state lists as unfinished; followed ones become ``cancelled`` items."""
        await self._writer.save()
        after = -1
        limiter = anyio.CapacityLimiter(self.options.concurrency)
        while True:
            rows = await anyio.to_thread.run_sync(self.state.unfinished, after, 1000)
            if not rows:
                return
            after = rows[-1].idx
            async with anyio.create_task_group() as group:
                for row in rows:
                    group.start_soon(self._cancel_one, row, limiter)
            await self._writer.save()

    async def _cancelled_or_ended(self, job_id: str) -> Job:
        """The job cancelled on the server; or, when it ended meanwhile (409), as it ended."""
        try:
            return await self.jobs.cancel(job_id)
        except ConflictError:
            return await self.jobs.retrieve(job_id)

    async def _cancel_one(self, row: StateRow, limiter: anyio.CapacityLimiter) -> None:
        assert row.job_id is not None
        async with limiter:
            try:
                job = await self._cancelled_or_ended(row.job_id)
            except AuthenticationError:
                raise
            except APIError as exc:  # say so, go on: a re-run with the state file follows it again
                log.info("batch %s: could not cancel %s: %s", self.batch_id, row.job_id, exc)
                return
        cost = cost_of(job)
        status = cast(BatchItemStatus, job.status if is_terminal(job.status) else "cancelled")
        # A re-ask's row holds what the earlier jobs of its input cost: the item's cost adds this one's.
        total = to_usd(to_picodollars(row.cost_usd) + to_picodollars(cost))
        self.record(row._replace(status=status, cost_usd=total))
        followed = self.following.take(job.id)
        if followed is None:  # not followed by this run: its item was made already, or by an earlier run
            return
        if not followed.counted:
            self.budget.settle(followed.estimate, cost)
        self.counts[status] += 1
        self._late.append(BatchItem(followed.index, status, job, job.id, None, total, followed.key))
