"""``Querystring``: how parameters become a query string (and form fields), never a Python repr."""

from __future__ import annotations

import re
import enum
import datetime
from typing import Any, cast
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings, strategies as st

from microdc import NOT_GIVEN, omit
from microdc._qs import ArrayFormat, Querystring


def test_scalars() -> None:
    assert Querystring().stringify({"limit": 20, "after": "job_1", "t": 0.5}) == "limit=20&after=job_1&t=0.5"


def test_booleans_are_lowercase() -> None:
    assert Querystring().stringify({"a": True, "b": False}) == "a=true&b=false"


def test_none_not_given_and_omit_are_left_out() -> None:
    assert Querystring().stringify({"a": None, "b": NOT_GIVEN, "c": omit, "d": 1}) == "d=1"


def test_zero_and_empty_string_are_kept() -> None:
    assert Querystring().stringify({"a": 0, "b": ""}) == "a=0&b="


@pytest.mark.parametrize(
    ("array_format", "expected"),
    [
        ("comma", [("status", "queued,running")]),
        ("repeat", [("status", "queued"), ("status", "running")]),
        ("brackets", [("status[]", "queued"), ("status[]", "running")]),
    ],
)
def test_array_formats(array_format: ArrayFormat, expected: list[tuple[str, str]]) -> None:
    qs = Querystring(array_format=array_format)
    assert qs.stringify_items({"status": ["queued", "running"]}) == expected
    assert parse_qsl(qs.stringify({"status": ("queued", "running")})) == expected


def test_comma_is_the_default() -> None:
    assert Querystring().array_format == "comma"


def test_array_of_booleans_and_numbers() -> None:
    assert Querystring().stringify_items({"x": [True, False, 3]}) == [("x", "true,false,3")]


def test_values_are_url_encoded() -> None:
    query = Querystring().stringify({"q": "a b&c=d/é"})
    assert "&c=" not in query
    assert parse_qsl(query) == [("q", "a b&c=d/é")]


def test_empty_list_is_sent_empty() -> None:
    assert Querystring().stringify_items({"ids": []}) == [("ids", "")]


def test_a_nested_mapping_becomes_bracketed_keys() -> None:
    query = Querystring().stringify_items({"a": {"b": "c", "d": {"e": {"f": 1}}}})
    assert query == [("a[b]", "c"), ("a[d][e][f]", "1")]


def test_an_empty_mapping_sends_nothing() -> None:
    assert Querystring().stringify({"a": {}, "b": {"c": {"d": {}}}}) == ""


def test_none_items_of_a_list_are_left_out() -> None:
    assert Querystring().stringify_items({"in": ["foo", None, True, NOT_GIVEN, omit]}) == [("in", "foo,true")]


def test_a_list_inside_a_comma_list_is_flattened_into_it() -> None:
    assert Querystring().stringify_items({"ids": [["a", "b"], ("c", ["d"])]}) == [("ids", "a,b,c,d")]


def test_a_mapping_inside_a_list_becomes_bracketed_keys() -> None:
    items = Querystring().stringify_items({"f": ["x", {"k": "v"}], "g": [{"k": ["1", "2"]}]})
    assert items == [("f", "x"), ("f[k]", "v"), ("g[k]", "1,2")]


@pytest.mark.parametrize(
    ("array_format", "expected"),
    [
        ("repeat", [("a[b]", "true"), ("a[b]", "false"), ("a[b]", "true")]),
        ("brackets", [("a[b][]", "true"), ("a[b][]", "false"), ("a[b][]", "true")]),
    ],
)
def test_a_list_in_a_mapping_follows_the_array_format(
    array_format: ArrayFormat, expected: list[tuple[str, str]]
) -> None:
    assert Querystring(array_format=array_format).stringify_items({"a": {"b": [True, False, None, True]}}) == expected


class Colour(enum.Enum):
    RED = "red"


def test_enums_dates_and_bytes_are_written_as_their_text() -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    items = Querystring().stringify_items({"c": Colour.RED, "t": when, "d": when.date(), "b": "é".encode()})
    assert items == [("c", "red"), ("t", "2026-01-02T03:04:05+00:00"), ("d", "2026-01-02"), ("b", "é")]


def test_a_value_without_a_query_form_raises_type_error_naming_its_key() -> None:
    with pytest.raises(TypeError, match=r"'filter\[x\]' is a object"):
        Querystring().stringify({"filter": {"x": object()}})


def test_an_unknown_array_format_raises() -> None:
    with pytest.raises(ValueError, match="array_format"):
        Querystring(array_format=cast(Any, "indices"))


def test_form_fields_keep_bytes_and_bracket_lists() -> None:
    fields = Querystring(array_format="brackets").fields({"array": ["foo", "bar"], "m": {"k": b"\xff"}, "n": None})
    assert fields == [("array[]", "foo"), ("array[]", "bar"), ("m[k]", b"\xff")]


# Values a caller could put in a query, of any nesting; strings from an alphabet a repr
# would break out of (quotes, brackets, braces, capitals, colons).
_SAFE_TEXT = st.text(alphabet="abcxyz019 -_.", max_size=6)
_SCALARS = st.one_of(
    _SAFE_TEXT,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.just(NOT_GIVEN),
    st.just(omit),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_SAFE_TEXT.filter(bool), inner, max_size=3),
    ),
    max_leaves=12,
)
# The alphabet, digits, the letters of "true", "false", "inf", "nan" and exponents, and ",":
# a repr ("None", "True", "{'a': 1}", "['a']", "omit", "NOT_GIVEN") needs a character not in it.
_VALUE_CHARS = re.compile(r"[abcxyz0-9 \-_.,+truefalsin]*")
_KEY = re.compile(r"[abcxyz019 \-_.]+(\[[abcxyz019 \-_.]*\])*")


@settings(max_examples=300, deadline=None)
@given(
    params=st.dictionaries(_SAFE_TEXT.filter(bool), _VALUES, max_size=4),
    array_format=st.sampled_from(["comma", "repeat", "brackets"]),
)
def test_the_query_encoder_never_emits_a_python_repr(params: dict[str, object], array_format: ArrayFormat) -> None:
    items = Querystring(array_format=array_format).stringify_items(params)
    for key, value in items:
        assert _KEY.fullmatch(key), key
        assert _VALUE_CHARS.fullmatch(value), value
    assert parse_qsl(Querystring(array_format=array_format).stringify(params), keep_blank_values=True) == items
