"""``jobs.ask``: one prompt in, the reply's text out; and what conversations share with it.

Every turn (an ``ask``, a conversation's ``send`` or ``stream``) goes the same way:

1. check the input before anything is sent: an empty prompt raises ``ValueError``,
   a model the API does not know raises its ``NotFoundError`` (404), a model that
   serves no such job raises ``ValueError`` (:func:`require_model`: one
   ``models.retrieve`` per model and client, shared with ``estimate_cost``);
2. with a budget, ask ``jobs.estimate_cost`` for the turn's worst case and raise
   ``BudgetExceededError`` if the spend so far plus that could pass the limit;
3. submit the job and wait for it; if the caller stops waiting (the task is
   cancelled, the wait fails) the job is cancelled on the server
   (:func:`cancel_abandoned`: shielded from the cancellation, bounded in time);
4. a job that ends ``failed`` or ``cancelled`` raises ``JobFailedError`` with it;
5. with a ``response_model``, the reply is validated and an invalid one re-asked
   (:mod:`._structured`): each re-ask is a turn of its own, steps 2-4 included.
"""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Any, Dict, Tuple, Callable, Optional, Awaitable, cast

import anyio
from typing_extensions import Unpack, Literal

from ._cost import cost_of, price_book
from .._money import to_usd, to_picodollars
from ._errors import JobFailedError, BudgetExceededError
from ..._types import MutationRequestOptions
from ..structured import with_instruction
from ..._exceptions import APIError, ConflictError, APIStatusError
from ..._operations import operation
from ..._param_check import check_fields
from ...types.job_priority import JobPriority
from ...types.job_create_params import LLMChatJobParams, LLMCompleteJobParams

if TYPE_CHECKING:
    from . import AsyncJobs
    from ._cost import CostEstimate
    from ...types.job import Job
    from ...types.model import Model

__all__ = [
    "CANCEL_GRACE_SECONDS",
    "AskOptions",
    "ask",
    "cancel_abandoned",
    "check_budget",
    "check_limit",
    "check_prompt",
    "completed_text",
    "failure_message",
    "job_params",
    "require_model",
    "run_job",
    "submit_turn",
]

CANCEL_GRACE_SECONDS = 10.0
"""How long the cancel request of an abandoned job may take before it is given up."""


class AskOptions(MutationRequestOptions, total=False):
    """The other fields of the job (``priority``, ``timeout_seconds``, ``metadata``) and the request options."""

    priority: JobPriority
    timeout_seconds: int
    metadata: Dict[str, str]


def check_prompt(text: object, what: str = "prompt") -> str:
    """``text`` if it is a non-empty string; otherwise ``TypeError``/``ValueError`` saying what to pass."""
    if not isinstance(text, str):
        raise TypeError(f"The {what} must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise ValueError(f"The {what} is empty: pass the text the model should answer.")
    return text


def check_limit(max_cost_usd: Optional[float]) -> Optional[float]:
    if max_cost_usd is None:
        return None
    if isinstance(max_cost_usd, bool) or not isinstance(max_cost_usd, (int, float)):
        raise TypeError(f"max_cost_usd must be a number of US dollars, got {type(max_cost_usd).__name__}.")
    if not math.isfinite(max_cost_usd) or max_cost_usd < 0:
        raise ValueError(f"max_cost_usd must be a finite amount >= 0 (US dollars), got {max_cost_usd!r}.")
    return float(max_cost_usd)


def check_budget(estimate: CostEstimate, *, spent: int, limit_usd: Optional[float]) -> None:
    """Raise ``BudgetExceededError`` if ``spent`` (picodollars) plus the estimate's worst case could pass ``limit_usd``.

    Compared in whole picodollars, so a spend of exactly the budget is allowed.
    """
    if limit_usd is None:
        return
    worst = estimate.worst_case_usd
    if spent + to_picodollars(worst, "up") <= to_picodollars(limit_usd, "down"):
        return
    spent_usd = to_usd(spent)
    if spent > 0:
        already = f"${spent_usd:.6f} already spent plus this job's worst case ${worst:.6f}"
    else:
        already = f"this job's worst case ${worst:.6f}"
    raise BudgetExceededError(
        f"Not sent: {already} ({estimate.input_tokens_max} input and {estimate.output_tokens_max} output tokens "
        f"at most, on {estimate.model}) could pass the budget of ${limit_usd:.6f}. "
        "Raise max_cost_usd, set a smaller max_tokens, or shorten the input.",
        spent_usd=spent_usd,
        limit_usd=limit_usd,
        estimate=estimate,
    )


async def require_model(jobs: AsyncJobs, model: object, job_type: str) -> Model:
    """The model, if it serves ``job_type`` jobs; ``ValueError`` otherwise, the API's 404 for an unknown one.

    The model comes from the client's price book, so it is fetched once per client
    and the cost estimate of the same turn asks no more.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"A model id is needed (e.g. 'echo-1'), got {model!r}.")
    known = await price_book(jobs._client).model(model)  # pyright: ignore[reportPrivateUsage]
    if job_type not in known.job_types:
        serves = ", ".join(str(t) for t in known.job_types) or "nothing"
        raise ValueError(
            f"Model {model!r} does not serve {job_type} jobs (it serves: {serves}). "
            "Pick a model that does; client.models.list() shows them."
        )
    return known


async def cancel_abandoned(jobs: AsyncJobs, job_id: str) -> Optional[Job]:
    """Cancel a job nobody waits for any more; its final state if the server told it.

    Runs shielded from the caller's cancellation (a cancelled ``send`` still cancels
    its job) and gives up after :data:`CANCEL_GRACE_SECONDS`. A job that ended in the
    meantime (409) is fetched instead. Errors are swallowed: the caller is already
    leaving with its own exception.
    """
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(CANCEL_GRACE_SECONDS):
            try:
                return await jobs.cancel(job_id)
            except ConflictError:
                try:
                    return await jobs.retrieve(job_id)
                except APIError:
                    return None
            except APIError:
                return None
    return None


async def submit_turn(jobs: AsyncJobs, params: Dict[str, Any], options: MutationRequestOptions) -> Job:
    """Submit one turn's job; if the submission is abandoned, cancel whatever it created.

    The call gets an idempotency key up front (the caller's, if given). If the call is
    cancelled or fails without an answer, the job may exist all the same (the request
    arrived, the answer did not): the same submission is sent again, shielded and
    bounded in time — the server replays the job it created for that key, or creates
    it now — and that job is cancelled. A job cancelled while queued costs nothing.
    """
    sent: Dict[str, Any] = {**options}
    sent.setdefault("idempotency_key", f"microdc-turn-{uuid.uuid4()}")
    create = cast(Callable[..., Awaitable["Job"]], jobs.create)
    try:
        return await create(**params, **sent)
    except (APIStatusError, ValueError, TypeError):
        raise  # the server (or the SDK) refused it: no job was created
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_GRACE_SECONDS):
            try:
                created = await create(**params, **sent)
            except APIError:
                created = None
            if created is not None:
                await cancel_abandoned(jobs, created.id)
        raise


async def run_job(jobs: AsyncJobs, params: Dict[str, Any], options: MutationRequestOptions) -> Job:
    """Submit ``params`` and wait for the job; the job once it is terminal.

    If the caller stops waiting (the task is cancelled, the wait fails), the job is
    cancelled on the server and the exception goes on.
    """
    job = await submit_turn(jobs, params, options)
    try:
        return await jobs.wait(job.id)
    except BaseException:
        await cancel_abandoned(jobs, job.id)
        raise


def failure_message(job: Job, consequence: str = "") -> str:
    if job.status == "failed" and job.error is not None:
        reason = f"failed ({job.error.code}: {job.error.message})"
    else:
        reason = str(job.status)
    return f"Job {job.id} on {job.model} {reason}{consequence}."


_PARAMS_TYPES = {"llm_complete": LLMCompleteJobParams, "llm_chat": LLMChatJobParams}


def job_params(
    job_type: Literal["llm_complete", "llm_chat"],
    model: str,
    *,
    method: str,
    temperature: float,
    max_tokens: Optional[int],
    **fields: Any,
) -> Dict[str, Any]:
    """The ``jobs.create`` parameters of a turn; ``temperature`` and ``max_tokens`` checked by the spec's rules."""
    sampling: Dict[str, object] = {"temperature": temperature}
    if max_tokens is not None:
        sampling["max_tokens"] = max_tokens
    check_fields(_PARAMS_TYPES[job_type], method, sampling)
    return {"type": job_type, "model": model, **fields, **sampling}


def completed_text(job: Job, consequence: str = "") -> str:
    """The reply text of a completed ``llm_complete``/``llm_chat`` job; ``JobFailedError`` for any other outcome."""
    result = job.result
    if job.status == "completed" and result is not None:
        if result.type == "llm_complete":
            return result.text
        if result.type == "llm_chat":
            return result.message.content
    raise JobFailedError(failure_message(job, consequence), job=job)


async def ask(
    jobs: AsyncJobs,
    prompt: str,
    *,
    model: str,
    max_tokens: Optional[int],
    temperature: float,
    max_cost_usd: Optional[float],
    response_model: object = None,
    max_reasks: int = 1,
    **options: Unpack[AskOptions],
) -> Any:
    """The body of ``jobs.ask``: one ``llm_complete`` job, waited for; its text, or its reply as ``response_model``.

    With a ``response_model``, an invalid reply is re-asked up to ``max_reasks``
    times; every job counts against ``max_cost_usd``, checked before each is sent.
    """
    from ._structured import until_valid, reask_options, check_max_reasks  # it builds on this module

    check_prompt(prompt)
    limit = check_limit(max_cost_usd)
    params = job_params(
        "llm_complete", model, method="jobs.ask", temperature=temperature, max_tokens=max_tokens, prompt=prompt
    )
    if response_model is not None:
        check_max_reasks(max_reasks)
        params = with_instruction(params, response_model)
    await require_model(jobs, model, "llm_complete")
    spent = 0  # picodollars: what this call's jobs cost so far

    async def admit(params: Dict[str, Any]) -> None:
        if limit is not None:
            check_budget(await jobs.estimate_cost(params), spent=spent, limit_usd=limit)

    # The first job is admitted before the operation starts (a call refused sends nothing);
    # each re-ask is admitted inside it, before it is sent.
    await admit(params)
    with operation(jobs._client, params) as op:  # the GenAI span, for hooks that observe operations

        async def attempt(params: Dict[str, Any], number: int) -> Tuple[Job, str]:
            nonlocal spent
            if number > 1:
                await admit(params)
            job = await run_job(jobs, params, reask_options(options, number))
            op.finish(job)
            spent += to_picodollars(cost_of(job))
            return job, completed_text(job)

        if response_model is None:
            return (await attempt(params, 1))[1]
        value, _, _ = await until_valid(params, response_model, max_reasks, attempt)
        return value
