"""The peer: openai-python's generic ``client.get(path, cast_to=...)`` on the same server.

It is what a Stainless-style SDK costs today: the same request, parsed into an
``openai.BaseModel`` of the Job; pages through ``get_api_list`` with its
``AsyncCursorPage`` (whose cursor is the last item's ``id``, as MicroDC's is), and
the SSE stream through its ``AsyncStream``.
"""

from __future__ import annotations

from typing import Any, Dict, Union, Literal, Optional
from datetime import datetime

from openai import BaseModel, AsyncOpenAI, AsyncStream
from openai._utils import PropertyInfo
from openai.pagination import AsyncCursorPage
from typing_extensions import Annotated

from .base import API_KEY, Variant
from ..models import CREATE_BODY


class OAUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float


class OAJobError(BaseModel):
    code: str
    message: str


class OAChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class OAChatResult(BaseModel):
    type: Literal["llm_chat"]
    message: OAChatMessage
    finish_reason: Literal["stop", "length"]


class OACompleteResult(BaseModel):
    type: Literal["llm_complete"]
    text: str
    finish_reason: Literal["stop", "length"]


class OAJob(BaseModel):
    id: str
    object: Literal["job"]
    type: Literal["llm_complete", "llm_chat", "llm_embed", "document"]
    model: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    priority: Literal["low", "normal", "high"]
    metadata: Dict[str, str]
    timeout_seconds: int
    progress: float
    created_at: datetime
    started_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    acknowledged: bool
    acknowledged_at: Optional[datetime] = None
    usage: Optional[OAUsage] = None
    error: Optional[OAJobError] = None
    result: Optional[Annotated[Union[OAChatResult, OACompleteResult], PropertyInfo(discriminator="type")]] = None


class OAEventData(BaseModel):
    """A delta (``id``, ``delta``) or, for the terminal event, the Job (kept as extra fields)."""

    id: str
    delta: Optional[str] = None


class OpenAIPeer(Variant):
    def __init__(self) -> None:
        self.client: Optional[AsyncOpenAI] = None

    async def open(self, base_url: str) -> None:
        self.client = AsyncOpenAI(api_key=API_KEY, base_url=base_url)

    def _client(self) -> AsyncOpenAI:
        assert self.client is not None
        return self.client

    async def get(self, job_id: str) -> OAJob:
        return await self._client().get(f"/api/v1/jobs/{job_id}", cast_to=OAJob)

    async def create(self) -> OAJob:
        return await self._client().post("/api/v1/jobs/submit", cast_to=OAJob, body=CREATE_BODY)

    async def paginate(self, limit: int, max_items: int) -> int:
        pages: Any = self._client().get_api_list(
            "/api/v1/jobs", model=OAJob, page=AsyncCursorPage[OAJob], options={"params": {"limit": limit}}
        )
        seen = 0
        async for _job in pages:
            seen += 1
            if seen >= max_items:
                break
        return seen

    async def stream(self, job_id: str) -> int:
        count = 0
        events = await self._client().get(
            f"/api/v1/jobs/{job_id}/events", cast_to=OAEventData, stream=True, stream_cls=AsyncStream[OAEventData]
        )
        async for _event in events:
            count += 1
        return count

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
