"""The cost limit of a batch: admit an input only if its worst case fits.

Amounts are kept as whole picodollars (``int``, :mod:`microdc.lib._money`), so the sum
of reservations and releases never drifts the way float additions and subtractions
do: an estimate is rounded up, a limit down, and what is admitted never adds up past
the limit; what the batch reports (``spent_usd``) is the exact sum.

* ``spent``: what finished jobs cost (their ``usage.cost_usd``);
* ``reserved``: the worst cases of jobs that may still cost something — being
  submitted, running, submitted without waiting (``wait=False``), or lost on the way
  (a submission whose answer never came may have made a job);
* ``live``: how many of those reservations this run will settle, i.e. how many
  could still free room. Waiting for room only makes sense while ``live > 0``.
"""

from __future__ import annotations

from typing import Optional

import anyio

from .._money import to_usd, to_picodollars

__all__ = ["Budget"]


class Budget:
    """Spend and reservations (picodollars) against an optional limit (``None``: no limit, only bookkeeping)."""

    def __init__(self, limit_usd: Optional[float], *, spent: int = 0, reserved: int = 0) -> None:
        self.limit_usd = limit_usd
        self._limit = None if limit_usd is None else to_picodollars(limit_usd, "down")
        self._spent = spent
        self._reserved = reserved
        self.live = 0
        self._live_units = 0  # the estimates of the live reservations
        self._changed: Optional[anyio.Event] = None  # made only while someone waits for room

    @property
    def limited(self) -> bool:
        return self._limit is not None

    @property
    def spent_usd(self) -> float:
        """What finished jobs cost, exactly (the nearest float to the sum of their costs)."""
        return to_usd(self._spent)

    def fits(self, estimate: int) -> bool:
        """Whether spend + reservations + ``estimate`` stay within the limit."""
        return self._limit is None or self._spent + self._reserved + estimate <= self._limit

    def could_fit(self, estimate: int) -> bool:
        """Whether ``estimate`` would fit once every live reservation settled at no cost."""
        return self._limit is None or self._spent + self._reserved - self._live_units + estimate <= self._limit

    def reserve(self, estimate: int) -> None:
        """Hold ``estimate`` for a job about to be submitted (this run settles it)."""
        self._reserved += estimate
        self._live_units += estimate
        self.live += 1

    def adopt(self, estimate: int) -> None:
        """Take over a reservation an earlier run left (already counted in ``reserved``)."""
        self._live_units += estimate
        self.live += 1

    def settle(self, estimate: int, cost_usd: float) -> None:
        """A job ended: its actual cost replaces its estimate."""
        self._reserved -= estimate
        self._spent += to_picodollars(cost_usd)
        self._drop(estimate)

    def release(self, estimate: int) -> None:
        """A submission was refused: no job, nothing to pay."""
        self._reserved -= estimate
        self._drop(estimate)

    def keep(self, estimate: int) -> None:
        """A job this run will not follow (``wait=False``, or lost): its estimate stays reserved."""
        self._drop(estimate)

    def _drop(self, estimate: int) -> None:
        self._live_units -= estimate
        self.live -= 1
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    async def changed(self) -> None:
        """Return after the next reservation settles or is released."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()
