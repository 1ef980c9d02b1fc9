"""``client.jobs``: the generated jobs resource plus the hand-written helpers.

``scripts/codegen/config.yml`` points the client's ``jobs`` property at
:class:`AsyncJobs`, so these methods sit beside the generated ones
(``create``, ``retrieve``, ``list``, ...) without any generated file being edited.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Type,
    Union,
    Mapping,
    TypeVar,
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
from ..structured import with_instruction
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
    from ..batch import BatchRun, JobInput, BatchArgs, BatchResult

__all__ = [
    "AskOptions",
    "AsyncJobs",
    "BatchArgs",
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

T = TypeVar("T")


# The arguments of ``create`` for each job type, request options included.
class _CompleteArgs(LLMCompleteJobParams, MutationRequestOptions, total=False): ...


class _ChatArgs(LLMChatJobParams, MutationRequestOptions, total=False): ...


class _EmbedArgs(LLMEmbedJobParams, MutationRequestOptions, total=False): ...


class _DocumentArgs(DocumentJobParams, MutationRequestOptions, total=False): ...


class AsyncJobs(AsyncJobsResource):
    """The jobs resource, with ``wait``, ``create_and_wait``, ``as_completed`` and ``submit``."""

    async def wait(self, job_id: str, *, timeout: Optional[float] = None, poll_interval: float = 1.0) -> Job:
        """Wait until the job is ``completed``, ``failed`` or ``cancelled``, and return it.

        Follows the job's event stream while fewer than 8 of the client's waits hold
        one; otherwise, or when the stream fails, the client's job poller asks the list
        endpoint about it with the other waits' jobs, every ``poll_interval`` seconds
        at first, backing off as the client's ``RetryPolicy`` does. A failed or
        cancelled job is returned, not raised; a poll that fails after the client's
        retries raises its error. Raises ``JobWaitTimeoutError`` (with ``.job``, the
        last state seen) after ``timeout`` seconds on the SDK's clock; ``None`` waits
        as long as it takes.
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

    async def estimate_cost(
        self, params_or_builder: Union[JobBuilder, Mapping[str, Any]], *, response_model: object = None
    ) -> CostEstimate:
        """The most a job can cost (``worst_case_usd``), never below what it will cost.

        Takes ``jobs.create`` arguments as a dict, or a builder. Input tokens are
        bounded by the UTF-8 bytes of the input text (a document job's by its files'
        sizes plus the instruction); output tokens by ``max_tokens``, else the model's
        ``max_output_tokens``; prices come from ``models.retrieve``, fetched once per
        model and client. With ``response_model``, the job is estimated as a
        structured call sends it: with the instruction for that type added (one
        attempt; each re-ask is estimated again before it is sent). Raises
        ``ValueError`` saying what to set for a job that cannot be bounded (no
        ``model``; no ``max_tokens`` on a model without ``max_output_tokens``; a
        document whose file token matches no uploaded file)::

            estimate = await client.jobs.estimate_cost(LLMComplete("echo-1", prompt="hi", max_tokens=64))
            print(estimate.worst_case_usd)
        """
        if isinstance(params_or_builder, JobBuilder):
            params_or_builder.validate()
            params: Mapping[str, Any] = params_or_builder.to_params()
        else:
            params = params_or_builder
        if response_model is not None:
            params = with_instruction(params, response_model)
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

    @overload
    def batch(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: None = None,
        **options: Unpack[BatchArgs],
    ) -> BatchRun: ...
    @overload
    def batch(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: Type[T],
        max_reasks: int = 1,
        **options: Unpack[BatchArgs],
    ) -> BatchRun[T]: ...
    @overload
    def batch(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: object,
        max_reasks: int = 1,
        **options: Unpack[BatchArgs],
    ) -> BatchRun[Any]: ...
    def batch(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: object = None,
        max_reasks: int = 1,
        **options: Unpack[BatchArgs],
    ) -> BatchRun[Any]:
        """Run a batch of any size: ``async with client.jobs.batch(inputs) as run: async for item in run: ...``.

        ``jobs`` is any iterable or async iterable of ``create`` arguments (dicts) or
        builders, read lazily. The options (:class:`~microdc.lib.batch.BatchArgs`):
        ``concurrency=32`` submissions in flight at most; ``cost_limit_usd`` admits an
        input only if its worst case fits (else ``skipped_budget``); ``state_file``
        (SQLite) makes a re-run resume without submitting anything twice;
        ``batch_id``; ``defaults`` merged under each input; ``shard=(i, n)`` takes the
        inputs whose index is ``i`` mod ``n``; ``wait=False`` stops at submission;
        ``poll_interval=1.0``; ``on_progress``. Items come in completion order; ``await
        run.wait()`` returns a ``BatchSummary``; ``await run.cancel(remote=True)`` also
        cancels the batch's unfinished jobs on the server.

        With ``response_model=T`` (as for ``ask``), every job carries the instruction
        for ``T`` and each completed item has ``parsed`` (a ``T``) or ``parse_error``
        (an ``OutputValidationError``); an invalid reply is re-asked up to
        ``max_reasks`` times, each re-ask a job admitted under ``cost_limit_usd``
        like any input, its cost added to the item's ``cost_usd``. Replies are read
        only with ``wait=True``. See :mod:`microdc.lib.batch`.
        """
        from ..batch import batch

        return batch(self, jobs, response_model=response_model, max_reasks=max_reasks, **options)

    @overload
    async def submit_many(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: None = None,
        **options: Unpack[BatchArgs],
    ) -> BatchResult: ...
    @overload
    async def submit_many(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: Type[T],
        max_reasks: int = 1,
        **options: Unpack[BatchArgs],
    ) -> BatchResult[T]: ...
    @overload
    async def submit_many(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: object,
        max_reasks: int = 1,
        **options: Unpack[BatchArgs],
    ) -> BatchResult[Any]: ...
    async def submit_many(
        self,
        jobs: Union[Iterable[JobInput], AsyncIterable[JobInput]],
        *,
        response_model: object = None,
        max_reasks: int = 1,
        **options: Unpack[BatchArgs],
    ) -> BatchResult[Any]:
        """``batch`` collected into a ``BatchResult``, each input's outcome in input order (for small runs).

        Same options as :meth:`batch` (``response_model`` included: ``result.parsed``
        lists each input's parsed reply). See :mod:`microdc.lib.batch`.
        """
        from ..batch import submit_many

        return await submit_many(self, jobs, response_model=response_model, max_reasks=max_reasks, **options)

    # --- conversations, one-call helpers and the watcher (PRODUCT.md §2.4) ----------------

    @overload
    async def ask(
        self,
        prompt: str,
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: float = 0.7,
        max_cost_usd: Optional[float] = None,
        response_model: None = None,
        **options: Unpack[AskOptions],
    ) -> str: ...
    @overload
    async def ask(
        self,
        prompt: str,
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: float = 0.7,
        max_cost_usd: Optional[float] = None,
        response_model: Type[T],
        max_reasks: int = 1,
        **options: Unpack[AskOptions],
    ) -> T: ...
    @overload
    async def ask(
        self,
        prompt: str,
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: float = 0.7,
        max_cost_usd: Optional[float] = None,
        response_model: object,
        max_reasks: int = 1,
        **options: Unpack[AskOptions],
    ) -> Any: ...
    async def ask(
        self,
        prompt: str,
        *,
        model: str,
        max_tokens: Optional[int] = None,
        temperature: float = 0.7,
        max_cost_usd: Optional[float] = None,
        response_model: object = None,
        max_reasks: int = 1,
        **options: Unpack[AskOptions],
    ) -> Any:
        """Run one ``llm_complete`` job on ``prompt``, wait for it, and return its text.

        With ``response_model`` (a pydantic or ``microdc`` model, a dataclass, a
        ``TypedDict``, ``list[...]``, a ``Literal``, an ``Enum``: anything pydantic's
        ``TypeAdapter`` takes), the prompt also carries the instruction for it
        (``microdc.lib.structured.instruction``) and the reply's JSON is returned
        validated as that type; an invalid reply is re-asked up to ``max_reasks``
        times (each re-ask a job of its own), then ``OutputValidationError`` is raised.

        ``max_cost_usd`` refuses (``BudgetExceededError``, nothing sent) a job whose
        worst case (``estimate_cost``) could take the call's spend past it, re-asks
        included. A job that fails or is cancelled raises ``JobFailedError`` (with
        ``.job``); cancelling the call cancels the job on the server. ``options``:
        ``priority``, ``timeout_seconds``, ``metadata`` and the request options of ``create``.
        """
        from ._ask import ask

        return await ask(
            self,
            prompt,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
            max_cost_usd=max_cost_usd,
            response_model=response_model,
            max_reasks=max_reasks,
            **options,
        )

    @overload
    def parse(self, job: Job, response_model: Type[T]) -> T: ...
    @overload
    def parse(self, job: Job, response_model: object) -> Any: ...
    def parse(self, job: Job, response_model: object) -> Any:
        """The reply of a completed ``llm_complete``/``llm_chat`` job, validated as ``response_model``.

        The reply's JSON is its first ```` ```json ```` block, else its outermost JSON
        object or array. Raises ``OutputValidationError`` (``.errors``, ``.text``) when
        it does not validate, ``JobFailedError`` for a failed or cancelled job, and
        ``ValueError`` for a job still running or of another type. Sends nothing::

            job = await client.jobs.wait(job.id)
            invoice = client.jobs.parse(job, Invoice)
        """
        from ._structured import parse_job

        return parse_job(job, response_model)

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

        Each callback is called once with the terminal Job; the client's job poller
        asks the list endpoint about up to 100 watched ids per request every
        ``poll_interval`` seconds (a failed poll is logged and tried again, backing
        off); ``await w.join()`` waits for every watched job.
        """
        return JobWatcher(self, poll_interval=poll_interval)


def __getattr__(name: str) -> Any:
    # ``BatchArgs`` is the batch's (``microdc.lib.batch``), named here too for ``jobs.batch``'s
    # readers; the batch package loads only when it is asked for.
    if name == "BatchArgs":
        from ..batch import BatchArgs

        return BatchArgs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
