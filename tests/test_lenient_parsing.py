"""Lenient parsing keeps what the API sent: missing fields, wrong types, exact numbers, unions (PRODUCT.md §2 "Responses").

Each answer goes through a client's ``get(..., cast_to=...)`` over ``httpx.MockTransport``;
the property test at the end holds the rule for any JSON value.
"""

from __future__ import annotations

import json
import asyncio
import datetime
from typing import Any, Dict, List, Union, Optional, cast

import pytest
from pydantic import Field
from hypothesis import given, settings, strategies as st
from typing_extensions import Literal

from microdc import BaseModel, APIResponseValidationError
from microdc.types import Job

from .conftest import Recorder, reply, make_client

JOB: Dict[str, object] = {
    "id": "job_1",
    "object": "job",
    "type": "llm_chat",
    "model": "echo-1",
    "status": "queued",
    "priority": "normal",
    "metadata": {"k": "v"},
    "timeout_seconds": 300,
    "progress": 0.0,
    "created_at": "2024-05-01T12:00:00Z",
    "acknowledged": False,
}


async def parse(cast_to: object, body: object, *, strict: bool = False) -> Any:
    """``body`` answered as JSON to a GET, parsed as ``cast_to``."""
    async with make_client(Recorder(reply(200, body)), _strict_response_validation=strict, max_retries=0) as client:
        return await client.get("/api/v1/things/1", cast_to=cast(Any, cast_to))


class Numbers(BaseModel):
    count: int
    ratio: float
    flag: bool
    label: str


class WithDefaults(BaseModel):
    required: str
    tags: List[str] = Field(default_factory=lambda: ["default"])
    level: int = 3
    note: Optional[str] = None


# ---------------------------------------------------------------- a field the answer leaves out


async def test_a_job_without_metadata_reads_metadata_as_none() -> None:
    body = {key: value for key, value in JOB.items() if key != "metadata"}
    job = await parse(Job, body)
    assert isinstance(job, Job)
    assert job.metadata is None
    assert "metadata" not in job.model_fields_set
    assert job.id == "job_1"


async def test_a_field_left_out_reads_as_its_default() -> None:
    model = await parse(WithDefaults, {"tags": "not a list"})
    assert (model.required, model.tags, model.level, model.note) == (None, "not a list", 3, None)
    assert model.model_fields_set == {"tags"}


async def test_a_default_factory_runs_for_each_object_built_leniently() -> None:
    first = await parse(WithDefaults, {"level": "x"})
    second = await parse(WithDefaults, {"level": "y"})
    assert first.tags == ["default"]
    first.tags.append("mine")
    assert second.tags == ["default"]


async def test_a_field_sent_as_null_is_in_fields_set_and_one_left_out_is_not() -> None:
    model = await parse(WithDefaults, {"required": None, "level": "x"})
    assert model.required is None
    assert model.note is None
    assert "required" in model.model_fields_set
    assert "note" not in model.model_fields_set


# ---------------------------------------------------------------- wrong types kept as sent


async def test_a_string_in_an_int_field_stays_a_string() -> None:
    model = await parse(Numbers, {"count": "19", "ratio": 0.5, "flag": True, "label": "a"})
    assert model.count == "19"
    assert model.model_fields_set == {"count", "ratio", "flag", "label"}


async def test_false_in_an_int_field_stays_false() -> None:
    model = await parse(Numbers, {"count": False, "ratio": 0.5, "flag": True, "label": "a"})
    assert model.count is False


async def test_a_float_in_an_int_field_stays_a_float() -> None:
    model = await parse(Numbers, {"count": 10.9, "ratio": 0.5, "flag": True, "label": "a"})
    assert model.count == 10.9


async def test_a_number_in_a_string_field_stays_a_number() -> None:
    model = await parse(Numbers, {"count": 1, "ratio": 0.5, "flag": 1, "label": 7})
    assert model.label == 7
    assert model.flag == 1
    assert model.flag is not True


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
async def test_an_integer_past_2_53_in_a_float_field_stays_an_exact_int(strict: bool) -> None:
    model = await parse(Numbers, {"count": 1, "ratio": 2**53 + 1, "flag": True, "label": "a"}, strict=strict)
    assert type(model.ratio) is int
    assert model.ratio == 2**53 + 1


async def test_an_integer_a_float_holds_becomes_a_float() -> None:
    model = await parse(Numbers, {"count": 1, "ratio": 10, "flag": True, "label": "a"})
    assert type(model.ratio) is float
    assert model.ratio == 10.0


async def test_a_float_larger_than_2_53_is_kept_in_a_float_field() -> None:
    model = await parse(Numbers, {"count": 1, "ratio": 1e300, "flag": True, "label": "a"}, strict=True)
    assert model.ratio == 1e300


async def test_a_wrong_type_raises_in_strict_mode_instead_of_converting() -> None:
    with pytest.raises(APIResponseValidationError, match="count"):
        await parse(Numbers, {"count": "19", "ratio": 0.5, "flag": True, "label": "a"}, strict=True)


async def test_an_unknown_enum_value_in_a_job_never_raises_in_lenient_mode() -> None:
    job = await parse(Job, {**JOB, "status": "paused", "priority": "urgent", "type": "llm_video"})
    assert (job.status, job.priority, job.type) == ("paused", "urgent", "llm_video")
    assert isinstance(job.created_at, datetime.datetime)


# ---------------------------------------------------------------- unions


class Level(BaseModel):
    level: int


class Name(BaseModel):
    name: str


class ListUnion(BaseModel):
    items: Union[List[Level], List[Name]]


class DictUnion(BaseModel):
    data: Union[Dict[str, Level], Dict[str, Name]]


async def test_a_union_of_lists_picks_the_list_the_items_fit() -> None:
    holder = await parse(ListUnion, {"items": [{"name": "Robert"}]})
    assert [type(item) for item in holder.items] == [Name]


async def test_a_union_of_lists_keeps_an_item_no_variant_fits_and_builds_the_rest() -> None:
    holder = await parse(ListUnion, {"items": [{"level": -1}, 156]})
    first, second = cast(List[Any], holder.items)
    assert isinstance(first, Level)
    assert first.level == -1
    assert second == 156


async def test_a_union_of_dicts_picks_the_dict_the_values_fit() -> None:
    holder = await parse(DictUnion, {"data": {"a": {"name": "x"}, "b": {"name": "y"}}})
    assert {key: type(value) for key, value in holder.data.items()} == {"a": Name, "b": Name}


async def test_a_union_of_dicts_keeps_a_value_no_variant_fits_and_builds_the_rest() -> None:
    holder = await parse(DictUnion, {"data": {"a": {"name": "x"}, "b": 3}})
    data = cast(Dict[str, Any], holder.data)
    assert isinstance(data["a"], Name)
    assert data["a"].name == "x"
    assert data["b"] == 3


async def test_a_union_no_variant_fits_takes_the_variant_with_the_fewest_errors() -> None:
    holder = await parse(DictUnion, {"data": {"a": {"name": "x"}, "b": {"name": 1}, "c": {"other": 2}}})
    data = cast(Dict[str, Any], holder.data)
    assert [type(value) for value in data.values()] == [Name, Name, Name]
    assert data["b"].name == 1
    assert data["c"].model_extra == {"other": 2}


async def test_a_value_whose_shape_fits_no_variant_is_kept() -> None:
    holder = await parse(ListUnion, {"items": {"level": 1}})
    assert holder.items == {"level": 1}


# ---------------------------------------------------------------- the rule, for any JSON value


class Inner(BaseModel):
    x: int


class Every(BaseModel):
    """A field of each kind whose validated value is the JSON value itself."""

    i: int
    f: float
    s: str
    b: bool
    lit: Literal["a", "b"]
    ints: List[int]
    strs: Dict[str, str]
    maybe: Optional[int] = None
    inner: Inner


_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6)
_KEYS = st.sampled_from(["x", "y", "k"]) | _TEXT


def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3)


_JSON: st.SearchStrategy[object] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
    | st.sampled_from(["a", "b", "x"]),
    _containers,
    max_leaves=8,
)


def as_sent(parsed: object) -> object:
    """What a parsed value says in JSON terms: models as the dicts they were built from."""
    if isinstance(parsed, BaseModel):
        return {key: as_sent(value) for key, value in parsed.to_dict().items()}
    if isinstance(parsed, list):
        return [as_sent(item) for item in cast(List[object], parsed)]
    if isinstance(parsed, dict):
        return {key: as_sent(value) for key, value in cast(Dict[str, object], parsed).items()}
    return parsed


def same_json(a: object, b: object) -> bool:
    """Equal as JSON values: booleans only equal booleans; a number equals the same number exactly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and (isinstance(a, float) or isinstance(b, float) or type(a) is type(b))
    if isinstance(a, list) and isinstance(b, list):
        xs, ys = cast(List[object], a), cast(List[object], b)
        return len(xs) == len(ys) and all(same_json(x, y) for x, y in zip(xs, ys, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        da, db = cast(Dict[str, object], a), cast(Dict[str, object], b)
        return da.keys() == db.keys() and all(same_json(da[k], db[k]) for k in da)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is None and b is None


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(Every.model_fields)), value=_JSON)
def test_a_lenient_parse_keeps_any_json_value_in_a_field_as_sent(field: str, value: object) -> None:
    body = json.dumps({field: value})
    model = asyncio.run(parse(Every, json.loads(body)))
    assert isinstance(model, Every)
    kept = as_sent(getattr(model, field))
    assert same_json(kept, value), (field, value, kept)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        assert type(getattr(model, field)) is int  # exact, whatever the field's type
    assert model.model_fields_set == {field}
