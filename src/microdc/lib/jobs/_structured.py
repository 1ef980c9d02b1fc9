"""Structured turns: a job whose reply must validate as a response model, re-asked until it does.

``jobs.ask`` and ``Conversation.send`` with ``response_model=`` hand their first job's
parameters (the instruction added) to :func:`until_valid` with a ``run`` function
that submits one job, waits for it, pays for it and returns its reply. An invalid
reply is re-asked (:func:`microdc.lib.structured.reask_params`) up to ``max_reasks``
times; each re-ask goes through ``run`` like the first job, so it is checked
against the budget before it is sent and its cost is counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Callable, Awaitable

from pydantic_core import ErrorDetails

from ._ask import completed_text
from ._cost import cost_of
from .._money import to_usd, to_picodollars
from ..._types import MutationRequestOptions
from ..structured import OutputValidationError, reask_params, validate_reply, describe_errors

if TYPE_CHECKING:
    from ...types.job import Job

__all__ = [
    "RunAttempt",
    "check_max_reasks",
    "output_error",
    "parse_job",
    "reask_options",
    "until_valid",
]

RunAttempt = Callable[[Dict[str, Any], int], Awaitable[Tuple["Job", str]]]
"""Runs attempt ``n`` (1 is the first job) of a structured turn: its completed Job and reply text."""


def check_max_reasks(max_reasks: object) -> int:
    if isinstance(max_reasks, bool) or not isinstance(max_reasks, int):
        raise TypeError(f"max_reasks must be a whole number, got {type(max_reasks).__name__}.")
    if max_reasks < 0:
        raise ValueError(f"max_reasks must be >= 0 (0: never re-ask), got {max_reasks}.")
    return max_reasks


def reask_options(options: MutationRequestOptions, attempt: int) -> MutationRequestOptions:
    """The request options of attempt ``attempt``: a caller's idempotency key gets a suffix per re-ask.

    A re-ask is another job, so it must not reuse the first job's key (the server
    would replay the first job, or refuse a different body under the same key).
    """
    key = options.get("idempotency_key")
    if attempt == 1 or not isinstance(key, str):
        return options
    return {**options, "idempotency_key": f"{key}-reask-{attempt - 1}"}


def _type_name(response_model: object) -> str:
    return response_model.__name__ if isinstance(response_model, type) else repr(response_model)


def output_error(
    response_model: object,
    job: Job,
    text: str,
    errors: List[ErrorDetails],
    *,
    attempts: int,
    cost_usd: float,
    not_reasked: str = "",
) -> OutputValidationError:
    """The error for a reply that did not validate; ``not_reasked`` says why it was not re-asked, if it could have been."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts (1 + {attempts - 1} re-asks)"
    hint = (
        f"It was not re-asked: {not_reasked}."
        if not_reasked
        else "Raise max_reasks, set a larger max_tokens, or make the prompt clearer."
    )
    return OutputValidationError(
        f"The reply of job {job.id} on {job.model} is not a valid {_type_name(response_model)} after {tries}:\n"
        f"{describe_errors(errors)}\n"
        f"The reply is in .text. {hint}",
        job=job,
        text=text,
        errors=errors,
        attempts=attempts,
        cost_usd=cost_usd,
    )


async def until_valid(
    first: Dict[str, Any], response_model: object, max_reasks: int, run: RunAttempt
) -> Tuple[Any, Job, str]:
    """Run ``first`` (its instruction included), re-asking invalid replies: ``(value, job, reply text)``.

    Raises :class:`OutputValidationError` after the last re-ask, and what ``run``
    raises (``BudgetExceededError`` before a re-ask that could pass a budget,
    ``JobFailedError`` for a job that failed).
    """
    params = first
    cost = 0  # picodollars: what the attempts cost, summed exactly
    attempt = 1
    while True:
        job, text = await run(params, attempt)
        cost += to_picodollars(cost_of(job))
        value, errors = validate_reply(text, response_model)
        if errors is None:
            return value, job, text
        if attempt > max_reasks:
            raise output_error(response_model, job, text, errors, attempts=attempt, cost_usd=to_usd(cost))
        params, attempt = reask_params(first, text, errors), attempt + 1


def parse_job(job: Job, response_model: object) -> Any:
    """The body of ``jobs.parse``: the reply of a completed ``llm_complete``/``llm_chat`` job, validated."""
    if job.type not in ("llm_complete", "llm_chat"):
        raise ValueError(f"Job {job.id} is an {job.type} job; parse reads the reply of llm_complete and llm_chat jobs.")
    if job.status in ("queued", "running"):
        raise ValueError(f"Job {job.id} is {job.status}: wait for it (client.jobs.wait) before parsing its reply.")
    text = completed_text(job)  # JobFailedError for a failed or cancelled job
    value, errors = validate_reply(text, response_model)
    if errors is not None:
        raise output_error(response_model, job, text, errors, attempts=1, cost_usd=cost_of(job))
    return value
