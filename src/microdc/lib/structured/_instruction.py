"""The instruction that tells a model the shape of its answer, and where it goes in a job.

The instruction is one sentence and the JSON Schema of the response model, compact
(``TypeAdapter(T).json_schema()`` without the titles pydantic derives from field
names): every token of it is paid for on every call. It is appended to an
``llm_complete`` prompt after a blank line, and sent to an ``llm_chat`` job as a
system message after the conversation's own system messages. Nothing else about the
request changes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

from ._schema import schema_text

__all__ = ["INSTRUCTION_LEAD", "instruction", "with_instruction"]

INSTRUCTION_LEAD = "Answer with JSON valid against this JSON Schema, in a ```json block:"
"""The sentence before the schema."""


def instruction(response_model: object) -> str:
    """The exact text added to a structured call's job to ask for a ``response_model``::

    >>> instruction(int)
    'Answer with JSON valid against this JSON Schema, in a ```json block:\\n{"type":"integer"}'
    """
    return f"{INSTRUCTION_LEAD}\n{schema_text(response_model)}"


def _messages(params: Mapping[str, Any]) -> List[Dict[str, Any]]:
    messages: object = params.get("messages")
    if not isinstance(messages, (list, tuple)):
        raise TypeError("An llm_chat job needs `messages`, a list of {role, content} dicts.")
    return [dict(m) if isinstance(m, Mapping) else m for m in messages]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


def with_instruction(params: Mapping[str, Any], response_model: object) -> Dict[str, Any]:
    """``jobs.create`` parameters with the instruction for ``response_model`` added (a new dict).

    ``llm_complete``: appended to ``prompt``; ``llm_chat``: a system message after the
    leading system messages. Other job types raise ``ValueError``: they return no text.
    """
    text = instruction(response_model)
    job_type = params.get("type")
    if job_type == "llm_complete":
        prompt = params.get("prompt")
        if not isinstance(prompt, str):
            raise TypeError(f"An llm_complete job needs a `prompt` string, got {prompt!r}.")
        return {**params, "prompt": f"{prompt}\n\n{text}"}
    if job_type == "llm_chat":
        messages = _messages(params)
        at = 0
        while at < len(messages) and isinstance(messages[at], dict) and messages[at].get("role") == "system":
            at += 1
        messages.insert(at, {"role": "system", "content": text})
        return {**params, "messages": messages}
    raise ValueError(
        f"response_model needs an llm_complete or llm_chat job (they answer with text); this one is {job_type!r}."
    )
