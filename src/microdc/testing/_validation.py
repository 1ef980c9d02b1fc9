"""Checks a job submission body the way the service does, field by field.

:func:`validate_submission` returns the submission with its defaults filled in, or
raises :class:`~._errors.FakeAPIError` (422, ``param`` naming the field: ``prompt``,
``messages[2].role``, ``metadata.owner``...). ``null`` for an optional field means
"use the default".
"""

from __future__ import annotations

from typing import Any, Dict, List, Callable

from ._errors import FakeAPIError, invalid
from ._models_catalog import MODELS, count_tokens

__all__ = ["JOB_STATES", "JOB_TYPES", "validate_submission"]

JOB_TYPES = ("llm_complete", "llm_chat", "llm_embed", "document")
JOB_STATES = ("queued", "running", "completed", "failed", "cancelled")
PRIORITIES = ("low", "normal", "high")
ROLES = ("system", "user", "assistant")
MAX_METADATA_KEYS = 16
MAX_TEXTS = 2048


def _missing(param: str) -> FakeAPIError:
    return FakeAPIError(422, "missing_parameter", f"Missing required parameter {param!r}.", param=param)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string(body: Dict[str, Any], name: str, *, required: bool) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name!r} must be a string.")
    return value


def _common(body: Dict[str, Any]) -> Dict[str, Any]:
    job_type = _string(body, "type", required=True)
    if job_type not in JOB_TYPES:
        raise invalid("type", f"'type' must be one of {', '.join(JOB_TYPES)}; got {job_type!r}.")
    model = _string(body, "model", required=True)
    if not model:
        raise invalid("model", "'model' must not be empty.")
    priority = body.get("priority")
    if priority is None:
        priority = "normal"
    elif priority not in PRIORITIES:
        raise invalid("priority", f"'priority' must be one of {', '.join(PRIORITIES)}; got {priority!r}.")
    timeout_seconds = body.get("timeout_seconds")
    if timeout_seconds is None:
        timeout_seconds = 300
    elif not _is_int(timeout_seconds) or not 1 <= timeout_seconds <= 86400:
        raise invalid("timeout_seconds", "'timeout_seconds' must be an integer from 1 to 86400.")
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise invalid("metadata", "'metadata' must be an object of strings.")
    else:
        items: Dict[Any, Any] = metadata  # pyright: ignore[reportUnknownVariableType]
        if len(items) > MAX_METADATA_KEYS:
            raise invalid("metadata", f"'metadata' holds at most {MAX_METADATA_KEYS} keys; got {len(items)}.")
        for key, value in items.items():
            if not isinstance(value, str):
                raise invalid(f"metadata.{key}", f"metadata values must be strings; {key!r} is not.")
        metadata = {str(key): str(value) for key, value in items.items()}
    return {
        "type": job_type,
        "model": model,
        "priority": priority,
        "timeout_seconds": timeout_seconds,
        "metadata": metadata,
    }


def _sampling(body: Dict[str, Any], params: Dict[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is None:
        temperature = 0.7
    elif not _is_number(temperature) or not 0 <= temperature <= 2:
        raise invalid("temperature", "'temperature' must be a number from 0 to 2.")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 1):
        raise invalid("max_tokens", "'max_tokens' must be an integer of at least 1.")
    params["temperature"] = temperature
    params["max_tokens"] = max_tokens


def _string_list(body: Dict[str, Any], name: str, *, min_items: int, max_items: int) -> List[str]:
    value = body.get(name)
    if value is None:
        raise _missing(name)
    if not isinstance(value, list):
        raise invalid(name, f"{name!r} must be an array of strings.")
    items: List[Any] = value  # pyright: ignore[reportUnknownVariableType]
    if not min_items <= len(items) <= max_items:
        raise invalid(name, f"{name!r} must hold {min_items} to {max_items} items; got {len(items)}.")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise invalid(f"{name}[{index}]", f"{name}[{index}] must be a string.")
    return [str(item) for item in items]


def _messages(body: Dict[str, Any]) -> List[Dict[str, str]]:
    value = body.get("messages")
    if value is None:
        raise _missing("messages")
    if not isinstance(value, list) or not value:
        raise invalid("messages", "'messages' must be a non-empty array of {role, content}.")
    messages: List[Dict[str, str]] = []
    for index, item in enumerate(value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if not isinstance(item, dict):
            raise invalid(f"messages[{index}]", f"messages[{index}] must be an object with role and content.")
        message: Dict[str, Any] = item  # pyright: ignore[reportUnknownVariableType]
        role, content = message.get("role"), message.get("content")
        if role is None:
            raise _missing(f"messages[{index}].role")
        if role not in ROLES:
            raise invalid(f"messages[{index}].role", f"A role is one of {', '.join(ROLES)}; got {role!r}.")
        if content is None:
            raise _missing(f"messages[{index}].content")
        if not isinstance(content, str):
            raise invalid(f"messages[{index}].content", f"messages[{index}].content must be a string.")
        messages.append({"role": str(role), "content": content})
    return messages


def validate_submission(body: object, file_exists: Callable[[str], bool]) -> Dict[str, Any]:
    """The submission with defaults filled in; ``file_exists(token)`` checks file tokens."""
    if not isinstance(body, dict):
        raise FakeAPIError(400, "invalid_json", "The body must be a JSON object.")
    fields: Dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
    params = _common(fields)
    job_type = params["type"]
    if job_type == "llm_complete":
        params["prompt"] = _string(fields, "prompt", required=True)
        _sampling(fields, params)
        inputs, input_param = [params["prompt"]], "prompt"
    elif job_type == "llm_chat":
        params["messages"] = _messages(fields)
        _sampling(fields, params)
        inputs, input_param = [m["content"] for m in params["messages"]], "messages"
    elif job_type == "llm_embed":
        params["texts"] = _string_list(fields, "texts", min_items=1, max_items=MAX_TEXTS)
        normalize = fields.get("normalize")
        if normalize is not None and not isinstance(normalize, bool):
            raise invalid("normalize", "'normalize' must be a boolean.")
        params["normalize"] = True if normalize is None else normalize
        inputs, input_param = params["texts"], "texts"
    else:
        params["file_tokens"] = _string_list(fields, "file_tokens", min_items=1, max_items=1000)
        params["instruction"] = _string(fields, "instruction", required=False)
        inputs, input_param = [], "file_tokens"
        for index, token in enumerate(params["file_tokens"]):
            if not file_exists(token):
                raise FakeAPIError(
                    422, "file_not_found", f"No file has the token {token!r}.", param=f"file_tokens[{index}]"
                )

    model = MODELS.get(params["model"])
    if model is None:
        raise FakeAPIError(
            422, "model_not_found", f"No model {params['model']!r}; try one of {', '.join(MODELS)}.", param="model"
        )
    if job_type not in model.job_types:
        raise FakeAPIError(
            422,
            "unsupported_job_type",
            f"Model {model.id!r} does not run {job_type!r} jobs (it runs {', '.join(model.job_types)}).",
            param="model",
        )
    if count_tokens(*inputs) > model.context_window:
        raise FakeAPIError(
            422,
            "context_length_exceeded",
            f"The input is longer than {model.id!r}'s context window of {model.context_window} tokens.",
            param=input_param,
        )
    return params
