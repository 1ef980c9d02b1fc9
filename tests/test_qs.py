"""``Querystring``: how parameters become a query string."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

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
