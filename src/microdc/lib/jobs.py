"""``client.jobs``: the generated jobs resource plus the hand-written helpers.

``scripts/codegen/config.yml`` points the client's ``jobs`` property at
:class:`AsyncJobs`, so these methods sit beside the generated ones
(``create``, ``retrieve``, ``list``, ...) without any generated file being edited.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Awaitable, AsyncIterator, cast, overload

from typing_extensions import Unpack

from .._types import MutationRequestOptions
from .waiting import OnComplete, as_completed, wait_for_job
from .builders import JobBuilder
from ..types.job import Job
from ..resources.jobs import AsyncJobsResource
from ..types.job_create_params import (
    LLMChatJobParams,
    DocumentJobParams,
    LLMEmbedJobParams,
    LLMCompleteJobParams,
)

__all__ = ["AsyncJobs"]


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
