"""``client.jobs``: the generated jobs resource plus the hand-written helpers.

``scripts/codegen/config.yml`` points the client's ``jobs`` property at
:class:`AsyncJobs`, so these methods sit beside the generated ones
(``create``, ``retrieve``, ``list``, ...) without any generated file being edited.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Tuple,
    Union,
    Mapping,
    Callable,
    Iterable,
    Optional,
    Awaitable,
    AsyncIterable,
    AsyncIterator,
    cast,
    overload,
)

from typing_extensions import Unpack

from ._ask import AskOptions
from ._cost import CostEstimate, price_book
from ._errors import JobFailedError, BudgetExceededError, JobWaitTimeoutError
from ..._types import MutationRequestOptions
from ._waiting import OnComplete, as_completed, wait_for_job
from ._watcher import JobWatcher, JobCallback
from .builders import JobBuilder
from ...types.job import Job
from ..._operations import operation
from ._conversation import Conversation, ConversationUsage, ConversationStream
from ...resources.jobs import AsyncJobsResource
from ...types.job_create_params import (
    LLMChatJobParams,
    DocumentJobParams,
    LLMEmbedJobParams,
    LLMCompleteJobParams,
)
from ...types.chat_message_param import ChatMessageParam

if TYPE_CHECKING:
    from ..batch import BatchRun, JobInput, OnProgress, BatchResult
    from ..batch._state import StrPath

__all__ = [
    "AskOptions",
    "AsyncJobs",
    "BudgetExceededError",
    "Conversation",
    "ConversationStream",
    "ConversationUsage",
    "CostEstimate",
    "JobCallback",
    "JobFailedError",
    "JobWaitTimeoutError",
    "JobWatcher",
]


# The arguments of ``create`` for each job type, request options included.
class _CompleteArgs(LLMCompleteJobParams, MutationRequestOptions, total=False): ...


class _ChatArgs(LLMChatJobParams, MutationRequestOptions, total=False): ...


class _EmbedArgs(LLMEmbedJobParams, MutationRequestOptions, total=False): ...


class _DocumentArgs(DocumentJobParams, MutationRequestOptions, total=False): ...


class AsyncJobs(AsyncJobsResource):
    """The jobs resource, with ``wait``, ``create_and_wait``, ``as_completed`` and ``submit``."""

    async def wait(self, job_id: str, *, timeout: Optional[float] = None, poll_interval: float = 1.0) -> Job:
        """Wait until the job is ``completed``, ``failed`` or ``cancelled``, and return it.

        Follows the job's event stream; falls back to polling ``retrieve_status``
        when the stream fails, every ``poll_interval`` seconds at first, backing off
        as the client's ``RetryPolicy`` does. A failed or cancelled job is returned,
        not raised. Raises ``JobWaitTimeoutError`` (with ``.job``, the last state
        seen) after ``timeout`` seconds on the SDK's clock; ``None`` waits as long as
        it takes.
        """
        return await wait_for_job(self, job_id, timeout=timeout, poll_interval=poll_interval)

    @overload
    async def create_and_wait(
        self, *, wait_timeout: Optional[float] = None, **params: Unpack[_CompleteArgs]
    ) -> Job: ...
    @overload
    async def create_and_wait(self, *, wait_timeout: Optional[float] = None, **params: Unpack[_ChatArgs]) -> Job: ...
    @overload
    async def create_and_wait(self, *, wait_timeout: Optional[float] = None, **params: Unpack[_EmbedArgs]) -> Job: ...
    @overload
    async def create_and_wait(
        self, *, wait_timeout: Optional[float] = None, **params: Unpack[_DocumentArgs]
    ) -> Job: ...
    async def create_and_wait(self, *, wait_timeout: Optional[float] = None, **params: Any) -> Job:
        """Submit a job (the arguments of ``create``), then ``wait`` for it (up to ``wait_timeout`` s)."""
        create = cast(Callable[..., Awaitable[Job]], self.create)
        with operation(self._client, params) as op:  # a model job's GenAI span, for hooks that observe operations
            job = await create(**params)
            job = await self.wait(job.id, timeout=wait_timeout)
            op.finish(job)
            return job

    async def submit(self, call: JobBuilder, **options: Unpack[MutationRequestOptions]) -> Job:
        """Validate a builder (``LLMChat(...)``, ...) and submit it as a job."""
        call.validate()
        create = cast(Callable[..., Awaitable[Job]], self.create)
        return await create(**call.to_params(), **options)

    async def estimate_cost(self, params_or_builder: Union[JobBuilder, Mapping[str, Any]]) -> CostEstimate:
        """The most a job can cost (``worst_case_usd``), never below what it will cost.

        Takes ``jobs.create`` arguments as a dict, or a builder. Input tokens are
        bounded by the UTF-8 bytes of the input text (a document job's by its files'
        sizes plus the instruction); output tokens by ``max_tokens``, else the model's
        ``max_output_tokens``; prices come from ``models.retrieve``, fetched once per
        model and client. Raises ``ValueError`` saying what to set for a job that
        cannot be bounded (no ``model``; no ``max_tokens`` on a model without
        ``max_output_tokens``; a document whose file token matches no uploaded file)::

            estimate = await client.jobs.estimate_cost(LLMComplete("echo-1", prompt="hi", max_tokens=64))
            print(estimate.worst_case_usd)
        """
        if isinstance(params_or_builder, JobBuilder):
            params_or_builder.validate()
            params: Mapping[str, Any] = params_or_builder.to_params()
        else:
            params = params_or_builder
        return await price_book(self._client).estimate(params)

    def as_completed(
        self,
        job_ids: Iterable[str],
        *,
        poll_interval: float = 2.0,
        timeout: Optional[float] = None,
        on_complete: Optional[OnComplete] = None,
    ) -> AsyncIterator[Job]:
        """Yield each job once, as it reaches a terminal state (in completion order).

        ``job_ids`` is any iterable of id strings (list, set, deque, generator). Asks
        the list endpoint about up to 100 ids per request, every ``poll_interval``
        seconds while jobs finish, backing off as the client's ``RetryPolicy`` does
        while none do; ``on_complete(job)`` (sync or async) runs for each job before
        it is yielded. An id the server does not know raises ``NotFoundError`` naming
        it. Raises ``JobWaitTimeoutError`` after ``timeout`` s.
        """
        return as_completed(self, job_ids, poll_interval=poll_interval, timeout=timeout, on_complete=on_complete)

    def batch(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        concurrency: int = 32,
        cost_limit_usd: Optional[float] = None,
        state_file: Optional[StrPath] = None,
        batch_id: Optional[str] = None,
        defaults: Optional[Mapping[str, Any]] = None,
        shard: Optional[Tuple[int, int]] = None,
        wait: bool = True,
        poll_interval: float = 1.0,
        on_progress: Optional[OnProgress] = None,
    ) -> BatchRun:
        """Run a batch of any size: ``async with client.jobs.batch(inputs) as run: async for item in run: ...``.

        ``jobs`` is any iterable or async iterable of ``create`` arguments (dicts) or
        builders, read lazily; ``defaults`` is merged under each. At most
        ``concurrency`` submissions in flight; ``cost_limit_usd`` admits an input only
        if its worst case fits (else ``skipped_budget``); ``state_file`` (SQLite)
        makes a re-run resume without submitting anything twice; ``shard=(i, n)``
        takes the inputs whose index is ``i`` mod ``n``; ``wait=False`` stops at
        submission. Items come in completion order; ``await run.wait()`` returns a
        ``BatchSummary``; ``await run.cancel(remote=True)`` also cancels the batch's
        unfinished jobs on the server. See :mod:`microdc.lib.batch`.
        """
        from ..batch import batch

        return batch(
            self,
            jobs,
            concurrency=concurrency,
            cost_limit_usd=cost_limit_usd,
            state_file=state_file,
            batch_id=batch_id,
            defaults=defaults,
            shard=shard,
            wait=wait,
            poll_interval=poll_interval,
            on_progress=on_progress,
        )

    async def submit_many(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        concurrency: int = 32,
        cost_limit_usd: Optional[float] = None,
        state_file: Optional[StrPath] = None,
        on_progress: Optional[OnProgress] = None,
        wait: bool = True,
        batch_id: Optional[str] = None,
        defaults: Optional[Mapping[str, Any]] = None,
        shard: Optional[Tuple[int, int]] = None,
        poll_interval: float = 1.0,
    ) -> BatchResult:
        """``batch`` collected into a ``BatchResult``, each input's outcome in input order (for small runs).

        Same options as :meth:`batch`. See :mod:`microdc.lib.batch`.
        """
        from ..batch import submit_many

        return await submit_many(
            self,
            jobs,
            concurrency=concurrency,
            cost_limit_usd=cost_limit_usd,
            state_file=state_file,
            on_progress=on_progress,
            wait=wait,
            batch_id=batch_id,
            defaults=defaults,
            shard=shard,
            poll_interval=poll_interval,
        )

    # --- conversations, one-call helpers and the watcher (PRODUCT.md §2.4) ----------------

    async def ask(
        self,
        prompt: str,
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: float = 0.7,
        max_cost_usd: Optional[float] = None,
        **options: Unpack[AskOptions],
    ) -> str:
        """Run one ``llm_complete`` job on ``prompt``, wait for it, and return its text.

        ``max_cost_usd`` refuses (``BudgetExceededError``, nothing sent) a job whose
        worst case (``estimate_cost``) could cost more. A job that fails or is
        cancelled raises ``JobFailedError`` (with ``.job``); cancelling the call
        cancels the job on the server. ``options``: ``priority``,
        ``timeout_seconds``, ``metadata`` and the request options of ``create``.
        """
        from ._ask import ask

        return await ask(
            self,
            prompt,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            max_cost_usd=max_cost_usd,
            **options,
        )

    def conversation(
        self,
        model: str,
        *,
        system: Optional[str] = None,
        temperature: float = 0.7,
        max_tokens: Optional[int] = None,
        max_cost_usd: Optional[float] = None,
        messages: Optional[Iterable[ChatMessageParam]] = None,
    ) -> Conversation:
        """A chat whose history is kept for you: ``await conv.send(text)``, ``conv.stream(text)``.

        ``system`` opens the history (``clear()`` keeps it); ``messages`` continues an
        earlier one. ``max_cost_usd`` is a budget for the whole conversation: a turn
        whose worst case could pass it raises ``BudgetExceededError`` before it is sent.
        See :class:`microdc.lib.jobs.Conversation`.
        """
        return Conversation(
            self,
            model,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            max_cost_usd=max_cost_usd,
            messages=messages,
        )

    def watcher(self, *, poll_interval: float = 1.0) -> JobWatcher:
        """A :class:`JobWatcher`: ``async with client.jobs.watcher() as w: w.watch(job_id, callback)``.

        Each callback is called once with the terminal Job; one background task asks
        the list endpoint about up to 100 watched ids per request every
        ``poll_interval`` seconds; ``await w.join()`` waits for every watched job.
        """
        return JobWatcher(self, poll_interval=poll_interval)
