"""``from_json_schema``: a response model of a JSON Schema document, validated by pydantic, sent as given."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest
import pydantic

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC
from microdc.lib.structured import instruction, validate_reply, from_json_schema

from .conftest import submissions

INVOICE: Dict[str, Any] = {
    "title": "Invoice",
    "type": "object",
    "properties": {
        "number": {"type": "string", "minLength": 1},
        "issued": {"type": "string", "format": "date"},
        "total": {"type": "number", "exclusiveMinimum": 0},
        "kind": {"enum": ["a", "b"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "minItems": 1, "maxItems": 3},
    },
    "required": ["number", "issued", "total", "lines"],
    "additionalProperties": False,
    "$defs": {
        "Line": {
            "type": "object",
            "properties": {"sku": {"type": "string"}, "parts": {"type": "array", "items": {"$ref": "#/$defs/Line"}}},
            "required": ["sku"],
        }
    },
}
Invoice = from_json_schema(INVOICE)


def _errors(data: Any) -> Any:
    _, errors = validate_reply(json.dumps(data), Invoice)
    return None if errors is None else sorted((tuple(str(p) for p in e["loc"]), e["type"]) for e in errors)


def test_a_valid_document_parses_to_plain_json_values() -> None:
    data = {"number": "7", "issued": "2024-02-29", "total": 3, "lines": [{"sku": "a", "parts": [{"sku": "b"}]}]}
    value, errors = validate_reply(f"Here:\n```json\n{json.dumps(data)}\n```", Invoice)
    assert errors is None
    assert value == {**data, "total": 3.0}
    assert isinstance(value["issued"], str)


_FORBIDDEN: List[Tuple[Dict[str, Any], Any]] = [
    ({"issued": "2024-01-01", "total": 1, "lines": [{"sku": "a"}]}, [(("number",), "missing")]),
    (
        {"number": "", "issued": "2024-01-01", "total": 0, "lines": [{"sku": "a"}]},
        [(("number",), "string_too_short"), (("total",), "greater_than")],
    ),
    (
        {"number": "1", "issued": "not a date", "total": 1, "lines": [{"sku": "a"}]},
        [(("issued",), "date_from_datetime_parsing")],
    ),
    ({"number": "1", "issued": "2024-01-01", "total": 1, "lines": []}, [(("lines",), "too_short")]),
    ({"number": "1", "issued": "2024-01-01", "total": 1, "lines": [{}]}, [(("lines", "0", "sku"), "missing")]),
    (
        {"number": "1", "issued": "2024-01-01", "total": 1, "lines": [{"sku": "a"}], "kind": "c"},
        [(("kind",), "literal_error")],
    ),
    (
        {"number": "1", "issued": "2024-01-01", "total": 1, "lines": [{"sku": "a"}], "extra": 1},
        [(("extra",), "extra_forbidden")],
    ),
    (
        {"number": "1", "issued": "2024-01-01", "total": 1, "lines": [{"sku": "a"}], "pair": [1, "x", 2]},
        [(("pair",), "too_long")],
    ),
]


@pytest.mark.parametrize(("data", "expected"), _FORBIDDEN)
def test_what_the_schema_forbids_is_a_validation_error(data: Dict[str, Any], expected: Any) -> None:
    assert _errors(data) == expected


def test_the_instruction_sends_the_schema_as_given() -> None:
    text = instruction(Invoice)
    assert json.loads(text.split("\n", 1)[1]) == INVOICE
    assert Invoice.__name__ == "Invoice"


def test_a_schema_that_is_not_an_object_or_points_nowhere_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        from_json_schema([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="points at nothing"):
        from_json_schema({"$ref": "#/$defs/Missing"})


async def test_the_fake_answers_it_and_ask_returns_the_parsed_value(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    invoices = [await client.jobs.ask("Extract the invoice.", model="json-1", response_model=Invoice) for _ in range(5)]
    assert all(_errors(invoice) is None for invoice in invoices)
    assert all(isinstance(pydantic.TypeAdapter(Invoice).validate_python(invoice), dict) for invoice in invoices)
    assert all(body["prompt"].endswith(instruction(Invoice)) for body in submissions(fake))
