"""Response models: lenient by default, strict on request, unknown data kept, unions by tag."""

from __future__ import annotations

import json
import datetime
from typing import Any, Dict, List, Union, Optional, cast

import httpx
import pytest
from pydantic import Field
from typing_extensions import Literal, Annotated

from microdc import BaseModel, APIResponseValidationError
from microdc._models import PropertyInfo, parse_json

from .conftest import Recorder, reply, make_client


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int


class Item(BaseModel):
    id: str
    status: Literal["queued", "running", "completed"]
    count: int
    created_at: datetime.datetime
    usage: Optional[Usage] = None
    note: Optional[str] = None
    from_: Optional[str] = Field(default=None, alias="from")


class CompleteResult(BaseModel):
    type: Literal["llm_complete"]
    text: str


class EmbedResult(BaseModel):
    type: Literal["llm_embed"]
    embeddings: List[List[float]]
    dimensions: int


Result = Annotated[Union[CompleteResult, EmbedResult], PropertyInfo(discriminator="type")]


class Holder(BaseModel):
    result: Result


class OptionalHolder(BaseModel):
    result: Optional[Result] = None


class Listing(BaseModel):
    data: List[Item]


GOOD = {
    "id": "job_1",
    "status": "running",
    "count": 3,
    "created_at": "2024-05-01T12:00:00Z",
    "usage": {"input_tokens": 1, "output_tokens": 2},
}


async def fetch(
    cast_to: object,
    body: object = None,
    *,
    strict: bool = False,
    content: Optional[bytes] = None,
    content_type: Optional[str] = None,
) -> object:
    """GET an answer of ``body`` as JSON (or raw ``content``) and parse it as ``cast_to``."""
    headers = {"x-request-id": "req_model"}
    if content_type is not None:
        headers["content-type"] = content_type
    answer = reply(200, body, headers=headers, content=content)
    async with make_client(Recorder(answer), _strict_response_validation=strict, max_retries=0) as client:
        return await client.get("/api/v1/things/1", cast_to=cast(Any, cast_to))


async def fetch_item(body: object, *, strict: bool = False) -> Item:
    item = await fetch(Item, body, strict=strict)
    assert isinstance(item, Item)
    return item


# ---------------------------------------------------------------- fitting answers


async def test_answer_that_fits_is_validated() -> None:
    item = await fetch_item(GOOD)
    assert item.created_at == datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
    assert isinstance(item.usage, Usage)
    assert item.usage.output_tokens == 2


async def test_strict_accepts_an_answer_that_fits() -> None:
    item = await fetch_item(GOOD, strict=True)
    assert item.count == 3


async def test_request_id_is_set_on_the_parsed_object() -> None:
    item = await fetch_item(GOOD)
    assert item._request_id == "req_model"


async def test_request_id_is_set_after_lenient_parse() -> None:
    item = await fetch_item({**GOOD, "count": "many"})
    assert item._request_id == "req_model"


# ---------------------------------------------------------------- lenient vs strict


async def test_wrong_typed_field_is_kept_in_lenient_mode() -> None:
    item = await fetch_item({**GOOD, "count": "many"})
    assert item.count == "many"  # type: ignore[comparison-overlap]


async def test_other_fields_are_still_validated_when_one_is_off() -> None:
    item = await fetch_item({**GOOD, "count": "many"})
    assert isinstance(item.created_at, datetime.datetime)
    assert isinstance(item.usage, Usage)


async def test_nested_wrong_field_keeps_the_nested_model() -> None:
    item = await fetch_item({**GOOD, "usage": {"input_tokens": "lots", "output_tokens": 2}})
    assert isinstance(item.usage, Usage)
    assert item.usage.input_tokens == "lots"  # type: ignore[comparison-overlap]
    assert item.usage.output_tokens == 2


async def test_wrong_typed_field_raises_in_strict_mode() -> None:
    with pytest.raises(APIResponseValidationError) as info:
        await fetch_item({**GOOD, "count": "many"}, strict=True)
    assert info.value.status_code == 200
    assert info.value.body == {**GOOD, "count": "many"}
    assert "count" in str(info.value)
    assert "/api/v1/things/1" in str(info.value)


async def test_missing_required_field_reads_as_none_and_stays_unset_in_lenient_mode() -> None:
    body = {key: value for key, value in GOOD.items() if key != "count"}
    item = await fetch_item(body)
    assert item.count is None
    assert "count" not in item.model_fields_set


async def test_missing_required_field_raises_in_strict_mode() -> None:
    body = {key: value for key, value in GOOD.items() if key != "count"}
    with pytest.raises(APIResponseValidationError):
        await fetch_item(body, strict=True)


async def test_unknown_enum_value_is_kept_in_lenient_mode() -> None:
    item = await fetch_item({**GOOD, "status": "paused"})
    assert item.status == "paused"  # type: ignore[comparison-overlap]


async def test_unknown_enum_value_raises_in_strict_mode() -> None:
    with pytest.raises(APIResponseValidationError):
        await fetch_item({**GOOD, "status": "paused"}, strict=True)


async def test_unknown_field_is_kept() -> None:
    item = await fetch_item({**GOOD, "shiny_new_field": {"a": 1}})
    assert item.model_extra == {"shiny_new_field": {"a": 1}}
    assert getattr(item, "shiny_new_field") == {"a": 1}  # noqa: B009


async def test_unknown_field_is_kept_in_lenient_fallback() -> None:
    item = await fetch_item({**GOOD, "count": "x", "shiny_new_field": 1})
    assert item.model_extra == {"shiny_new_field": 1}


async def test_unknown_field_is_kept_in_strict_mode() -> None:
    item = await fetch_item({**GOOD, "shiny_new_field": 1}, strict=True)
    assert item.model_extra == {"shiny_new_field": 1}


async def test_fields_set_tells_missing_from_null() -> None:
    item = await fetch_item({**GOOD, "note": None})
    assert item.note is None
    assert item.from_ is None
    assert "note" in item.model_fields_set
    assert "from_" not in item.model_fields_set


async def test_fields_set_tells_missing_from_null_in_lenient_fallback() -> None:
    item = await fetch_item({**GOOD, "count": "x", "note": None})
    assert "note" in item.model_fields_set
    assert "from_" not in item.model_fields_set


async def test_alias_is_read_in_lenient_fallback() -> None:
    item = await fetch_item({**GOOD, "count": "x", "from": "alice"})
    assert item.from_ == "alice"


async def test_list_item_off_schema_keeps_the_others_validated() -> None:
    listing = await fetch(Listing, {"data": [GOOD, {**GOOD, "id": "job_2", "count": "x"}]})
    assert isinstance(listing, Listing)
    first, second = listing.data
    assert isinstance(first.created_at, datetime.datetime)
    assert isinstance(second, Item)
    assert second.count == "x"  # type: ignore[comparison-overlap]
    assert isinstance(second.created_at, datetime.datetime)


# ---------------------------------------------------------------- discriminated unions


async def test_union_field_picks_the_variant_by_tag() -> None:
    holder = await fetch(Holder, {"result": {"type": "llm_embed", "embeddings": [[0.5]], "dimensions": 1}})
    assert isinstance(holder, Holder)
    assert isinstance(holder.result, EmbedResult)


async def test_union_field_picks_the_variant_by_tag_when_other_fields_are_off() -> None:
    holder = await fetch(Holder, {"result": {"type": "llm_embed", "embeddings": "oops", "dimensions": 1}})
    assert isinstance(holder, Holder)
    assert isinstance(holder.result, EmbedResult)
    assert holder.result.dimensions == 1
    assert holder.result.embeddings == "oops"  # type: ignore[comparison-overlap]


async def test_optional_union_field_picks_the_variant_by_tag_when_other_fields_are_off() -> None:
    holder = await fetch(OptionalHolder, {"result": {"type": "llm_embed", "embeddings": "oops", "dimensions": 1}})
    assert isinstance(holder, OptionalHolder)
    assert isinstance(holder.result, EmbedResult)


def test_top_level_union_picks_the_variant_by_tag_when_other_fields_are_off() -> None:
    result: object = parse_json(
        cast(Any, Result), b'{"type": "llm_embed", "embeddings": 3, "dimensions": 1}', strict=False
    )
    assert isinstance(result, EmbedResult)


async def test_union_with_unknown_tag_is_kept_in_lenient_mode() -> None:
    holder = await fetch(Holder, {"result": {"type": "llm_new", "text": "hi"}})
    assert isinstance(holder, Holder)
    assert holder.result.to_dict() == {"type": "llm_new", "text": "hi"}


# ---------------------------------------------------------------- not JSON


async def test_invalid_json_raises_validation_error_naming_the_content_type() -> None:
    with pytest.raises(APIResponseValidationError) as info:
        await fetch(Item, content=b"<html>oops</html>", content_type="text/html")
    assert "text/html" in str(info.value)
    assert "JSON" in str(info.value)
    assert info.value.body == "<html>oops</html>"


async def test_invalid_json_raises_validation_error_in_strict_mode_too() -> None:
    with pytest.raises(APIResponseValidationError, match="text/plain"):
        await fetch(Item, strict=True, content=b"nope", content_type="text/plain")


async def test_invalid_json_for_a_plain_type_raises_validation_error() -> None:
    with pytest.raises(APIResponseValidationError, match="text/plain"):
        await fetch(Dict[str, int], content=b"{", content_type="text/plain")


# ---------------------------------------------------------------- other cast types


async def test_cast_to_str_bytes_and_none() -> None:
    assert await fetch(str, content=b"hello") == "hello"
    assert await fetch(bytes, content=b"\x00\x01") == b"\x00\x01"
    assert await fetch(type(None), {"ignored": True}) is None


async def test_cast_to_httpx_response_gives_the_response() -> None:
    response = await fetch(httpx.Response, {"a": 1})
    assert isinstance(response, httpx.Response)
    assert response.json() == {"a": 1}


async def test_cast_to_dict_of_models() -> None:
    parsed = await fetch(Dict[str, Usage], {"x": {"input_tokens": 1, "output_tokens": 2}})
    assert isinstance(parsed, dict)
    assert isinstance(parsed["x"], Usage)


# ---------------------------------------------------------------- to_dict / to_json


async def test_to_dict_leaves_out_fields_the_api_did_not_send() -> None:
    item = await fetch_item({**GOOD, "note": None})
    data = item.to_dict()
    assert data["note"] is None
    assert "from" not in data
    assert "from_" not in data
    assert data["created_at"] == datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)


async def test_to_dict_uses_api_field_names_and_json_mode() -> None:
    item = await fetch_item({**GOOD, "from": "alice"})
    data = item.to_dict(mode="json")
    assert data["from"] == "alice"
    assert data["created_at"] == "2024-05-01T12:00:00Z"


async def test_to_dict_exclude_none() -> None:
    item = await fetch_item({**GOOD, "note": None})
    assert "note" not in item.to_dict(exclude_none=True)


async def test_to_json_round_trips() -> None:
    item = await fetch_item({**GOOD, "from": "alice", "extra": [1]})
    decoded = json.loads(item.to_json())
    assert decoded == {**GOOD, "created_at": "2024-05-01T12:00:00Z", "from": "alice", "extra": [1]}


async def test_to_json_indent() -> None:
    item = await fetch_item(GOOD)
    assert "\n" not in item.to_json(indent=None)
    assert "\n  " in item.to_json()


async def test_to_dict_and_to_json_of_a_lenient_model_do_not_warn() -> None:
    # filterwarnings=error turns pydantic's serializer warnings into failures.
    item = await fetch_item({**GOOD, "count": "many", "status": "paused"})
    assert item.to_dict()["count"] == "many"
    assert json.loads(item.to_json())["status"] == "paused"


async def test_to_dict_and_to_json_use_python_names_when_asked() -> None:
    item = await fetch_item({**GOOD, "from": "alice"})
    assert item.to_dict(use_api_names=False)["from_"] == "alice"
    assert "from" not in item.to_dict(use_api_names=False)
    assert json.loads(item.to_json(use_api_names=False))["from_"] == "alice"


async def test_to_dict_and_to_json_exclude_defaults() -> None:
    item = await fetch_item({**GOOD, "note": None})
    assert "note" in item.to_dict(exclude_unset=False)
    assert "note" not in item.to_dict(exclude_defaults=True)
    assert "note" not in json.loads(item.to_json(exclude_defaults=True))


async def test_to_dict_and_to_json_can_include_fields_the_api_did_not_send() -> None:
    item = await fetch_item(GOOD)
    assert item.to_dict(exclude_unset=False)["from"] is None
    assert json.loads(item.to_json(exclude_unset=False))["from"] is None


# ---------------------------------------------------------------- str / repr


async def test_str_of_a_model_reads_like_its_repr() -> None:
    item = await fetch_item(GOOD)
    assert str(item).startswith("Item(id='job_1', status='running', count=3, ")
    assert str(item) == repr(item)
    assert "_request_id" not in str(item)


def test_str_of_a_nested_model_names_each_class() -> None:
    usage = Usage(input_tokens=1, output_tokens=2)
    assert str(usage) == "Usage(input_tokens=1, output_tokens=2)"
    assert str(Listing(data=[])) == "Listing(data=[])"
