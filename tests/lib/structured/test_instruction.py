"""The instruction: its exact text, what it leaves out of pydantic's schema, and where it goes in a job."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Dict, List, Literal, Optional
from dataclasses import dataclass

import pytest
import pydantic
from typing_extensions import TypedDict

import microdc
from microdc.lib.structured import instruction, with_instruction

LEAD = "Answer with JSON valid against this JSON Schema, in a ```json block:\n"


class Line(pydantic.BaseModel):
    sku: str
    unit_price: float = pydantic.Field(gt=0)


class Invoice(pydantic.BaseModel):
    number: str = pydantic.Field(title="Invoice number")
    title: str
    lines: List[Line]
    note: Optional[str] = None


def _schema_of(text: str) -> Any:
    assert text.startswith(LEAD)
    return json.loads(text[len(LEAD) :])


def test_the_instruction_is_one_sentence_and_the_compact_schema() -> None:
    assert instruction(int) == LEAD + '{"type":"integer"}'
    assert instruction(Literal["yes", "no"]) == LEAD + '{"enum":["yes","no"],"type":"string"}'


def test_the_schema_drops_only_the_titles_pydantic_derives_from_field_names() -> None:
    schema = _schema_of(instruction(Invoice))
    full = pydantic.TypeAdapter(Invoice).json_schema()
    assert schema["properties"]["number"]["title"] == "Invoice number"  # set by the field: kept
    assert "title" not in schema["properties"]["title"]  # a property named "title" is still there
    assert "title" in schema["properties"]  # ... and so is the property
    assert "title" not in schema["$defs"]["Line"]["properties"]["unit_price"]
    assert schema["title"] == "Invoice"
    assert schema["$defs"]["Line"]["title"] == "Line"
    assert len(instruction(Invoice)) < len(LEAD) + len(json.dumps(full))
    without_titles = json.loads(json.dumps(full))
    for props in (without_titles["properties"], without_titles["$defs"]["Line"]["properties"]):
        for name, prop in props.items():
            if prop.get("title") == name.replace("_", " ").title():
                del prop["title"]
    assert schema == without_titles


class Colour(Enum):
    RED = "red"


class Point(TypedDict):
    x: int


@dataclass
class Box:
    side: float


@pytest.mark.parametrize(
    "response_model", [Invoice, Colour, Point, Box, List[Line], Dict[str, int], Literal[1, 2], Optional[Line]]
)
def test_every_kind_of_type_gets_the_schema_pydantic_writes_for_it(response_model: Any) -> None:
    schema = _schema_of(instruction(response_model))
    assert schema.get("type") == pydantic.TypeAdapter(response_model).json_schema().get("type")


def test_a_microdc_model_works_like_a_pydantic_one() -> None:
    class Reply(microdc.BaseModel):
        answer: str

    assert _schema_of(instruction(Reply))["required"] == ["answer"]


def test_a_value_that_is_not_a_type_raises_type_error_saying_what_to_pass() -> None:
    with pytest.raises(TypeError, match="response_model must be a type pydantic can validate"):
        instruction(42)


def test_it_is_appended_to_a_completion_prompt_after_a_blank_line() -> None:
    params = {"type": "llm_complete", "model": "json-1", "prompt": "Extract the invoice.", "max_tokens": 10}
    sent = with_instruction(params, Invoice)
    assert sent == {**params, "prompt": "Extract the invoice.\n\n" + instruction(Invoice)}
    assert params["prompt"] == "Extract the invoice."  # the caller's dict is left alone


def test_it_is_a_system_message_after_the_chats_own_system_messages() -> None:
    messages = [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "the invoice?"},
    ]
    sent = with_instruction({"type": "llm_chat", "model": "json-1", "messages": messages}, Invoice)
    assert sent["messages"] == [messages[0], {"role": "system", "content": instruction(Invoice)}, *messages[1:]]
    assert len(messages) == 4


def test_a_job_without_text_output_cannot_have_a_response_model() -> None:
    with pytest.raises(ValueError, match="llm_complete or llm_chat"):
        with_instruction({"type": "llm_embed", "model": "embed-1", "texts": ["a"]}, Invoice)
