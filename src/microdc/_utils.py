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

    Raises ``TypeError`` for a non-string and ``ValueError`` for an empty string,
    before anything is sent.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError(f"Expected a non-empty value for `{name}` but received {value!r}")
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
            raise _argument_error(method, exc) from None
        return params

    return validate


def _argument_error(method: str, exc: pydantic.ValidationError) -> Exception:
    errors = exc.errors(include_url=False, include_context=False)
    # A union of TypedDicts reports one error per variant; the tagged variant's come
    # first when pydantic can pick it, so the first error is the most useful.
    first = errors[0]
    location = _location(first.get("loc", ()))
    kind = first.get("type", "")
    given: Optional[object] = first.get("input")
    if kind == "missing":
        return TypeError(f"{method}() missing required argument: `{location}`")
    if kind.endswith("_type") or kind == "is_instance_of":
        return TypeError(
            f"{method}(): `{location}` has the wrong type: {first.get('msg')} (got {type(given).__name__})"
        )
    return ValueError(f"{method}(): invalid value for `{location}`: {first.get('msg')} (got {given!r})")


def _location(loc: Any) -> str:
    parts = [
        str(part) for part in loc if not (isinstance(part, str) and part.startswith(("function-", "tagged-union")))
    ]
    # Drop the union-variant names pydantic inserts (TypedDict class names).
    parts = [p for p in parts if not (p[:1].isupper() and p.endswith("Params"))]
    return ".".join(parts) or "arguments"
