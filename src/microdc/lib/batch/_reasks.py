"""Structured batches (``batch(..., response_model=T)``): each completed job's reply is
validated, and an invalid one is re-asked as a single call would re-ask it.

A re-ask is a job of its own: the item's first parameters (instruction included),
the reply and its validation errors (:func:`microdc.lib.structured.reask_params`),
sent with the key ``<item key>-reask-<n>`` (so a resumed run replays it rather than
sending it twice). Like any input it is admitted only if its worst case fits in
the cost limit (waiting while jobs in flight may still free room), and then it is
followed like the others; the item comes out when a reply validates, when the
re-asks are used up, or when a re-ask cannot be sent — then with ``parse_error``.

Each re-ask runs in a task of its own (never in the poller that saw the reply: a
re-ask waiting for room must not hold up the jobs that would make room), at most
``concurrency`` of them sending at a time.

A resumed run parses the replies it finds again; it re-asks the reply of a first
job, but not that of a re-ask an earlier run sent (it cannot tell how many re-asks
that run made), so resuming never makes more than ``max_reasks`` re-asks per input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Set, Dict, List, Tuple, Callable, Optional, Awaitable, cast

import anyio
from pydantic_core import ErrorDetails

from ._state import StateRow
from .._money import to_usd, to_picodollars
from ._submit import wait_to_fit, submit_reserved
from ..jobs._ask import completed_text
from ._following import Followed
from ..structured import OutputValidationError, reask_params, validate_reply
from ..._exceptions import MicroDCError, AuthenticationError
from ..jobs._errors import JobFailedError
from ..jobs._structured import output_error

if TYPE_CHECKING:
    from ._engine import Engine
    from ...types.job import Job

__all__ = ["Reasks"]


class Reasks:
    """Parses replies for an :class:`Engine` and re-asks invalid ones."""

    def __init__(self, engine: Engine, response_model: object, max_reasks: int, concurrency: int) -> None:
        self.engine = engine
        self.response_model = response_model
        self.max_reasks = max_reasks
        self.pending = 0
        """Re-asks being admitted or sent (not followed yet)."""
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._idle = anyio.Event()
        self._scopes: Set[anyio.CancelScope] = set()

    def resumed_attempt(self, prior_cost: int) -> int:
        """The attempt a job recorded by an earlier run counts as: a re-ask (it has earlier costs) is the last."""
        return 1 if prior_cost == 0 else self.max_reasks + 1

    def parse(
        self, followed: Followed, job: Job, total: int
    ) -> Tuple[Any, Optional[OutputValidationError], Optional[Dict[str, Any]]]:
        """``(parsed, None, None)``, ``(None, error, None)`` or ``(None, None, the re-ask's parameters)``.

        ``total``: what the item's jobs cost so far, in picodollars (as everywhere below).
        """
        try:
            text = completed_text(job)
        except JobFailedError:  # completed, but without a reply (not a job with text output)
            text = ""
        value, errors = validate_reply(text, self.response_model)
        if errors is None:
            return value, None, None
        if followed.counted or followed.params is None or followed.attempt > self.max_reasks or self.engine.stopping:
            return None, self._error(followed, job, text, errors, total), None
        return None, None, reask_params(followed.params, text, errors)

    def _error(
        self, followed: Followed, job: Job, text: str, errors: List[ErrorDetails], total: int, why: str = ""
    ) -> OutputValidationError:
        return output_error(
            self.response_model, job, text, errors, attempts=followed.attempt, cost_usd=to_usd(total), not_reasked=why
        )

    def start(self, followed: Followed, job: Job, total: int, params: Dict[str, Any]) -> None:
        """Re-ask ``job``'s reply in a task of its own (the item is settled there)."""
        if not self.pending:
            self._idle = anyio.Event()
        self.pending += 1
        self.engine.start_background(lambda: self._reask(followed, job, total, params))

    async def idle(self) -> None:
        """Wait until no re-ask is being admitted or sent."""
        if self.pending:
            await self._idle.wait()

    def stop(self) -> None:
        for scope in self._scopes:
            scope.cancel()

    async def _reask(self, followed: Followed, job: Job, total: int, params: Dict[str, Any]) -> None:
        try:
            why, kept = await self._send(followed, total, params)
            if why:
                text = completed_text(job)
                _, errors = validate_reply(text, self.response_model)
                parse_error = self._error(followed, job, text, errors or [], total, why)
                await self.engine.settle_item(followed, job, total, parse_error=parse_error, maybe_created=kept)
        finally:
            self.pending -= 1
            if not self.pending:
                self._idle.set()

    async def _send(self, followed: Followed, total: int, params: Dict[str, Any]) -> Tuple[str, Optional[int]]:
        """Admit and submit the re-ask, and follow its job.

        ``("", None)`` once it is followed; else what stopped it, and the worst case
        kept reserved when a job may have been made all the same (a lost answer).
        """
        engine = self.engine
        estimate: Optional[int] = None
        with anyio.CancelScope() as scope:  # stop() cancels the wait for room
            self._scopes.add(scope)
            try:
                estimate = await self._admit(params)
            except AuthenticationError:
                raise
            except (MicroDCError, ValueError) as exc:
                return f"its cost could not be bounded ({exc})", None
            finally:
                self._scopes.discard(scope)
        if scope.cancelled_caught or engine.stopping:
            if estimate is not None:
                engine.budget.release(estimate)
            return "the batch stopped first", None
        if estimate is None:
            return "its worst case does not fit in the cost limit", None
        create = cast(Callable[..., Awaitable["Job"]], engine.jobs.create)
        async with self._limiter:
            key = f"{followed.key}-reask-{followed.attempt}"
            reask, error, maybe_created = await submit_reserved(engine.budget, create, params, key, estimate)
        if reask is None:
            return f"its submission failed ({error})", estimate if maybe_created else None
        # A submitted row's cost is what the input's earlier jobs cost (a resumed run counts it spent).
        row = StateRow(followed.index, followed.params_hash, "submitted", reask.id, to_usd(total), to_usd(estimate))
        engine.record(row)
        next_try = Followed(
            followed.index,
            followed.key,
            followed.params_hash,
            estimate,
            counted=False,
            params=followed.params,
            attempt=followed.attempt + 1,
            prior_cost=total,
        )
        engine.following.add(reask.id, next_try, known=True)
        return "", None

    async def _admit(self, params: Dict[str, Any]) -> Optional[int]:
        """Reserve the re-ask's worst case, waiting while it could still fit; ``None`` when it cannot."""
        engine = self.engine
        estimate = 0
        if engine.prices is not None and engine.budget.limited:
            estimate = to_picodollars((await engine.prices.estimate(params)).worst_case_usd, "up")
        if not await wait_to_fit(engine.budget, engine.following, estimate):
            return None
        engine.budget.reserve(estimate)
        return estimate
