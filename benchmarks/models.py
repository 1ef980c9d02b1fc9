"""The plain pydantic Job model the raw-client variants parse into.

What a user of raw httpx or aiohttp would write from PRODUCT.md section 1: nothing
clever, pydantic v2 defaults, ``model_validate`` on the decoded JSON.
"""

from __future__ import annotations

from typing import Dict, List, Union, Literal, Optional
from datetime import datetime

from pydantic import Field, BaseModel
from typing_extensions import Annotated

JobType = Literal["llm_complete", "llm_chat", "llm_embed", "document"]
JobStatusName = Literal["queued", "running", "completed", "failed", "cancelled"]


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float


class JobError(BaseModel):
    code: str
    message: str


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatResult(BaseModel):
    type: Literal["llm_chat"]
    message: ChatMessage
    finish_reason: Literal["stop", "length"]


class CompleteResult(BaseModel):
    type: Literal["llm_complete"]
    text: str
    finish_reason: Literal["stop", "length"]


class EmbedResult(BaseModel):
    type: Literal["llm_embed"]
    embeddings: List[List[float]]
    dimensions: int


class DocumentResult(BaseModel):
    type: Literal["document"]
    text: str
    page_count: int


JobResult = Annotated[Union[ChatResult, CompleteResult, EmbedResult, DocumentResult], Field(discriminator="type")]


class Job(BaseModel):
    id: str
    object: Literal["job"]
    type: JobType
    model: str
    status: JobStatusName
    priority: Literal["low", "normal", "high"]
    metadata: Dict[str, str]
    timeout_seconds: int
    progress: float
    created_at: datetime
    started_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    acknowledged: bool
    acknowledged_at: Optional[datetime] = None
    usage: Optional[Usage] = None
    error: Optional[JobError] = None
    result: Optional[JobResult] = None


class JobOutputDelta(BaseModel):
    id: str
    delta: str


CREATE_BODY = {
    "type": "llm_chat",
    "model": "echo-1",
    "messages": [
        {"role": "system", "content": "You are a concise support assistant."},
        {"role": "user", "content": "How are queued jobs scheduled?"},
    ],
}
