"""Checks each request the way openapi.yml says, with the SDK's generated types as the rules.

``scripts/generate`` writes a ``TypedDict`` per request (``JobCreateParams``,
``JobListParams``, ``FileUploadFormParams``...) with the spec's enums as ``Literal``
and its limits as ``pydantic.Field`` constraints. The fake validates bodies, query
strings and form fields against those types (strictly: no coercion, ``null`` only
where the spec allows it), so its rules cannot drift from the spec; the defaults it
fills in come from the generated :mod:`microdc._spec`. What the spec cannot say (a
model that exists and runs the job type, a file token that was issued, a context
window) is checked here by hand.

Errors follow one rule: a query value that cannot be read gets 400; a body or form
field that was read but is wrong gets 422 with ``param`` naming it (``prompt``,
``messages[2].role``, ``metadata.owner``); a body that is not a JSON object gets 400.
"""

from __future__ import annotations

import re
import typing
import collections.abc
from typing import Any, Dict, List, Tuple, Union, Mapping, Callable, Optional, cast
from functools import cache

import pydantic

from .._spec import (
    JOB_TYPES,
    TEMPERATURE_DEFAULT,
    JOB_PRIORITY_DEFAULT,
    EMBED_NORMALIZE_DEFAULT,
    TIMEOUT_SECONDS_DEFAULT,
)
from ._errors import FakeAPIError, bad_query
from ._models_catalog import MODELS, count_tokens
from ..types.job_create_params import JobCreateParams

__all__ = ["check_body", "check_form", "check_query", "validate_submission"]

_INTEGER = re.compile(r"-?[0-9]+")
_ARRAYS = (list, collections.abc.Sequence)
# What a job's body means when an optional field is left out.
_JOB_DEFAULTS: Mapping[str, object] = {
    "priority": JOB_PRIORITY_DEFAULT,
    "timeout_seconds": TIMEOUT_SECONDS_DEFAULT,
    "metadata": {},
    "temperature": TEMPERATURE_DEFAULT,
    "max_tokens": None,
    "normalize": EMBED_NORMALIZE_DEFAULT,
    "instruction": None,
}
_JOB_FIELDS: Mapping[str, Tuple[str, ...]] = {
    "llm_complete": ("priority", "timeout_seconds", "metadata", "temperature", "max_tokens"),
    "llm_chat": ("priority", "timeout_seconds", "metadata", "temperature", "max_tokens"),
    "llm_embed": ("priority", "timeout_seconds", "metadata", "normalize"),
    "document": ("priority", "timeout_seconds", "metadata", "instruction"),
}


@cache
def _adapter(typ: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(typ)


def _param(loc: Tuple[Union[int, str], ...]) -> str:
    """``("messages", 2, "role")`` → ``messages[2].role``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _first_error(exc: pydantic.ValidationError, tag: Optional[str]) -> Tuple[str, str, str]:
    """``(kind, param, message)`` of the first problem pydantic found."""
    error = exc.errors(include_url=False, include_context=False)[0]
    kind, loc = error["type"], tuple(error["loc"])
    if tag is not None and loc and loc[0] == tag:
        loc = loc[1:]  # a tagged union puts the tag first
    if kind == "union_tag_not_found":
        return "missing", "type", "Missing required parameter 'type'."
    if kind == "union_tag_invalid":
        given = error.get("input")
        return "invalid", "type", f"'type' must be one of {', '.join(JOB_TYPES)}; got {given!r}."
    param = _param(loc)
    if kind == "missing":
        return "missing", param, f"Missing required parameter {param!r}."
    return "invalid", param, f"{param!r}: {error['msg']}; got {error.get('input')!r}."


def check_body(typ: Any, body: object, *, tag: Optional[str] = None) -> Dict[str, Any]:
    """A JSON body checked against the request type ``typ`` (``tag``: its discriminator value)."""
    if not isinstance(body, dict):
        raise FakeAPIError(400, "invalid_json", f"The body must be a JSON object, not {_json_kind(body)}.")
    fields: Dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
    try:
        _adapter(typ).validate_python(fields, strict=True)
    except pydantic.ValidationError as exc:
        kind, param, message = _first_error(exc, tag)
        code = "missing_parameter" if kind == "missing" else "invalid_parameter"
        raise FakeAPIError(422, code, message, param=param) from None
    return fields


def check_form(typ: Any, fields: Mapping[str, str]) -> Dict[str, Any]:
    """Multipart form fields (text only) checked against ``typ``; 422 naming the field."""
    return check_body(typ, dict(fields))


def check_query(typ: Any, query: Mapping[str, List[str]]) -> Dict[str, Any]:
    """The query string read into the types of ``typ``'s fields, then checked; 400 naming the parameter.

    Arrays are comma-separated (``style: form, explode: false``); booleans are
    ``true``/``false``; integers are decimal. An empty value is a value, and is
    checked like any other (an empty ``limit`` is not a number).
    """
    hints = _query_hints(typ)
    values: Dict[str, Any] = {}
    for name, raw in query.items():
        hint = hints.get(name)
        if hint is None:
            continue  # JSON Schema allows parameters it does not describe
        if len(raw) > 1 and typing.get_origin(hint) not in _ARRAYS:
            raise bad_query(name, f"{name!r} was given {len(raw)} times; give it once.")
        values[name] = _read_query_value(name, ",".join(raw), hint)
    try:
        _adapter(typ).validate_python(values, strict=True)
    except pydantic.ValidationError as exc:
        _kind, param, message = _first_error(exc, None)
        raise bad_query(param.split("[")[0], message) from None
    return values


@cache
def _query_hints(typ: Any) -> Dict[str, Any]:
    return dict(typing.get_type_hints(typ))


def _read_query_value(name: str, raw: str, hint: Any) -> object:
    if typing.get_origin(hint) in _ARRAYS:
        return raw.split(",") if raw else []
    if hint is bool:
        if raw not in ("true", "false"):
            raise bad_query(name, f"{name!r} must be true or false; got {raw!r}.")
        return raw == "true"
    if hint is int:
        if not _INTEGER.fullmatch(raw):
            raise bad_query(name, f"{name!r} must be an integer; got {raw!r}.")
        return int(raw)
    return raw


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__


def _job_type(body: object) -> Optional[str]:
    tag = cast(Dict[str, Any], body).get("type") if isinstance(body, dict) else None
    return tag if isinstance(tag, str) else None


def validate_submission(body: object, file_exists: Callable[[str], bool]) -> Dict[str, Any]:
    """The submission with defaults filled in; ``file_exists(token)`` checks file tokens."""
    fields = check_body(JobCreateParams, body, tag=_job_type(body))
    job_type: str = fields["type"]
    params: Dict[str, Any] = dict(fields)
    for name in _JOB_FIELDS[job_type]:
        if name not in params:
            default = _JOB_DEFAULTS[name]
            params[name] = dict(default) if isinstance(default, dict) else default  # pyright: ignore[reportUnknownArgumentType]
    if job_type == "llm_complete":
        inputs, input_param = [params["prompt"]], "prompt"
    elif job_type == "llm_chat":
        params["messages"] = [{"role": m["role"], "content": m["content"]} for m in params["messages"]]
        inputs, input_param = [m["content"] for m in params["messages"]], "messages"
    elif job_type == "llm_embed":
        params["texts"] = list(params["texts"])
        inputs, input_param = params["texts"], "texts"
    else:
        params["file_tokens"] = list(params["file_tokens"])
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
