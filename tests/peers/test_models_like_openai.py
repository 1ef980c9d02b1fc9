"""The model behaviours openai-python's ``tests/test_models.py`` pins, on this SDK's public API.

anthropic-sdk-python's ``tests/test_models.py`` pins the same behaviours (the file is
the same but for the package name). The peers build models with their lenient
``construct()``; here every answer goes through ``client.get(path, cast_to=...)``, the
way a user's custom request parses it, so each behaviour is the SDK's own.

Where this SDK chooses differently on purpose, the test asserts its choice and the
*Types and parsing* guide (docs/guides/types.md) says so:

* a value of the wrong type is kept as sent, also inside a union (openai-python
  converts ``"1"`` to ``1`` when its lax validation of a variant succeeds);
* a union that no variant fits takes the variant with the fewest errors, then the
  fewest missing fields (openai-python takes the first variant);
* a discriminated union whose variants share a tag raises ``TypeError`` before the
  request is sent, as pydantic refuses such a union (openai-python takes the last).

Not carried over, as they test the peers' internals: their pydantic v1 compatibility
layer (``model_dump``/``model_dump_json`` shims, ``warnings=`` on v1), the
discriminator cache (``DISCRIMINATOR_CACHE``), and ``EagerIterable`` (a type for
their request params inside models; this SDK's params are ``TypedDict``s).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Union, Optional, cast
from datetime import UTC, datetime

import pytest
import pydantic
from pydantic import Field
from typing_extensions import Literal, Annotated, TypeAliasType

from microdc import BaseModel
from microdc._models import PropertyInfo

from ..conftest import Recorder, reply, make_client


async def parse(cast_to: object, body: object) -> Any:
    """``body`` sent as the JSON answer to a GET, parsed leniently as ``cast_to``."""
    async with make_client(Recorder(reply(200, content=json.dumps(body).encode())), max_retries=0) as client:
        return await client.get("/v1/anything", cast_to=cast(Any, cast_to))


class Basic(BaseModel):
    foo: str


class Nested(BaseModel):
    nested: Basic


class Level(BaseModel):
    level: int


class Name(BaseModel):
    name: str


# ---------------------------------------------------------------- fields of every kind


@pytest.mark.parametrize("value", ["hello", 1], ids=["fits", "wrong type"])
async def test_a_scalar_field_holds_what_was_sent(value: object) -> None:
    assert (await parse(Basic, {"foo": value})).foo == value


async def test_a_nested_object_becomes_its_model_and_a_wrong_value_is_kept() -> None:
    assert (await parse(Nested, {"nested": {"foo": "Foo!"}})).nested.foo == "Foo!"
    assert (await parse(Nested, {"nested": "hello!"})).nested == "hello!"


async def test_an_optional_nested_object_takes_null_an_object_or_keeps_a_wrong_value() -> None:
    class Holder(BaseModel):
        nested: Optional[Basic]

    assert (await parse(Holder, {"nested": None})).nested is None
    assert (await parse(Holder, {"nested": {"foo": "bar"}})).nested.foo == "bar"
    assert (await parse(Holder, {"nested": ["foo"]})).nested == ["foo"]


async def test_a_list_of_models_builds_each_item_and_keeps_wrong_values() -> None:
    class Holder(BaseModel):
        nested: List[Basic]

    holder = await parse(Holder, {"nested": [{"foo": "bar"}, {"foo": "2"}]})
    assert [item.foo for item in holder.nested] == ["bar", "2"]
    assert (await parse(Holder, {"nested": True})).nested is True
    assert (await parse(Holder, {"nested": [False]})).nested == [False]


async def test_an_optional_list_of_models_takes_null_or_a_list() -> None:
    class Holder(BaseModel):
        nested: Optional[List[Basic]]

    assert [item.foo for item in (await parse(Holder, {"nested": [{"foo": "bar"}]})).nested] == ["bar"]
    assert (await parse(Holder, {"nested": None})).nested is None
    assert (await parse(Holder, {"nested": 1})).nested == 1
    assert (await parse(Holder, {"nested": [False]})).nested == [False]


async def test_a_list_of_optional_models_keeps_null_items() -> None:
    class Holder(BaseModel):
        nested: List[Optional[Basic]]

    first, second = (await parse(Holder, {"nested": [None, {"foo": "bar"}]})).nested
    assert first is None
    assert second.foo == "bar"
    assert (await parse(Holder, {"nested": "foo"})).nested == "foo"
    assert (await parse(Holder, {"nested": [False]})).nested == [False]


async def test_a_list_of_strings_keeps_a_value_that_is_not_a_list() -> None:
    class Holder(BaseModel):
        nested: List[str]

    assert (await parse(Holder, {"nested": False})).nested is False


async def test_a_dict_of_strings_keeps_a_value_that_is_not_a_dict() -> None:
    class Holder(BaseModel):
        nested: Dict[str, str]

    assert (await parse(Holder, {"nested": {"hello": "world"}})).nested == {"hello": "world"}
    assert (await parse(Holder, {"nested": False})).nested is False


async def test_a_dict_of_models_builds_each_value_and_keeps_a_wrong_one() -> None:
    class Holder(BaseModel):
        nested: Dict[str, Basic]

    assert (await parse(Holder, {"nested": {"hello": {"foo": "bar"}}})).nested["hello"].foo == "bar"
    assert (await parse(Holder, {"nested": {"hello": False}})).nested["hello"] is False


async def test_an_optional_list_takes_null_empty_or_items() -> None:
    class Holder(BaseModel):
        items: Optional[List[Name]]

    assert (await parse(Holder, {"items": None})).items is None
    assert (await parse(Holder, {"items": []})).items == []
    assert [item.name for item in (await parse(Holder, {"items": [{"name": "Robert"}]})).items] == ["Robert"]


# ---------------------------------------------------------------- unknown fields and aliases


async def test_unknown_fields_are_kept_and_dumped() -> None:
    model = await parse(Basic, {"foo": "foo", "unknown": {"foo_bar": True}})
    assert model.unknown == {"foo_bar": True}
    assert model.model_dump() == {"foo": "foo", "unknown": {"foo_bar": True}}


async def test_unknown_fields_are_kept_when_the_answer_fits() -> None:
    model = await parse(Basic, {"foo": "hello!", "user": "Robert"})
    assert model.user == "Robert"
    assert model.model_dump() == {"foo": "hello!", "user": "Robert"}


async def test_a_field_is_read_under_its_alias_and_a_wrong_value_is_kept() -> None:
    class Aliased(BaseModel):
        my_field: int = Field(alias="myField")

    assert (await parse(Aliased, {"myField": 1})).my_field == 1
    assert (await parse(Aliased, {"myField": {"hello": False}})).my_field == {"hello": False}


async def test_a_property_named_like_an_alias_reads_the_field() -> None:
    class Renamed(BaseModel):
        resource_id: str = Field(alias="model_id")

        @property
        def model_id(self) -> str:
            return self.resource_id

    model = await parse(Renamed, {"model_id": "id"})
    assert model.resource_id == "id"
    assert model.model_id is model.resource_id


async def test_typed_extra_fields_become_their_model() -> None:
    class Item(BaseModel):
        prop: int

    class Holder(BaseModel):
        __pydantic_extra__: Dict[str, Item] = Field(init=False)  # pyright: ignore[reportIncompatibleVariableOverride]
        other: str

    for body in ({"a": {"prop": 1}, "other": "foo"}, {"a": {"prop": 1}, "other": 5}):
        holder = await parse(Holder, body)
        assert isinstance(holder.a, Item)
        assert holder.a.prop == 1
        assert holder.other == body["other"]


async def test_a_field_named_cls_is_parsed() -> None:
    class WithCls(BaseModel):
        cls: str
        other: int

    for body in ({"cls": "foo", "other": 1}, {"cls": "foo", "other": "not an int"}):
        model = await parse(WithCls, body)
        assert model.cls == "foo"


async def test_a_field_left_out_reads_as_none_and_stays_unset() -> None:
    class Model(BaseModel):
        resource_id: Optional[str] = None

    missing = await parse(Model, {})
    assert missing.resource_id is None
    assert "resource_id" not in missing.model_fields_set
    null = await parse(Model, {"resource_id": None})
    assert null.resource_id is None
    assert "resource_id" in null.model_fields_set
    given = await parse(Model, {"resource_id": "foo"})
    assert given.resource_id == "foo"
    assert "resource_id" in given.model_fields_set


# ---------------------------------------------------------------- numbers and dates


async def test_an_int_field_keeps_a_value_of_another_type_as_sent() -> None:
    class Model(BaseModel):
        bar: int

    assert (await parse(Model, {"bar": 1})).bar == 1
    assert (await parse(Model, {"bar": 10.9})).bar == 10.9
    assert (await parse(Model, {"bar": "19"})).bar == "19"
    assert (await parse(Model, {"bar": False})).bar is False


async def test_a_float_field_takes_integers_a_float_holds_and_keeps_bigger_ones_exact() -> None:
    class Model(BaseModel):
        float_field: float

    small = (await parse(Model, {"float_field": 10})).float_field
    assert (small, type(small)) == (10.0, float)
    assert (await parse(Model, {"float_field": 10.12})).float_field == 10.12
    big = (await parse(Model, {"float_field": 2**53 + 1})).float_field
    assert (big, type(big)) == (2**53 + 1, int)


async def test_an_iso_8601_time_becomes_a_datetime_and_dumps_back() -> None:
    class Model(BaseModel):
        created_at: datetime

    model = await parse(Model, {"created_at": "2019-12-27T18:11:19.117Z"})
    assert model.created_at == datetime(2019, 12, 27, 18, 11, 19, 117000, tzinfo=UTC)
    assert model.to_json(indent=None) == '{"created_at":"2019-12-27T18:11:19.117000Z"}'


# ---------------------------------------------------------------- str, repr, dumps


def test_str_and_repr_name_the_class_and_each_field() -> None:
    class Child(BaseModel):
        name: str
        age: int

    class Parent(BaseModel):
        name: str
        child: Child

    assert str(Basic(foo="bar")) == repr(Basic(foo="bar")) == "Basic(foo='bar')"
    parent = Parent(name="Robert", child=Child(name="Foo", age=5))
    assert str(parent) == repr(parent) == "Parent(name='Robert', child=Child(name='Foo', age=5))"


class Upper(BaseModel):
    foo: Optional[str] = Field(alias="FOO", default=None)


def test_to_dict_uses_api_names_and_leaves_out_what_was_not_set() -> None:
    assert Upper(FOO="hello").to_dict() == {"FOO": "hello"}
    assert Upper(FOO="hello").to_dict(use_api_names=False) == {"foo": "hello"}
    unset = Upper()
    assert unset.to_dict() == {}
    assert unset.to_dict(exclude_unset=False) == {"FOO": None}
    assert unset.to_dict(exclude_unset=False, exclude_none=True) == {}
    assert unset.to_dict(exclude_unset=False, exclude_defaults=True) == {}
    null = Upper(FOO=None)
    assert null.to_dict() == {"FOO": None}
    assert null.to_dict(exclude_none=True) == {}
    assert null.to_dict(exclude_defaults=True) == {}


async def test_to_dict_mode_chooses_python_or_json_values() -> None:
    class Model(BaseModel):
        created_at: datetime

    model = await parse(Model, {"created_at": "2024-03-21T11:39:01.275859"})
    assert model.to_dict(mode="python") == {"created_at": datetime.fromisoformat("2024-03-21T11:39:01.275859")}
    assert model.to_dict(mode="json") == {"created_at": "2024-03-21T11:39:01.275859"}


def test_to_json_uses_api_names_indent_and_the_same_exclusions() -> None:
    assert json.loads(Upper(FOO="hello").to_json()) == {"FOO": "hello"}
    assert json.loads(Upper(FOO="hello").to_json(use_api_names=False)) == {"foo": "hello"}
    assert Upper(FOO="hello").to_json(indent=None) == '{"FOO":"hello"}'
    assert Upper(FOO="hello").to_json() == '{\n  "FOO": "hello"\n}'
    unset = Upper()
    assert json.loads(unset.to_json()) == {}
    assert json.loads(unset.to_json(exclude_unset=False)) == {"FOO": None}
    assert json.loads(unset.to_json(exclude_unset=False, exclude_none=True)) == {}
    assert json.loads(unset.to_json(exclude_unset=False, exclude_defaults=True)) == {}
    assert json.loads(Upper(FOO=None).to_json(exclude_none=True)) == {}


def test_pydantic_dumps_keep_their_own_defaults() -> None:
    model = Upper(FOO="hello")
    assert model.model_dump() == {"foo": "hello"}
    assert model.model_dump(include={"bar"}) == {}
    assert model.model_dump(exclude={"foo"}) == {}
    assert model.model_dump(by_alias=True) == {"FOO": "hello"}
    assert Upper().model_dump() == {"foo": None}
    assert Upper().model_dump(exclude_unset=True) == {}
    assert model.model_dump_json(indent=2) == '{\n  "foo": "hello"\n}'
    assert json.loads(model.model_dump_json(include={"foo"})) == {"foo": "hello"}


def test_a_model_is_a_pydantic_model() -> None:
    def takes_pydantic(model: pydantic.BaseModel) -> str:
        return type(model).__name__

    assert takes_pydantic(Upper()) == "Upper"


# ---------------------------------------------------------------- unions


async def test_a_union_of_models_picks_the_one_the_object_fits() -> None:
    class Holder(BaseModel):
        foo: Union[Level, Name]

    assert isinstance((await parse(Holder, {"foo": {"name": "hello"}})).foo, Name)


async def test_a_union_of_a_model_and_literals_takes_each() -> None:
    class Flag(BaseModel):
        bar: bool

    class Holder(BaseModel):
        foo: Union[Flag, Literal[True], Literal["CARD_HOLDER"]]

    assert (await parse(Holder, {"foo": True})).foo is True
    assert (await parse(Holder, {"foo": "CARD_HOLDER"})).foo == "CARD_HOLDER"
    flag = (await parse(Holder, {"foo": {"bar": False}})).foo
    assert isinstance(flag, Flag)
    assert flag.bar is False


async def test_a_union_with_none_among_its_variants() -> None:
    class Counter(BaseModel):
        foo: int

    class Holder(BaseModel):
        foo: Union[Level, Name, Counter, None]

    assert isinstance((await parse(Holder, {"foo": {"name": "hello"}})).foo, Name)
    assert (await parse(Holder, {"foo": None})).foo is None
    assert (await parse(Holder, {})).foo is None
    # openai-python converts "1" to 1 here; a value is kept as sent, in the variant it fits best.
    counter = (await parse(Holder, {"foo": {"foo": "1"}})).foo
    assert isinstance(counter, Counter)
    assert counter.foo == "1"  # type: ignore[comparison-overlap]


async def test_a_union_keeps_a_value_of_no_variants_shape_and_builds_the_closest_variant() -> None:
    class Holder(BaseModel):
        foo: Union[Level, Name]

    assert (await parse(Holder, {"foo": True})).foo is True
    # openai-python takes the first variant; the one with a field of that name fits best.
    closest = (await parse(Holder, {"foo": {"name": 3}})).foo
    assert isinstance(closest, Name)
    assert closest.name == 3  # type: ignore[comparison-overlap]


async def test_a_list_of_unions_picks_a_variant_per_item() -> None:
    class Holder(BaseModel):
        items: List[Union[Level, Name]]

    first, second = (await parse(Holder, {"items": [{"level": 1}, {"name": "Robert"}]})).items
    assert (type(first), type(second)) == (Level, Name)
    first, odd = (await parse(Holder, {"items": [{"level": -1}, 156]})).items
    assert isinstance(first, Level)
    assert odd == 156


async def test_a_union_of_lists_picks_one_list_for_all_items() -> None:
    class Holder(BaseModel):
        items: Union[List[Level], List[Name]]

    (only,) = (await parse(Holder, {"items": [{"name": "Robert"}]})).items
    assert isinstance(only, Name)
    first, second = (await parse(Holder, {"items": [{"level": 1}, {"name": "Robert"}]})).items
    assert (type(first), type(second)) == (Level, Level)
    assert second.name == "Robert"
    first, odd = (await parse(Holder, {"items": [{"level": -1}, 156]})).items
    assert isinstance(first, Level)
    assert odd == 156


async def test_a_dict_of_unions_picks_a_variant_per_value() -> None:
    class Holder(BaseModel):
        data: Dict[str, Union[Name, Basic]]

    holder = await parse(Holder, {"data": {"hello": {"name": "there"}, "foo": {"foo": "bar"}}})
    assert (type(holder.data["hello"]), type(holder.data["foo"])) == (Name, Basic)


async def test_a_dict_of_lists_of_unions() -> None:
    class Bar(BaseModel):
        bar: str

    class Holder(BaseModel):
        data: Dict[str, List[Union[Name, Bar]]]

    first, second = (await parse(Holder, {"data": {"foo": [{"bar": "baz"}, {"name": "Robert"}]}})).data["foo"]
    assert (type(first), first.bar, type(second), second.name) == (Bar, "baz", Name, "Robert")


async def test_a_union_of_dicts_picks_the_dict_the_values_fit_best() -> None:
    class Holder(BaseModel):
        data: Union[Dict[str, Name], Dict[str, Basic]]

    # openai-python takes the first variant here; one value fits the second, none the first.
    holder = await parse(Holder, {"data": {"hello": {"name": "there"}, "foo": {"foo": "bar"}}})
    assert (type(holder.data["hello"]), type(holder.data["foo"])) == (Name, Name)
    assert holder.data["foo"].foo == "bar"


async def test_an_annotated_cast_type_is_its_inner_type() -> None:
    model = await parse(Annotated[Basic, "random metadata"], {"foo": "foo"})
    assert isinstance(model, Basic)


async def test_type_alias_types_are_parsed() -> None:
    Alias = TypeAliasType("Alias", str)  # pyright: ignore[reportGeneralTypeIssues]

    class Model(BaseModel):
        alias: Alias
        union: Union[int, Alias]
        count: int = 0

    for body in ({"alias": "foo", "union": "bar"}, {"alias": "foo", "union": "bar", "count": "x"}):
        model = await parse(Model, body)
        assert (model.alias, model.union) == ("foo", "bar")


# ---------------------------------------------------------------- discriminated unions


class A(BaseModel):
    type: Literal["a"]
    data: str


class B(BaseModel):
    type: Literal["b"]
    data: int


class C(BaseModel):
    type: Literal["c"]
    data: bool


Tagged = Annotated[Union[A, B], PropertyInfo(discriminator="type")]


async def test_a_discriminated_union_follows_the_tag_even_when_the_data_is_off() -> None:
    b = await parse(Tagged, {"type": "b", "data": "foo"})
    assert (type(b), b.data) == (B, "foo")
    a = await parse(Tagged, {"type": "a", "data": 100})
    assert (type(a), a.data) == (A, 100)


async def test_a_discriminated_union_with_an_unknown_tag_keeps_everything_in_the_first_variant() -> None:
    model = await parse(Tagged, {"type": "c", "data": None, "new_thing": "bar"})
    assert isinstance(model, A)
    assert model.to_dict() == {"type": "c", "data": None, "new_thing": "bar"}
    assert model.model_extra == {"new_thing": "bar"}


async def test_a_discriminated_union_of_nested_unions_follows_the_tag() -> None:
    nested = Annotated[Union[Union[A, B], C], PropertyInfo(discriminator="type")]
    assert type(await parse(nested, {"type": "b", "data": "foo"})) is B
    assert type(await parse(nested, {"type": "c", "data": "foo"})) is C


async def test_a_discriminated_union_reads_an_aliased_tag() -> None:
    class AliasedA(BaseModel):
        foo_type: Literal["a"] = Field(alias="type")
        data: str

    class AliasedB(BaseModel):
        foo_type: Literal["b"] = Field(alias="type")
        data: int

    union = Annotated[Union[AliasedA, AliasedB], PropertyInfo(discriminator="foo_type")]

    class Holder(BaseModel):
        value: union  # pyright: ignore[reportInvalidTypeForm]

    b = await parse(union, {"type": "b", "data": "foo"})
    assert (type(b), b.foo_type, b.data) == (AliasedB, "b", "foo")
    a = await parse(union, {"type": "a", "data": 100})
    assert (type(a), a.foo_type, a.data) == (AliasedA, "a", 100)
    for data in ("foo", 5):  # off-schema and fitting, as a field
        held = (await parse(Holder, {"value": {"type": "b", "data": data}})).value
        assert (type(held), held.data) == (AliasedB, data)


async def test_a_discriminated_union_whose_variants_share_a_tag_is_refused_before_sending() -> None:
    class SameTagB(BaseModel):
        type: Literal["a"]
        data: int

    recorder = Recorder()
    async with make_client(recorder) as client:
        with pytest.raises(TypeError, match="multiple choices"):
            await client.get(
                "/v1/x", cast_to=cast(Any, Annotated[Union[A, SameTagB], PropertyInfo(discriminator="type")])
            )
    assert recorder.requests == []


async def test_a_tag_picks_its_variant_even_when_a_required_field_is_missing() -> None:
    class ModelA(BaseModel):
        type: Literal["modelA"]
        data: int

    class ModelB(BaseModel):
        type: Literal["modelB"]
        required: str
        data: Union[A, B]

    union = Annotated[Union[ModelA, ModelB], PropertyInfo(discriminator="type")]
    model = await parse(union, {"type": "modelB", "data": {"type": "a", "data": "x"}})
    assert isinstance(model, ModelB)
    assert model.required is None
    assert isinstance(model.data, A)


async def test_a_discriminated_union_inside_a_discriminated_union() -> None:
    class Inner1(BaseModel):
        type: Literal["type_1"]

    class Inner2(BaseModel):
        type: Literal["type_2"]
        some_inner_model: Name

    class Outer1(BaseModel):
        base_type: Literal["base_type_1"]
        value: Annotated[Union[Inner1, Inner2], PropertyInfo(discriminator="type")]

    class Outer2(BaseModel):
        base_type: Literal["base_type_2"]

    union = Annotated[Union[Outer1, Outer2], PropertyInfo(discriminator="base_type")]
    model = await parse(union, {"base_type": "base_type_1", "value": {"type": "type_2"}})
    assert isinstance(model, Outer1)
    assert isinstance(model.value, Inner2)
