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
from typing import Any, Dict, List, Tuple, Mapping, Callable
from functools import cache

from .._spec import (
    JOB_TYPES,
    TEMPERATURE_DEFAULT,
    JOB_PRIORITY_DEFAULT,
    EMBED_NORMALIZE_DEFAULT,
    TIMEOUT_SECONDS_DEFAULT,
)
from ._errors import FakeAPIError, bad_query
from .._param_check import first_problem
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


@cache
def _optional_fields(job_type: str) -> Tuple[str, ...]:
    """The fields with a default that a job of ``job_type`` has, read off its generated params type."""
    (variants, *_) = typing.get_args(JobCreateParams)  # Annotated[Union[...], discriminator]
    for variant in typing.get_args(variants):
        hints = typing.get_type_hints(variant)
        if typing.get_args(hints["type"]) == (job_type,):
            return tuple(name for name in hints if name in _JOB_DEFAULTS)
    raise KeyError(job_type)


def check_body(typ: Any, body: object) -> Dict[str, Any]:
    """A JSON body checked against the request type ``typ``."""
    if not isinstance(body, dict):
        raise FakeAPIError(400, "invalid_json", f"The body must be a JSON object, not {_json_kind(body)}.")
    fields: Dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
    problem = first_problem(typ, fields)
    if problem is None:
        return fields
    if problem.kind == "missing" or (problem.kind == "tag" and problem.value is None):
        raise FakeAPIError(
            422, "missing_parameter", f"Missing required parameter {problem.path!r}.", param=problem.path
        )
    if problem.kind == "tag":
        message = f"{problem.path!r} must be one of {', '.join(JOB_TYPES)}; got {problem.value!r}."
    else:
        message = f"{problem.path!r}: {problem.message}; got {problem.value!r}."
    raise FakeAPIError(422, "invalid_parameter", message, param=problem.path)


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
    problem = first_problem(typ, values)
    if problem is not None:
        name = problem.path.split("[")[0]
        raise bad_query(name, f"{name!r}: {problem.message}; got {values.get(name)!r}.")
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


def validate_submission(body: object, file_exists: Callable[[str], bool]) -> Dict[str, Any]:
    """The submission with defaults filled in; ``file_exists(token)`` checks file tokens."""
    fields = check_body(JobCreateParams, body)
    job_type: str = fields["type"]
    params: Dict[str, Any] = dict(fields)
    for name in _optional_fields(job_type):
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
