"""Cost estimates for ``submit_many``'s ``cost_limit_usd``.

Before each submission ``submit_many`` asks what the job could cost at worst, from
the model's ``pricing`` (``models.retrieve(model)``, fetched once per model) and the
job's size. The size is counted without a tokenizer:

* input tokens: the characters of the prompt, the chat messages' contents, the
  texts to embed or a document job's instruction, divided by
  :data:`CHARS_PER_TOKEN` and rounded up; a document job adds
  :data:`DOCUMENT_TOKENS_PER_FILE` per file (its content is not known here);
* output tokens: ``max_tokens`` when the job sets it, else
  :data:`DEFAULT_OUTPUT_TOKENS` for completions and chats; none for embeddings;
  :data:`DOCUMENT_TOKENS_PER_FILE` per file for document jobs.

Set ``max_tokens`` on completion and chat jobs for a tight estimate: the limit can
only be as good as the estimates, so text that runs to more tokens than characters/4
can make the actual spend pass it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, Tuple, Union, Mapping, Iterable, Sequence, cast

import anyio

from ..._exceptions import MicroDCError

if TYPE_CHECKING:
    from ...resources.models import AsyncModelsResource
    from ...types.model_pricing import ModelPricing

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_OUTPUT_TOKENS",
    "DOCUMENT_TOKENS_PER_FILE",
    "PriceBook",
    "estimate_cost_usd",
    "estimate_tokens",
]

CHARS_PER_TOKEN = 4
DEFAULT_OUTPUT_TOKENS = 1024
DOCUMENT_TOKENS_PER_FILE = 4096


def _chars(value: object) -> int:
    return len(value) if isinstance(value, str) else 0


def estimate_tokens(params: Mapping[str, Any]) -> Tuple[int, int]:
    """``(input_tokens, output_tokens)`` at worst for a job's ``jobs.create`` parameters."""
    job_type = params.get("type")
    extra_input = 0
    if job_type == "llm_complete":
        chars = _chars(params.get("prompt"))
    elif job_type == "llm_chat":
        messages: Iterable[object] = params.get("messages") or ()
        chars = sum(_chars(cast(Mapping[str, object], m).get("content")) for m in messages if isinstance(m, Mapping))
    elif job_type == "llm_embed":
        texts: Iterable[object] = params.get("texts") or ()
        chars = sum(_chars(text) for text in texts)
    else:
        files: Sequence[object] = params.get("file_tokens") or ()
        extra_input = DOCUMENT_TOKENS_PER_FILE * len(files)
        chars = _chars(params.get("instruction"))
    input_tokens = math.ceil(chars / CHARS_PER_TOKEN) + extra_input
    if job_type == "llm_embed":
        return input_tokens, 0
    if job_type not in ("llm_complete", "llm_chat"):
        return input_tokens, extra_input
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
        return input_tokens, max_tokens
    return input_tokens, DEFAULT_OUTPUT_TOKENS


def estimate_cost_usd(params: Mapping[str, Any], pricing: ModelPricing) -> float:
    """The worst-case cost of a job, in US dollars (see the module docs)."""
    input_tokens, output_tokens = estimate_tokens(params)
    return (
        input_tokens * pricing.input_per_million_tokens + output_tokens * pricing.output_per_million_tokens
    ) / 1_000_000


class PriceBook:
    """Each model's pricing, fetched with ``models.retrieve`` once per model.

    A model that cannot be fetched (404, ...) keeps its error, so a batch of a
    thousand jobs naming a missing model asks once, not a thousand times.
    """

    def __init__(self, models: AsyncModelsResource) -> None:
        self._models = models
        self._known: Dict[str, Union[ModelPricing, MicroDCError]] = {}
        self._lock = anyio.Lock()

    async def pricing(self, model: str) -> ModelPricing:
        async with self._lock:
            known = self._known.get(model)
            if known is None:
                try:
                    known = (await self._models.retrieve(model)).pricing
                except MicroDCError as exc:
                    known = exc
                self._known[model] = known
        if isinstance(known, MicroDCError):
            raise known
        return known

    async def estimate(self, params: Mapping[str, Any]) -> float:
        """The worst-case cost of a job, in US dollars; raises what ``models.retrieve`` raised."""
        model = params.get("model")
        if not isinstance(model, str) or not model:
            raise ValueError(f"a job needs a model to estimate its cost, got {model!r}")
        return estimate_cost_usd(params, await self.pricing(model))
