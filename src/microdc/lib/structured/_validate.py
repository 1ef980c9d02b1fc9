"""Validating a reply as the response model, and the re-ask that asks for a corrected one.

A re-ask is a new job: the original request (instruction included), the reply that
failed and pydantic's errors for it, and a request for the corrected JSON. It is
built from the *original* request each time, so a second re-ask does not carry the
first one's reply: the input (and the cost) of each re-ask stays the size of one
exchange.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple, Mapping, Optional, Sequence

import pydantic
from pydantic_core import ErrorDetails

from ._schema import adapter_for
from ._extract import json_text_of

__all__ = ["MAX_LISTED_ERRORS", "describe_errors", "reask_params", "validate_reply"]

MAX_LISTED_ERRORS = 10
"""At most this many validation errors are quoted back to the model (the rest are counted)."""


def validate_reply(text: str, response_model: object) -> Tuple[Any, Optional[List[ErrorDetails]]]:
    """``(value, None)`` when the reply's JSON (see :func:`extract_json`) validates, else ``(None, errors)``."""
    adapter = adapter_for(response_model)
    try:
        return adapter.validate_json(json_text_of(text)), None
    except pydantic.ValidationError as exc:
        return None, exc.errors(include_url=False)


def describe_errors(errors: Sequence[ErrorDetails]) -> str:
    """One line per error, ``- items.0.price: Input should be a valid number`` (at most :data:`MAX_LISTED_ERRORS`)."""
    lines: List[str] = []
    for error in errors[:MAX_LISTED_ERRORS]:
        where = ".".join(str(part) for part in error["loc"]) or "(the whole value)"
        lines.append(f"- {where}: {error['msg']}")
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"- and {len(errors) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def _correction(errors: Sequence[ErrorDetails]) -> str:
    return (
        f"That reply is not valid against the JSON Schema:\n{describe_errors(errors)}\n"
        "Answer again with the corrected JSON, in a ```json block."
    )


def reask_params(original: Mapping[str, Any], reply: str, errors: Sequence[ErrorDetails]) -> Dict[str, Any]:
    """The parameters of the job that re-asks ``original`` (its instruction included) after ``reply`` failed."""
    correction = _correction(errors)
    if original.get("type") == "llm_chat":
        messages = [
            *original["messages"],
            {"role": "assistant", "content": reply},
            {"role": "user", "content": correction},
        ]
        return {**original, "messages": messages}
    return {**original, "prompt": f"{original['prompt']}\n\nYour answer was:\n{reply}\n\n{correction}"}
