"""Finding the JSON in a reply: the first ```json block, else the outermost object or array; prose is no error."""

from __future__ import annotations

import json
from typing import Any, List

from hypothesis import given, example, settings, strategies as st

from microdc.lib.structured import extract_json

# JSON values as a model would write them (finite numbers only: JSON has no NaN).
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
_containers = st.one_of(st.lists(_values, max_size=4), st.dictionaries(st.text(max_size=8), _values, max_size=4))
# Prose with no JSON in it: no brackets, braces or backticks.
_prose = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="[]{}`"), max_size=60)
# Prose with brackets that open no JSON value ("[note]", "{sic}").
_noisy_prose = st.lists(
    st.sampled_from(["[note]", "{sic}", "see [1", "a { b", "Sure!", "Here it is:", "\n"]), max_size=4
).map(" ".join)


def _dumps(value: Any, indent: Any) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False)


@settings(max_examples=150, deadline=None)
@given(before=_prose, after=_prose, value=_containers, indent=st.sampled_from([None, 2]))
def test_the_outermost_object_or_array_in_prose_is_the_json(before: str, after: str, value: Any, indent: Any) -> None:
    found = extract_json(f"{before}{_dumps(value, indent)}{after}")
    assert found is not None
    assert json.loads(found) == value


@settings(max_examples=100, deadline=None)
@given(before=_noisy_prose, after=_noisy_prose, value=_containers)
def test_brackets_that_open_no_json_are_skipped(before: str, after: str, value: Any) -> None:
    found = extract_json(f"{before} {_dumps(value, None)} {after}")
    assert found is not None
    assert json.loads(found) == value


@settings(max_examples=150, deadline=None)
@given(
    before=_prose,
    between=_prose,
    value=_values,
    decoy=_containers,
    later=_values,
    tag=st.sampled_from(["json", "JSON", "json ", "json title=x"]),
)
@example(before="", between="", value="a ``` b", decoy={}, later=1, tag="json").xfail(
    reason="a fence ends at the first ``` (a string holding one is cut there)"
)
def test_the_first_json_fence_wins_over_objects_and_later_fences(
    before: str, between: str, value: Any, decoy: Any, later: Any, tag: str
) -> None:
    text = (
        f"{before}{_dumps(decoy, None)}\n```{tag}\n{_dumps(value, 2)}\n```{between}"
        f"\n```json\n{_dumps(later, None)}\n```"
    )
    found = extract_json(text)
    assert found is not None
    assert json.loads(found) == value


@settings(max_examples=100, deadline=None)
@given(before=_prose, value=_containers)
def test_an_unclosed_fence_runs_to_the_end_of_the_reply(before: str, value: Any) -> None:
    body = _dumps(value, 2)
    assert extract_json(f"{before}\n```json\n{body}") == body.strip()


@settings(max_examples=100, deadline=None)
@given(text=_prose)
def test_prose_alone_has_no_json(text: str) -> None:
    assert extract_json(text) is None


def test_a_fence_of_invalid_json_is_still_the_replys_json() -> None:
    assert extract_json('Here: ```json\n{"total": 12,,}\n``` and {"total": 3}') == '{"total": 12,,}'


def test_nested_values_are_part_of_the_outermost_one() -> None:
    nested: List[Any] = [{"a": [1, {"b": []}]}, 2]
    assert extract_json(f"The list is {json.dumps(nested)}.") == json.dumps(nested)
