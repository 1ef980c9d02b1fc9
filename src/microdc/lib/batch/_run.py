"""``BatchRun``: what ``client.jobs.batch(...)`` returns — a running batch to iterate, watch, wait for or cancel."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Type, Union, Generic, Mapping, Iterable, Optional, AsyncIterable, cast

import anyio
import anyio.to_thread
from typing_extensions import Self

from ._state import BatchState
from ._types import T, BatchItem, BatchSummary, BatchProgress
from ._engine import Engine
from ._inputs import expected_total
from ._channel import Channel
from ._options import BatchOptions
from ..jobs._cost import price_book

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ...resources.jobs import AsyncJobsResource

__all__ = ["BatchRun"]

ITEM_BUFFER = 256
"""Finished items waiting for the reader, at most (then the run waits for it)."""


class BatchRun(Generic[T]):
    """A batch of jobs, run as it is read. Use it as an async context manager::

        async with client.jobs.batch(inputs, state_file="run.sqlite3") as run:
            async for item in run:  # each input's BatchItem, as it finishes
                ...
            print(run.progress)

    or just ``summary = await client.jobs.batch(inputs).wait()``. With
    ``response_model=T`` it is a ``BatchRun[T]``: each item's ``parsed`` is a ``T``.

    Leaving the ``async with`` block before the run ended stops it (as
    ``cancel()`` does: nothing more is submitted, the state is saved); an
    exception from the run (an ``AuthenticationError``, an input iterator that
    raised, a ``BatchStateError``) is raised by the iteration, by :meth:`wait`, or
    when the block ends.
    """

    def __init__(
        self,
        jobs: AsyncJobsResource,
        inputs: Union[Iterable[Any], AsyncIterable[Any]],
        options: BatchOptions,
    ) -> None:
        if isinstance(inputs, (str, bytes, Mapping)):
            raise TypeError(
                "jobs must be an iterable of jobs (dicts or builders), not a single "
                + type(cast(object, inputs)).__name__
            )
        self._jobs = jobs
        self._inputs = inputs
        self._options = options
        self._engine: Optional[Engine] = None
        self._group: Optional[TaskGroup] = None
        self._items: Optional[Channel[BatchItem[Any]]] = None
        self._entered = False
        self._raised = False

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a BatchRun runs once; call client.jobs.batch(...) again for another run")
        self._entered = True
        options = self._options
        state = await anyio.to_thread.run_sync(BatchState.open, options.state_file, options.batch_id)
        shard = options.shard
        if shard is not None and shard[1] > 1 and not state.resumed and options.batch_id is None:
            await anyio.to_thread.run_sync(state.close)
            raise ValueError(
                "a shard needs batch_id=: every shard must use the batch id (and so the keys) a single run would use"
            )
        # A length hint may read a file (the CLI's counts its lines): not in the event loop.
        total = await anyio.to_thread.run_sync(expected_total, self._inputs, shard)
        self._items = Channel[BatchItem[Any]](ITEM_BUFFER)
        prices = price_book(self._jobs._client) if options.cost_limit_usd is not None else None
        self._engine = Engine(self._jobs, self._inputs, state, self._items, options, total=total, prices=prices)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._engine.run)
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Optional[bool]:
        engine, group = self._engine, self._group
        assert engine is not None
        assert group is not None
        assert self._items is not None
        if not engine.done.is_set():
            engine.stop()  # left early: stop submitting, save the state
        self._items.close_receiving()
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            await group.__aexit__(exc_type, exc, traceback)  # cancelled: the engine is too (it saves first)
        else:
            # An error in the block is the caller's to see as it is (not in an exception
            # group): the engine, told to stop, winds down and saves its state first.
            await group.__aexit__(None, None, None)
        if exc is None and engine.fatal is not None and not self._raised:
            self._raised = True
            raise engine.fatal
        return None

    # --- reading --------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BatchItem[T]:
        engine, items = self._engine, self._items
        if engine is None or items is None:
            raise RuntimeError(
                "iterate a batch inside `async with client.jobs.batch(...) as run:` (or call `await run.wait()`)"
            )
        try:
            return await items.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        await engine.done.wait()
        late = engine.take_late()
        if late is not None:
            return late
        if engine.fatal is not None and not self._raised:
            self._raised = True
            raise engine.fatal
        raise StopAsyncIteration

    @property
    def batch_id(self) -> str:
        """The batch id (known once the run started: from the state file, ``batch_id=`` or a new one)."""
        if self._engine is None:
            raise RuntimeError("the batch id is known once the run has started (inside `async with`)")
        return self._engine.batch_id

    @property
    def progress(self) -> BatchProgress:
        """Where the run stands now."""
        if self._engine is None:
            raise RuntimeError("a batch has progress once it has started (inside `async with`)")
        return self._engine.progress(done=self._engine.done.is_set())

    async def wait(self) -> BatchSummary:
        """Run to the end (reading and dropping the items not read yet) and return the summary."""
        if not self._entered:
            async with self:
                return await self.wait()
        async for _ in self:
            pass
        return self.summary()

    def summary(self) -> BatchSummary:
        """The counts, spend and time so far (final once the run ended)."""
        engine = self._engine
        if engine is None:
            raise RuntimeError("a batch has a summary once it has started (inside `async with`)")
        progress = engine.progress(done=engine.done.is_set())
        return BatchSummary(
            batch_id=engine.batch_id,
            counts=dict(engine.counts),
            spent_usd=engine.budget.spent_usd,
            elapsed=progress.elapsed,
            cost_limit_usd=engine.budget.limit_usd,
            cancelled_run=engine.cancelled,
            parse_errors=engine.parse_errors,
        )

    async def cancel(self, *, remote: bool = False) -> None:
        """Stop submitting and wait until the run has stopped (its state saved).

        ``remote=True`` also cancels on the server every job of the batch the state
        lists as unfinished (those of this run and of earlier runs with the same
        ``state_file``); the followed ones come out of the iteration as ``cancelled``
        items. Items already finished can still be read.
        """
        engine = self._engine
        if engine is None:
            raise RuntimeError("only a started batch can be cancelled (inside `async with`)")
        await engine.cancel(remote=remote)
