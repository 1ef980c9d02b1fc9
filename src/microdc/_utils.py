"""Small helpers used by generated resources: path parameters and argument checks."""

from __future__ import annotations

from typing import Any, Dict, Callable, Optional
from functools import cache
from urllib.parse import quote

import pydantic

from ._types import Omit, NotGiven

__all__ = ["params_validator", "path_param", "strip_not_given"]


def path_param(name: str, value: object) -> str:
    """Check a path parameter and quote it for the URL.

    Raises ``TypeError`` for a non-string and ``ValueError`` for an empty string or
    a dot segment (``.``/``..``, which URL normalisation would turn into another
    path, e.g. ``jobs.cancel("..")`` into ``DELETE /api/v1``), before anything is sent.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError(f"Expected a non-empty value for `{name}` but received {value!r}")
    if value in (".", ".."):
        raise ValueError(f"`{name}` cannot be {value!r}")
    return quote(value, safe="")


def strip_not_given(values: Dict[str, object]) -> Dict[str, object]:
    """``values`` without the entries that were not passed (``NOT_GIVEN``, ``omit``, ``None``)."""
    return {
        key: value for key, value in values.items() if value is not None and not isinstance(value, (NotGiven, Omit))
    }


@cache
def _adapter(typ: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(typ, config=None)


def params_validator(typ: Any) -> Callable[[str, Dict[str, object]], Dict[str, object]]:
    """A checker for the keyword arguments of one method, described by the TypedDict ``typ``.

    The checker drops arguments that were not passed, then validates the rest
    strictly (no coercion) and raises ``TypeError`` (wrong type, missing argument) or
    ``ValueError`` (wrong value) naming the argument. It returns the values as given,
    so what is sent is exactly what the caller passed.
    """

    def validate(method: str, values: Dict[str, object]) -> Dict[str, object]:
        params = strip_not_given(values)
        try:
            _adapter(typ).validate_python(params, strict=True)
        except pydantic.ValidationError as exc:
            raise _argument_error(method, exc, params) from None
        return params

    return validate


def _argument_error(method: str, exc: pydantic.ValidationError, params: Dict[str, object]) -> Exception:
    first = exc.errors(include_url=False, include_context=False)[0]
    kind = first.get("type", "")
    if kind == "union_tag_invalid":
        # A tagged union (job types) named by a tag it does not know.
        return ValueError(f"{method}(): invalid value for `type`: {first.get('msg')}")
    location = _location(first.get("loc", ()), params)
    given: Optional[object] = first.get("input")
    if kind == "missing":
        return TypeError(f"{method}() missing required argument: `{location}`")
    if kind.endswith("_type") or kind == "is_instance_of":
        return TypeError(
            f"{method}(): `{location}` has the wrong type: {first.get('msg')} (got {type(given).__name__})"
        )
    return ValueError(f"{method}(): invalid value for `{location}`: {first.get('msg')} (got {given!r})")


def _location(loc: Any, params: Dict[str, object]) -> str:
    parts = [str(part) for part in loc]
    # A tagged union puts the tag value (e.g. "llm_chat") first; an argument name never is.
    if parts and parts[0] not in params and parts[0] in {str(v) for v in params.values() if isinstance(v, str)}:
        parts = parts[1:]
    return ".".join(parts) or "arguments"
