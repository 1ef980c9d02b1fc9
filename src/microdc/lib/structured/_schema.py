"""The pydantic side of structured outputs: one ``TypeAdapter`` per response model, and its JSON Schema.

A response model is anything ``pydantic.TypeAdapter`` takes: a pydantic or
``microdc`` model, a dataclass, a ``TypedDict``, ``list[...]``, a ``Literal``, an
``Enum``, a union. Building an adapter walks the whole type, so each is built once
and kept (types that cannot be dict keys, rare, are built each time).
"""

from __future__ import annotations

import json
import functools
from typing import Any, Dict, List, cast

import pydantic

from ._json_schema import JSON_SCHEMA_ATTRIBUTE

__all__ = ["adapter_for", "compact_schema", "schema_text"]


def _build_adapter(response_model: Any) -> pydantic.TypeAdapter[Any]:
    try:
        return pydantic.TypeAdapter(response_model)
    except (TypeError, pydantic.PydanticUserError) as exc:
        raise _not_a_type(response_model, exc) from None


_cached_adapter = functools.lru_cache(maxsize=256)(_build_adapter)


def adapter_for(response_model: object) -> pydantic.TypeAdapter[Any]:
    """The ``TypeAdapter`` of ``response_model``; ``TypeError`` saying what to pass for a value that is not a type."""
    return _cached_adapter(response_model) if _hashable(response_model) else _build_adapter(response_model)


def _not_a_type(response_model: object, exc: Exception) -> TypeError:
    reason = str(exc).split("\n", 1)[0]
    return TypeError(
        f"response_model must be a type pydantic can validate and describe as a JSON Schema (a model, a "
        f"dataclass, a TypedDict, list[...], a Literal, an Enum), got {response_model!r}: {reason}"
    )


def _derived_title(name: str) -> str:
    # What pydantic writes as a field's "title" when the field sets none.
    return name.replace("_", " ").title()


def compact_schema(schema: object) -> object:
    """The schema without the titles pydantic derives from property names (they repeat the name: tokens for nothing).

    A title a field sets itself (``Field(title=...)``), a model's title and everything else stay.
    """
    if isinstance(schema, list):
        return [compact_schema(item) for item in cast(List[object], schema)]
    if not isinstance(schema, dict):
        return schema
    out: Dict[str, object] = {}
    for key, value in cast(Dict[str, object], schema).items():
        if key == "properties" and isinstance(value, dict):
            props: Dict[str, object] = {}
            for name, prop in cast(Dict[str, object], value).items():
                prop = compact_schema(prop)
                if isinstance(prop, dict):
                    fields = cast(Dict[str, object], prop)
                    if fields.get("title") == _derived_title(name):
                        prop = {k: v for k, v in fields.items() if k != "title"}
                props[name] = prop
            out[key] = props
        else:
            out[key] = compact_schema(value)
    return out


def schema_text(response_model: object) -> str:
    """The JSON Schema of ``response_model`` (``TypeAdapter(T).json_schema()``), compact, as one line of JSON."""
    return _schema_text(response_model) if _hashable(response_model) else _build_schema_text(response_model)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _build_schema_text(response_model: object) -> str:
    adapter = adapter_for(response_model)
    given: object = getattr(response_model, JSON_SCHEMA_ATTRIBUTE, None)  # from_json_schema(): sent as given
    try:
        schema = compact_schema(cast(Dict[str, Any], given) if isinstance(given, dict) else adapter.json_schema())
    except pydantic.PydanticUserError as exc:  # a type pydantic validates but cannot describe (a Callable, ...)
        raise _not_a_type(response_model, exc) from None
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


_schema_text = functools.lru_cache(maxsize=256)(_build_schema_text)
