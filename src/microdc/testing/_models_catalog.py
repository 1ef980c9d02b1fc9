"""The models the fake runs, and what their work costs.

* ``echo-1`` — ``llm_complete`` and ``llm_chat``: answers ``"echo: <prompt>"`` (or the
  last user message), streamed as ``job.output.delta`` events.
* ``embed-1`` — ``llm_embed``: 8-dimensional embeddings derived from a hash of each text.
* ``doc-1`` — ``document``: the text of the uploaded files.
* ``json-1`` — ``llm_complete`` and ``llm_chat``: a JSON value valid against the first
  JSON Schema in the input, in a sentence and a ```` ```json ```` fence (:mod:`._json_model`).

Tokens are counted as whitespace-separated words (at least one per non-empty text).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple, Mapping, Optional
from dataclasses import dataclass

__all__ = ["MODELS", "ModelSpec", "count_tokens"]


@dataclass(frozen=True)
class ModelSpec:
    id: str
    job_types: Tuple[str, ...]
    context_window: int
    max_output_tokens: Optional[int]
    embedding_dimensions: Optional[int]
    input_per_million_tokens: float
    output_per_million_tokens: float
    answers_json: bool = False
    """Answers with JSON valid against the first JSON Schema in its input (``json-1``)."""

    def to_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "object": "model",
            "job_types": list(self.job_types),
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "embedding_dimensions": self.embedding_dimensions,
            "pricing": {
                "input_per_million_tokens": self.input_per_million_tokens,
                "output_per_million_tokens": self.output_per_million_tokens,
            },
        }

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        cost = (input_tokens * self.input_per_million_tokens + output_tokens * self.output_per_million_tokens) / 1e6
        return round(cost, 10)


MODELS: Mapping[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec("echo-1", ("llm_complete", "llm_chat"), 8192, 4096, None, 0.5, 1.5),
        ModelSpec("embed-1", ("llm_embed",), 8192, None, 8, 0.1, 0.0),
        ModelSpec("doc-1", ("document",), 32768, 8192, None, 1.0, 2.0),
        ModelSpec("json-1", ("llm_complete", "llm_chat"), 16384, 4096, None, 1.0, 3.0, answers_json=True),
    )
}


def count_tokens(*texts: str) -> int:
    """Words in ``texts``; a non-empty text without spaces still counts one."""
    total = 0
    for text in texts:
        words = len(text.split())
        total += words if words else (1 if text else 0)
    return total


def model_list() -> List[Dict[str, Any]]:
    return [spec.to_json() for spec in MODELS.values()]
