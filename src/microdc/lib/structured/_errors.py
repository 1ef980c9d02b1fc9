"""``OutputValidationError``: a model's reply did not validate as the response model, re-asks included."""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from pydantic_core import ErrorDetails

from ..._exceptions import MicroDCError

if TYPE_CHECKING:
    from ...types.job import Job

__all__ = ["OutputValidationError"]


class OutputValidationError(MicroDCError):
    """The reply of a structured call is not a valid ``response_model``, after every re-ask.

    ``job`` is the last job (whose reply failed), ``text`` its reply, ``errors``
    pydantic's validation errors of that reply (``ValidationError.errors()``: each
    with ``loc``, ``msg``, ``type``), ``attempts`` how many jobs were run (1 plus the
    re-asks), ``cost_usd`` what they cost together. A conversation's history is left
    as it was before the turn.
    """

    job: Job
    text: str
    errors: List[ErrorDetails]
    attempts: int
    cost_usd: float

    def __init__(
        self, message: str, *, job: Job, text: str, errors: List[ErrorDetails], attempts: int, cost_usd: float = 0.0
    ) -> None:
        super().__init__(message)
        self.job = job
        self.text = text
        self.errors = errors
        self.attempts = attempts
        self.cost_usd = cost_usd


OutputValidationError.__module__ = "microdc"
