"""Saving a batch's state rows: gathered in the event loop, written in a worker thread.

Rows are written in one transaction per save: when :data:`WRITE_BATCH` have gathered,
or :data:`SAVE_INTERVAL` seconds after the first row of a save came, and at the end. A resumed run
*holds* its rows until it has checked every input the file records (up to
:data:`HOLD_LIMIT` rows), so a file written for other inputs is refused untouched.
"""

from __future__ import annotations

from typing import List

import anyio
import anyio.to_thread

from ... import _clock
from ._state import StateRow, BatchState

__all__ = ["HOLD_LIMIT", "SAVE_INTERVAL", "WRITE_BATCH", "RowWriter"]

SAVE_INTERVAL = 0.5
"""Seconds between two writes of the state file, at most, while rows wait to be saved."""
WRITE_BATCH = 2000
"""Rows that make the writer save at once."""
HOLD_LIMIT = 100_000
"""Rows a resumed run keeps unsaved at most while it checks the inputs the file records."""


class RowWriter:
    def __init__(self, state: BatchState) -> None:
        self._state = state
        self._rows: List[StateRow] = []
        self._lock = anyio.Lock()
        self._now = anyio.Event()
        self._some = anyio.Event()  # set when a row comes to an empty list
        self.holding = state.resumed
        self._discarding = False

    def record(self, row: StateRow) -> None:
        if not self._rows:
            self._some.set()
        self._rows.append(row)
        if len(self._rows) >= WRITE_BATCH:
            self._now.set()

    def release(self) -> None:
        """The inputs the file records were all checked: save as usual from now on."""
        self.holding = False
        self._now.set()

    def discard(self) -> None:
        """The inputs are not the file's: never write this run's rows."""
        self._discarding = True

    async def run(self) -> None:
        """Save now and then until cancelled (with nothing to save, no timer wakes the loop)."""
        while True:
            if not self._rows:
                self._some = anyio.Event()
                await self._some.wait()
            await self._wait()
            if not self.holding or len(self._rows) >= HOLD_LIMIT:
                await self.save()

    async def _wait(self) -> None:
        async with anyio.create_task_group() as group:

            async def timer() -> None:
                await _clock.sleep(SAVE_INTERVAL)
                group.cancel_scope.cancel()

            async def signal() -> None:
                await self._now.wait()
                group.cancel_scope.cancel()

            group.start_soon(timer)
            group.start_soon(signal)
        self._now = anyio.Event()

    async def save(self) -> None:
        """Write the rows gathered so far, in a worker thread, in the order they came."""
        async with self._lock:
            if self._discarding:
                self._rows.clear()
                return
            while self._rows:
                rows, self._rows = self._rows, []
                with anyio.CancelScope(shield=True):  # rows taken are rows written, even when cancelled
                    await anyio.to_thread.run_sync(self._state.write, rows)
