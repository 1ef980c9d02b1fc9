"""What a job can cost at worst: ``client.jobs.estimate_cost`` and the budgets built on it.

The bound is a true upper bound, never a guess (PRODUCT.md §1 "Model", §2.4):

* input tokens ≤ the UTF-8 bytes of the job's input text — the prompt, every chat
  message's content, every text to embed; for a document job, the uploaded files'
  ``bytes`` plus the instruction (the API promises a job never reads more tokens
  than its input has bytes, since no tokenizer makes a token of less than a byte);
* output tokens ≤ ``max_tokens`` when the job sets it, capped by the model's
  ``max_output_tokens``; an embedding job produces none;
* the price is the model's ``pricing`` (``models.retrieve``, fetched once per model
  and client); the dollar amount is computed in decimal, exactly, and rounded *up* to
  the API's precision of 1e-10 USD, so a worst case is never below what the server
  charges.

A job whose output cannot be bounded — a completion or chat without ``max_tokens``
on a model with no ``max_output_tokens`` — raises ``ValueError`` saying what to set.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Dict, List, Union, Mapping, Optional, cast
from decimal import ROUND_CEILING, Decimal
from dataclasses import dataclass

import anyio

from .._money import exact
from ..._exceptions import MicroDCError

if TYPE_CHECKING:
    from ...types.job import Job
    from ...types.model import Model
    from ..._base_client import BaseClient
    from ...resources.files import AsyncFilesResource
    from ...resources.models import AsyncModelsResource
    from ...types.model_pricing import ModelPricing

__all__ = ["CostEstimate", "PriceBook", "cost_of", "input_bytes", "price_book", "worst_case_tokens", "worst_case_usd"]

# Costs are reported to 1e-10 USD; worst cases are rounded up to that grid.
_GRID = Decimal("1e-10")


@dataclass(frozen=True)
class CostEstimate:
    """The most a job can cost: ``worst_case_usd`` for ``input_tokens_max`` in and ``output_tokens_max`` out."""

    model: str
    input_tokens_max: int
    output_tokens_max: int
    worst_case_usd: float


CostEstimate.__module__ = "microdc.lib.jobs"


def _utf8(value: object) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def input_bytes(params: Mapping[str, Any], file_bytes: Mapping[str, int]) -> int:
    """The UTF-8 bytes of a job's input text: the bound on its input tokens.

    ``file_bytes`` maps the file tokens of a document job to the files' sizes.
    """
    job_type = params.get("type")
    if job_type == "llm_complete":
        return _utf8(params.get("prompt"))
    if job_type == "llm_chat":
        messages = cast(List[object], params.get("messages") or [])
        return sum(_utf8(cast(Mapping[str, object], m).get("content")) for m in messages if isinstance(m, Mapping))
    if job_type == "llm_embed":
        return sum(_utf8(text) for text in cast(List[object], params.get("texts") or []))
    if job_type == "document":
        tokens = cast(List[str], params.get("file_tokens") or [])
        return sum(file_bytes[token] for token in tokens) + _utf8(params.get("instruction"))
    raise ValueError(
        f"cannot estimate the cost of a job of type {job_type!r}; set `type` to one of the API's job types"
    )


def worst_case_tokens(params: Mapping[str, Any], model: Model, file_bytes: Mapping[str, int]) -> tuple[int, int]:
    """``(input_tokens_max, output_tokens_max)`` of a job on ``model`` (see the module docs)."""
    input_max = input_bytes(params, file_bytes)
    job_type = params.get("type")
    if job_type == "llm_embed":
        return input_max, 0
    limits: List[int] = []
    max_tokens = params.get("max_tokens") if job_type in ("llm_complete", "llm_chat") else None
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        limits.append(max_tokens)
    if model.max_output_tokens is not None:
        limits.append(model.max_output_tokens)
    if not limits:
        raise ValueError(
            f"cannot bound the output of this {job_type} job: model {model.id!r} has no max_output_tokens, "
            "so set `max_tokens` on the job"
        )
    return input_max, min(limits)


def worst_case_usd(input_tokens: int, output_tokens: int, pricing: ModelPricing) -> float:
    """What ``input_tokens`` in and ``output_tokens`` out cost at ``pricing``, rounded up to the API's 1e-10 USD."""
    per_million = input_tokens * exact(pricing.input_per_million_tokens) + output_tokens * exact(
        pricing.output_per_million_tokens
    )
    return float((per_million / 1_000_000).quantize(_GRID, rounding=ROUND_CEILING))


class PriceBook:
    """The models (pricing, ``max_output_tokens``) and file sizes a client's estimates need, each fetched once.

    A model that cannot be fetched (404, ...) keeps its error, so a batch of a
    thousand jobs naming a missing model asks once, not a thousand times. File sizes
    come from ``files.list`` (paged once, again only when a token is not yet known).
    """

    def __init__(self, models: AsyncModelsResource, files: Optional[AsyncFilesResource] = None) -> None:
        self._models = models
        self._files = files
        self._known: Dict[str, Union[Model, MicroDCError]] = {}
        self._file_bytes: Dict[str, int] = {}
        self._lock = anyio.Lock()
        self._files_lock = anyio.Lock()

    async def model(self, model_id: str) -> Model:
        """The model's description (``models.retrieve``), fetched once; raises what that raised."""
        known = self._known.get(model_id)
        if known is None:
            async with self._lock:
                known = self._known.get(model_id)
                if known is None:
                    try:
                        known = await self._models.retrieve(model_id)
                    except MicroDCError as exc:
                        known = exc
                    self._known[model_id] = known
        if isinstance(known, MicroDCError):
            raise known
        return known

    async def _sizes(self, tokens: List[str]) -> Mapping[str, int]:
        if all(token in self._file_bytes for token in tokens):
            return self._file_bytes
        if self._files is None:
            raise ValueError("cannot bound a document job's input without the files resource")
        async with self._files_lock:
            if not all(token in self._file_bytes for token in tokens):
                async for file in self._files.list(limit=100):
                    self._file_bytes[file.token] = file.bytes
        missing = [token for token in tokens if token not in self._file_bytes]
        if missing:
            raise ValueError(
                f"cannot bound the cost of a document job: no uploaded file has the token {missing[0]!r}; "
                "pass the `token` of a file from files.upload"
            )
        return self._file_bytes

    async def estimate(self, params: Mapping[str, Any]) -> CostEstimate:
        """The worst case of a job given as ``jobs.create`` parameters."""
        model_id = params.get("model")
        if not isinstance(model_id, str) or not model_id:
            raise ValueError(f"cannot estimate the cost of a job without a model: set `model` (got {model_id!r})")
        model = await self.model(model_id)
        tokens = cast(List[str], params.get("file_tokens") or []) if params.get("type") == "document" else []
        sizes = await self._sizes(tokens) if tokens else self._file_bytes
        input_max, output_max = worst_case_tokens(params, model, sizes)
        return CostEstimate(
            model=model_id,
            input_tokens_max=input_max,
            output_tokens_max=output_max,
            worst_case_usd=worst_case_usd(input_max, output_max, model.pricing),
        )


_books: weakref.WeakKeyDictionary[BaseClient, PriceBook] = weakref.WeakKeyDictionary()


def price_book(client: BaseClient) -> PriceBook:
    """The client's one :class:`PriceBook`, so each model is fetched once per client."""
    book = _books.get(client)
    if book is None:
        from ...resources.files import AsyncFilesResource
        from ...resources.models import AsyncModelsResource

        book = _books[client] = PriceBook(AsyncModelsResource(client), AsyncFilesResource(client))
    return book


def cost_of(job: Job) -> float:
    """What a finished job cost (its ``usage.cost_usd``; 0 when it reports none)."""
    usage = job.usage
    return usage.cost_usd if usage is not None else 0.0
