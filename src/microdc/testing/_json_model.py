"""``json-1``: the fake's model for structured outputs.

It answers an ``llm_complete`` or ``llm_chat`` job with a JSON value valid against
the first JSON Schema in its input (the prompt; the messages' contents in order),
in a sentence and a ```` ```json ```` fence. A JSON Schema is a JSON object holding
at least one schema keyword (``type``, ``properties``, ``$ref``, ``anyOf``, ...). The
value comes from :class:`SchemaValues` seeded by the fake's seed and the input, so
the same job on a fake of the same seed gets the same answer.

An invalid reply (``Faults(invalid_output_rate=...)``) is one no validator of that
schema accepts: the value without its first required property when the schema is
an object that has one, else a sentence with no JSON in it.
"""

from __future__ import annotations

import json
import random
import hashlib
from typing import Any, Dict, Iterable, Optional, Sequence, cast

from ._schema_values import SchemaValues

__all__ = ["SCHEMA_KEYWORDS", "first_schema", "json_reply"]

SCHEMA_KEYWORDS = frozenset(
    {"type", "properties", "$ref", "$defs", "anyOf", "oneOf", "allOf", "enum", "const", "items", "prefixItems"}
)
NO_SCHEMA_REPLY = "There is no JSON Schema in the input, so here is an empty object:\n```json\n{}\n```"
UNSURE_REPLY = "I am not sure what the answer should look like, sorry."
_DECODER = json.JSONDecoder()


def _objects(text: str) -> Iterable[Dict[str, Any]]:
    """Every top-level JSON object in ``text``, in order."""
    at = text.find("{")
    while at != -1:
        try:
            value, end = _DECODER.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict):
            yield cast(Dict[str, Any], value)
        at = text.find("{", end)


def first_schema(texts: Sequence[str]) -> Optional[Dict[str, Any]]:
    """The first JSON object in ``texts`` that holds a schema keyword."""
    for text in texts:
        for candidate in _objects(text):
            if SCHEMA_KEYWORDS & candidate.keys():
                return candidate
    return None


def json_reply(texts: Sequence[str], *, seed: Optional[int], invalid: bool) -> str:
    """``json-1``'s reply to a job whose input texts are ``texts``."""
    schema = first_schema(texts)
    if schema is None:
        return NO_SCHEMA_REPLY
    digest = hashlib.sha256("\0".join([f"json-1:{seed}", *texts]).encode()).digest()
    values = SchemaValues(schema, random.Random(digest))
    value = values.value()
    if invalid:
        broken = _without_a_required_property(values, schema, value)
        if broken is None:
            return UNSURE_REPLY
        value = broken
    return f"Here is the JSON you asked for.\n```json\n{json.dumps(value, ensure_ascii=False)}\n```"


def _without_a_required_property(values: SchemaValues, schema: Dict[str, Any], value: Any) -> Optional[Any]:
    top = values.merged(schema)
    required = [name for name in cast(Sequence[object], top.get("required") or []) if isinstance(name, str)]
    if top.get("type") != "object" or not required or not isinstance(value, dict):
        return None
    dropped = required[0]
    return {k: v for k, v in cast(Dict[str, Any], value).items() if k != dropped}
