"""``path_param`` and ``params_validator`` (``_param_check``): argument errors raised before anything is sent."""

from __future__ import annotations

from typing import Dict, List, Union, Optional

import pytest
from pydantic import Field
from typing_extensions import Literal, Required, Annotated, TypedDict

from microdc import NOT_GIVEN, omit
from microdc._utils import path_param, strip_not_given
from microdc._param_check import params_validator


def test_path_param_quotes_the_value() -> None:
    assert path_param("job_id", "job_1") == "job_1"
    assert path_param("job_id", "a/b?c#d e") == "a%2Fb%3Fc%23d%20e"


def test_path_param_empty_is_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="`job_id`"):
        path_param("job_id", "")


@pytest.mark.parametrize("value", [None, 1, b"job_1", ["job_1"]])
def test_path_param_non_string_is_type_error_naming_it(value: object) -> None:
    with pytest.raises(TypeError, match="`file_id` must be a string"):
        path_param("file_id", value)


def test_strip_not_given() -> None:
    assert strip_not_given({"a": 1, "b": None, "c": NOT_GIVEN, "d": omit, "e": 0, "f": ""}) == {"a": 1, "e": 0, "f": ""}


class Message(TypedDict, total=False):
    role: Required[Literal["system", "user", "assistant"]]
    content: Required[str]


class ChatParams(TypedDict, total=False):
    model: Required[str]
    messages: Required[List[Message]]
    temperature: Annotated[float, Field(ge=0, le=2)]
    max_tokens: Annotated[int, Field(ge=1)]
    metadata: Dict[str, str]
    priority: Literal["low", "normal", "high"]
    after: Optional[str]
    ids: Union[str, List[str]]


validate = params_validator(ChatParams)
GOOD: Dict[str, object] = {"model": "echo-1", "messages": [{"role": "user", "content": "hi"}]}


def test_valid_arguments_are_returned_as_given() -> None:
    messages = [{"role": "user", "content": "hi"}]
    result = validate("create", {"model": "echo-1", "messages": messages, "temperature": 1})
    assert result == {"model": "echo-1", "messages": messages, "temperature": 1}
    assert result["messages"] is messages


def test_not_given_arguments_are_dropped() -> None:
    assert validate("create", {**GOOD, "temperature": NOT_GIVEN, "max_tokens": None, "priority": omit}) == GOOD


def test_missing_required_argument_is_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"create\(\) missing required argument: `messages`"):
        validate("create", {"model": "echo-1"})


def test_wrong_type_is_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="`model` has the wrong type") as info:
        validate("create", {**GOOD, "model": 5})
    assert "int" in str(info.value)


def test_no_coercion_of_strings_to_numbers() -> None:
    with pytest.raises(TypeError, match="`max_tokens`"):
        validate("create", {**GOOD, "max_tokens": "5"})


def test_out_of_range_value_is_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="invalid value for `temperature`") as info:
        validate("create", {**GOOD, "temperature": 3})
    assert not isinstance(info.value, TypeError)
    assert "3" in str(info.value)


def test_unknown_literal_is_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="`priority`"):
        validate("create", {**GOOD, "priority": "urgent"})


def test_nested_error_names_the_path() -> None:
    with pytest.raises(ValueError, match=r"`messages\.0\.role`"):
        validate("create", {**GOOD, "messages": [{"role": "robot", "content": "hi"}]})


def test_nested_missing_field_names_the_path() -> None:
    with pytest.raises(TypeError, match=r"`messages\.0\.content`"):
        validate("create", {**GOOD, "messages": [{"role": "user"}]})


def test_error_message_names_the_method() -> None:
    with pytest.raises(TypeError, match=r"^retrieve\(\)"):
        validate("retrieve", {"model": 1})
