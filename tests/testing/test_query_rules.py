"""The fake reads query strings the way openapi.yml describes them, for every input.

Property-based: whatever the string, ``check_query`` accepts exactly what the spec
allows (decimal integers within the limit, ``true``/``false``, comma-separated enum
values, non-empty cursors) and refuses the rest with a 400 naming the parameter.
"""

from __future__ import annotations

import re
from typing import List

from hypothesis import given, settings, strategies as st

from microdc._spec import JOB_STATES, LIST_LIMIT_RANGE
from microdc.testing._errors import FakeAPIError
from microdc.testing._validation import check_query
from microdc.types.job_list_params import JobListParams

# Strings near the edges of each rule, mixed with arbitrary text.
_NUMBERS = st.one_of(
    st.integers(-5, 200).map(str), st.text(alphabet="0123456789-+. e", max_size=5), st.text(max_size=5)
)
_FLAGS = st.one_of(st.sampled_from(["true", "false", "True", "1", "0", "", "yes"]), st.text(max_size=5))
_STATES = st.lists(st.sampled_from([*JOB_STATES, "", "done", "Completed"]), max_size=4).map(",".join)


def _accepted(name: str, value: str) -> bool:
    """Whether the fake takes ``?name=value``; a refusal must be a 400 naming ``name``."""
    refusal = None
    try:
        check_query(JobListParams, {name: [value]})
    except FakeAPIError as exc:
        refusal = exc
    if refusal is not None:
        assert (refusal.status, refusal.param) == (400, name)
    return refusal is None


@settings(max_examples=300, deadline=None)
@given(_NUMBERS)
def test_limit_is_a_decimal_integer_within_the_spec_range(value: str) -> None:
    low, high = LIST_LIMIT_RANGE
    expected = re.fullmatch(r"-?[0-9]+", value) is not None and low <= int(value) <= high
    assert _accepted("limit", value) == expected


@settings(max_examples=200, deadline=None)
@given(_FLAGS)
def test_acknowledged_is_true_or_false(value: str) -> None:
    assert _accepted("acknowledged", value) == (value in ("true", "false"))


@settings(max_examples=200, deadline=None)
@given(_STATES)
def test_status_is_one_or_more_known_states(value: str) -> None:
    parts: List[str] = value.split(",") if value else []
    assert _accepted("status", value) == (bool(parts) and all(part in JOB_STATES for part in parts))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=8))
def test_after_is_any_non_empty_string(value: str) -> None:
    assert _accepted("after", value) == (value != "")
