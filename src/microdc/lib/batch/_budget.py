"""The cost limit of a batch: admit an input only if its worst case fits.

Amounts are kept as whole picodollars (``int``), so the sum of reservations and
releases never drifts the way float additions and subtractions do: an estimate is
rounded up, a limit down, and what is admitted never adds up past the limit.

* ``spent``: what finished jobs cost (their ``usage.cost_usd``, rounded up);
* ``reserved``: the worst cases of jobs that may still cost something — being
  submitted, running, submitted without waiting (``wait=False``), or lost on the way
  (a submission whose answer never came may have made a job);
* ``live``: how many of those reservations this run will settle, i.e. how many
  could still free room. Waiting for room only makes sense while ``live > 0``.
"""

from __future__ import annotations

import math
from typing import Optional

import anyio

__all__ = ["UNITS_PER_USD", "Budget", "to_units"]

UNITS_PER_USD = 10**12


def to_units(usd: float, *, up: bool = True) -> int:
    """``usd`` in picodollars, rounded up (costs, estimates) or down (limits)."""
    scaled = usd * UNITS_PER_USD
    return math.ceil(scaled) if up else math.floor(scaled)


class Budget:
    """Spend and reservations against an optional limit (``None``: no limit, only bookkeeping)."""

    def __init__(self, limit_usd: Optional[float], *, spent_usd: float = 0.0, reserved_usd: float = 0.0) -> None:
        self.limit_usd = limit_usd
        self._limit = None if limit_usd is None else to_units(limit_usd, up=False)
        self.spent_usd = spent_usd
        self._spent = to_units(spent_usd)
        self._reserved = to_units(reserved_usd)
        self.live = 0
        self._live_units = 0  # the estimates of the live reservations
        self._changed = anyio.Event()

    @property
    def limited(self) -> bool:
        return self._limit is not None

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
        self._spent += to_units(cost_usd)
        self.spent_usd += cost_usd
        self._drop(estimate)

    def release(self, estimate: int) -> None:
        """A submission was refused: no job, nothing to pay."""
        self._reserved -= estimate
        self._drop(estimate)

    def keep(self, estimate: int) -> None:
        """A job this run will not follow (``wait=False``, or lost): its estimate stays reserved."""
        self._drop(estimate)

    def count_spent(self, cost_usd: float) -> None:
        """A job an earlier run reserved nothing for ended (its cost is new spend)."""
        self._spent += to_units(cost_usd)
        self.spent_usd += cost_usd
        self._notify()

    def _drop(self, estimate: int) -> None:
        self._live_units -= estimate
        self.live -= 1
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def changed(self) -> None:
        """Return after the next reservation settles or is released."""
        await self._changed.wait()
