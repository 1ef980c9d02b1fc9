"""``client.jobs``: the generated jobs resource plus the hand-written helpers.

``scripts/codegen/config.yml`` points the client's ``jobs`` property at
:class:`AsyncJobs`, so these methods sit beside the generated ones
(``create``, ``retrieve``, ``list``, ...) without any generated file being edited.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Union,
    Mapping,
    Callable,
    Iterable,
    Optional,
    Awaitable,
    AsyncIterator,
    cast,
    overload,
)

from typing_extensions import Unpack

from ._cost import CostEstimate, price_book
from ..._types import MutationRequestOptions
from ._waiting import OnComplete, as_completed, wait_for_job
from .builders import JobBuilder
from ...types.job import Job
from ...resources.jobs import AsyncJobsResource
from ...types.job_create_params import (
    LLMChatJobParams,
    DocumentJobParams,
    LLMEmbedJobParams,
    LLMCompleteJobParams,
)

if TYPE_CHECKING:
    from ..batch import JobInput, OnProgress, BatchResult
    from ..batch._state import StrPath

__all__ = ["AsyncJobs", "CostEstimate"]


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
        (every ``poll_interval`` seconds, growing to 10 s) when the stream fails. A
        failed or cancelled job is returned, not raised. Raises
        ``JobWaitTimeoutError`` (with ``.job``, the last state seen) after
        ``timeout`` seconds; ``None`` waits as long as it takes.
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
        job = await create(**params)
        return await self.wait(job.id, timeout=wait_timeout)

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

        Asks the list endpoint about up to 100 ids per request, every
        ``poll_interval`` seconds; ``on_complete(job)`` (sync or async) runs for each
        job before it is yielded. Raises ``JobWaitTimeoutError`` after ``timeout`` s.
        """
        return as_completed(self, job_ids, poll_interval=poll_interval, timeout=timeout, on_complete=on_complete)

    async def submit_many(
        self,
        jobs: Iterable[JobInput],
        *,
        concurrency: int = 32,
        cost_limit_usd: Optional[float] = None,
        state_file: Optional[StrPath] = None,
        on_progress: Optional[OnProgress] = None,
        wait: bool = True,
        batch_id: Optional[str] = None,
        poll_interval: float = 2.0,
    ) -> BatchResult:
        """Submit many jobs (dicts of ``create`` arguments, or builders) and return each outcome in input order.

        At most ``concurrency`` submissions in flight; stable idempotency keys and a
        ``state_file`` make a re-run resume without submitting anything twice;
        ``cost_limit_usd`` stops submitting before the spend could pass it (the rest
        come back ``skipped_budget``); ``on_progress(BatchProgress)`` follows along.
        See :mod:`microdc.lib.batch`.
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
            poll_interval=poll_interval,
        )
