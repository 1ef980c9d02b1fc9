"""Prompt and reply text on a GenAI span, in the conventions' format (``Telemetry(capture_content=True)``).

Two forms, chosen by ``OTEL_SEMCONV_STABILITY_OPT_IN`` (see :mod:`._semconv`):

* latest (``gen_ai_latest_experimental``): one ``gen_ai.client.inference.operation.details``
  event when the operation ends, whose ``gen_ai.input.messages`` and
  ``gen_ai.output.messages`` follow the conventions' message JSON schemas
  (``{"role": ..., "parts": [{"type": "text", "content": ...}], "finish_reason": ...}``),
  serialised to JSON strings (span event attributes cannot hold structures);
* before it (v1.36): one event per input message, ``gen_ai.{role}.message`` with its
  ``content``, and a ``gen_ai.choice`` event for the reply (``index``,
  ``finish_reason``, ``message``).

Only the text the SDK sent or got back is used: a plain ``jobs.wait`` knows no
prompt, so it records the reply alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Optional, Sequence

from ..._spec import CHAT_ROLES
from ._semconv import PROVIDER_NAME

if TYPE_CHECKING:
    from ..hooks import OperationInfo
    from ...types.job import Job

__all__ = ["input_messages", "latest_event", "legacy_choice_event", "legacy_input_events", "output_messages"]

Message = Dict[str, Any]
Event = Tuple[str, Dict[str, Any]]

LATEST_EVENT = "gen_ai.client.inference.operation.details"


def _text_message(role: str, texts: Sequence[str]) -> Message:
    return {"role": role, "parts": [{"type": "text", "content": text} for text in texts]}


def input_messages(info: OperationInfo) -> List[Message]:
    """What was sent to the model, oldest first: the prompt, the chat history, or the texts to embed."""
    params = info.params
    prompt = params.get("prompt")
    if isinstance(prompt, str):
        return [_text_message("user", [prompt])]
    texts = params.get("texts")
    if isinstance(texts, (list, tuple)):
        return [_text_message("user", [str(text) for text in texts])]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    messages: object = params.get("messages")
    if not isinstance(messages, (list, tuple)):
        return []
    found: List[Message] = []
    for message in messages:  # pyright: ignore[reportUnknownVariableType]
        if isinstance(message, dict):
            fields: Dict[str, Any] = message  # pyright: ignore[reportUnknownVariableType]
            found.append(_text_message(str(fields.get("role")), [str(fields.get("content"))]))
    return found


def _reply(job: Optional[Job]) -> Optional[Tuple[str, str]]:
    """The reply's text and finish reason, for a completion or chat job that has one."""
    result = job.result if job is not None else None
    if result is None:
        return None
    if result.type == "llm_complete":
        return result.text, result.finish_reason
    if result.type == "llm_chat":
        return result.message.content, result.finish_reason
    return None


def output_messages(job: Optional[Job]) -> List[Message]:
    """The model's reply as the conventions' output messages (one choice), or none."""
    reply = _reply(job)
    if reply is None:
        return []
    text, finish_reason = reply
    return [{**_text_message("assistant", [text]), "finish_reason": finish_reason}]


def latest_event(info: OperationInfo, job: Optional[Job]) -> Event:
    """The ``gen_ai.client.inference.operation.details`` event of the latest conventions."""
    attributes: Dict[str, Any] = {"gen_ai.operation.name": info.operation_name}
    sent = input_messages(info)
    if sent:
        attributes["gen_ai.input.messages"] = json.dumps(sent, ensure_ascii=False)
    received = output_messages(job)
    if received:
        attributes["gen_ai.output.messages"] = json.dumps(received, ensure_ascii=False)
    return LATEST_EVENT, attributes


def legacy_input_events(info: OperationInfo) -> List[Event]:
    """One ``gen_ai.{system,user,assistant}.message`` event per message sent (conventions up to v1.36)."""
    events: List[Event] = []
    for message in input_messages(info):
        for part in message["parts"]:
            role = message["role"] if message["role"] in CHAT_ROLES else "user"
            events.append((f"gen_ai.{role}.message", {"gen_ai.system": PROVIDER_NAME, "content": part["content"]}))
    return events


def legacy_choice_event(job: Optional[Job]) -> Optional[Event]:
    """The ``gen_ai.choice`` event of the reply (conventions up to v1.36), if there is one."""
    reply = _reply(job)
    if reply is None:
        return None
    text, finish_reason = reply
    message = json.dumps({"role": "assistant", "content": text}, ensure_ascii=False)
    return "gen_ai.choice", {
        "gen_ai.system": PROVIDER_NAME,
        "index": 0,
        "finish_reason": finish_reason,
        "message": message,
    }
