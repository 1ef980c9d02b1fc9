"""Amounts of money, kept as whole picodollars (10⁻¹² USD) so that sums never drift.

Float additions drift: ``0.00075 + 0.0015`` is not ``0.00225``, and a batch that added
up a thousand costs reported ``0.0022499999999999955``. Every amount the SDK adds up
(a batch's spend and reservations, a conversation's cost, a budget) is held as an
``int`` of picodollars instead, and shown in dollars only when reported, as the float
nearest to the exact sum. An amount read from the API is taken at the decimal it was
written as (the shortest one that reads back as the same float), so ``0.00075``
is exactly 750,000,000 picodollars.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from typing_extensions import Literal

__all__ = ["PICODOLLARS_PER_USD", "exact", "to_picodollars", "to_usd"]

PICODOLLARS_PER_USD = 10**12

_ROUNDING = {"nearest": ROUND_HALF_EVEN, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def exact(amount: float) -> Decimal:
    """The decimal ``amount`` was written as: the shortest one that reads back as the same float."""
    if not math.isfinite(amount):
        raise ValueError(f"an amount of money must be a finite number, got {amount!r}")
    return Decimal(repr(float(amount)))


def to_picodollars(usd: float, rounding: Literal["nearest", "up", "down"] = "nearest") -> int:
    """``usd`` in whole picodollars: exact for any amount given to 12 decimals or fewer.

    ``up`` for worst cases (never below), ``down`` for limits (never above).
    """
    return int(exact(usd).scaleb(12).to_integral_value(rounding=_ROUNDING[rounding]))


def to_usd(picodollars: int) -> float:
    """Picodollars as US dollars: the float nearest to the exact amount."""
    return picodollars / PICODOLLARS_PER_USD
