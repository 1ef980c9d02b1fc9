"""The job builders: defaults, chaining, validation naming the field, and to_params."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from microdc import LLMChat, LLMEmbed, LLMComplete, DocumentCall
from microdc.types import File
from microdc.lib.jobs.builders import JobBuilder


def test_llm_complete_defaults_in_params() -> None:
    params = LLMComplete("echo-1", prompt="hi").to_params()
    assert params == {
        "type": "llm_complete",
        "model": "echo-1",
        "priority": "normal",
        "timeout_seconds": 300,
        "temperature": 0.7,
        "prompt": "hi",
    }


def test_llm_chat_adders_chain_and_keep_order() -> None:
    call = LLMChat("echo-1").add_user_message("q1").add_assistant_message("a1").set_system("sys").add_user_message("q2")
    assert call.to_params()["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]


def test_set_system_replaces_an_earlier_system_message() -> None:
    call = LLMChat("echo-1").set_system("one").set_system("two").add_user_message("q")
    assert [m for m in call.messages if m["role"] == "system"] == [{"role": "system", "content": "two"}]


def test_llm_embed_add_text_and_texts() -> None:
    params = LLMEmbed("embed-1", normalize=False).add_text("a").add_texts(["b", "c"]).to_params()
    assert params["texts"] == ["a", "b", "c"]
    assert params["normalize"] is False


def test_document_call_takes_tokens_and_file_objects() -> None:
    file = File.model_construct(id="file_1", token="tok_file")
    params = DocumentCall("doc-1", instruction="Summarise").add_file("tok_a").add_files([file]).to_params()
    assert params["file_tokens"] == ["tok_a", "tok_file"]
    assert params["instruction"] == "Summarise"


def test_common_settings_reach_the_params() -> None:
    params = LLMComplete(
        "echo-1", prompt="p", priority="high", timeout_seconds=30, metadata={"team": "a"}, max_tokens=5
    ).to_params()
    assert (params["priority"], params["timeout_seconds"], params["metadata"], params["max_tokens"]) == (
        "high",
        30,
        {"team": "a"},
        5,
    )


_INVALID: list[tuple[Callable[[], JobBuilder], str]] = [
    (lambda: LLMComplete("echo-1"), "LLMComplete.prompt"),
    (lambda: LLMComplete("", prompt="p"), "LLMComplete.model"),
    (lambda: LLMComplete("echo-1", prompt="p", temperature=2.5), "LLMComplete.temperature"),
    (lambda: LLMComplete("echo-1", prompt="p", max_tokens=0), "LLMComplete.max_tokens"),
    (lambda: LLMComplete("echo-1", prompt="p", timeout_seconds=0), "LLMComplete.timeout_seconds"),
    (lambda: LLMComplete("echo-1", prompt="p", timeout_seconds=86401), "LLMComplete.timeout_seconds"),
    (lambda: LLMComplete("echo-1", prompt="p", priority="urgent"), "LLMComplete.priority"),  # type: ignore[arg-type]
    (lambda: LLMComplete("echo-1", prompt="p", metadata={str(i): "v" for i in range(17)}), "LLMComplete.metadata"),
    (lambda: LLMChat("echo-1"), "LLMChat.messages"),
    (lambda: LLMChat("echo-1", messages=[{"role": "robot", "content": "x"}]), "LLMChat.messages[0].role"),
    (lambda: LLMEmbed("embed-1"), "LLMEmbed.texts"),
    (lambda: LLMEmbed("embed-1", texts=["x"] * 2049), "LLMEmbed.texts"),
    (lambda: DocumentCall("doc-1"), "DocumentCall.file_tokens"),
]


@pytest.mark.parametrize(("make", "field"), _INVALID, ids=[field for _, field in _INVALID])
def test_validate_names_the_field(make: Callable[[], JobBuilder], field: str) -> None:
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        make().validate()


@pytest.mark.parametrize(
    "call",
    [
        LLMComplete("echo-1", prompt="p"),
        LLMChat("echo-1").add_user_message("hi"),
        LLMEmbed("embed-1").add_text("t"),
        DocumentCall("doc-1").add_file("tok"),
    ],
    ids=["complete", "chat", "embed", "document"],
)
def test_valid_builders_pass_validate(call: Any) -> None:
    call.validate()
    assert call.to_params()["type"] == call.type
