"""``Prompt``: rendering, its checks (before anything is sent), its job parameters, and running it."""

from __future__ import annotations

import re
from typing import List

import pytest
import pydantic

import microdc
from microdc import Prompt, AsyncMicroDC
from microdc.testing import FakeMicroDC
from microdc.lib.structured import instruction

from .conftest import submissions


class Label(pydantic.BaseModel):
    label: str
    confidence: float = pydantic.Field(ge=0, le=1)


def test_render_fills_every_placeholder_and_keeps_doubled_braces() -> None:
    prompt = Prompt("Classify {text} as {{json}} for {user.name}", model="json-1")
    assert prompt.placeholders == frozenset({"text", "user"})

    class User:
        name = "ada"

    assert prompt.render(text="it", user=User()) == "Classify it as {json} for ada"


def test_a_missing_placeholder_raises_key_error_naming_it() -> None:
    prompt = Prompt("{greeting}, {name} from {place}", model="echo-1")
    with pytest.raises(KeyError, match=re.escape("needs a value for name, place: pass name=..., place=...")):
        prompt.render(greeting="hi")


def test_an_unknown_value_raises_type_error_naming_it() -> None:
    prompt = Prompt("Summarise {text}", model="echo-1")
    with pytest.raises(TypeError, match=r"no placeholder txt \(its placeholders: text\)"):
        prompt.render(text="a", txt="b")


@pytest.mark.parametrize("template", ["Say {} now", "Say {0} now", "Unclosed {brace", "", "   "])
def test_a_template_without_named_placeholders_is_refused_at_once(template: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (each template has its own message)
        Prompt(template, model="echo-1")


def test_the_other_arguments_are_checked_at_once() -> None:
    with pytest.raises(ValueError, match="temperature"):
        Prompt("{x}", model="echo-1", temperature=3)
    with pytest.raises(ValueError, match="max_tokens"):
        Prompt("{x}", model="echo-1", max_tokens=0)
    with pytest.raises(ValueError, match="model id"):
        Prompt("{x}", model="")
    with pytest.raises(TypeError, match="response_model must be a type"):
        Prompt("{x}", model="json-1", response_model=3)


def test_params_without_system_are_a_completion() -> None:
    prompt = Prompt("Label: {text}", model="json-1", response_model=Label, temperature=0.1, max_tokens=80)
    assert prompt.params(text="great!") == {
        "type": "llm_complete",
        "model": "json-1",
        "prompt": "Label: great!",
        "temperature": 0.1,
        "max_tokens": 80,
    }


def test_params_with_system_are_a_chat_of_two_messages() -> None:
    prompt = Prompt("Label: {text}", model="json-1", system="You label {not a placeholder}.")
    assert prompt.params(text="meh") == {
        "type": "llm_chat",
        "model": "json-1",
        "messages": [
            {"role": "system", "content": "You label {not a placeholder}."},
            {"role": "user", "content": "Label: meh"},
        ],
        "temperature": 0.7,
    }


def test_a_prompt_says_what_it_is() -> None:
    prompt = Prompt("Label: {text}", model="json-1", response_model=Label)
    assert repr(prompt) == "Prompt('Label: {text}', model='json-1', response_model=Label)"
    assert microdc.Prompt is Prompt
    assert Prompt.__module__ == "microdc"


async def test_ask_runs_a_completion_and_returns_the_model(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    prompt = Prompt("Label: {text}", model="json-1", response_model=Label, max_tokens=100)
    label = await prompt.ask(client, text="great!")
    assert isinstance(label, Label)
    [body] = submissions(fake)
    assert body["prompt"] == f"Label: great!\n\n{instruction(Label)}"
    assert body["max_tokens"] == 100


async def test_ask_with_system_runs_a_chat(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    prompt = Prompt("Label: {text}", model="json-1", system="Be careful.", response_model=Label)
    assert isinstance(await prompt.ask(client, text="meh"), Label)
    [body] = submissions(fake)
    assert [m["content"] for m in body["messages"]] == ["Be careful.", instruction(Label), "Label: meh"]


async def test_ask_without_a_model_returns_text(client: AsyncMicroDC) -> None:
    assert await Prompt("Say {word}", model="echo-1").ask(client, word="hi") == "echo: Say hi"


async def test_a_bad_value_raises_before_anything_is_sent(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    prompt = Prompt("Label: {text}", model="json-1", response_model=Label)
    with pytest.raises(KeyError):
        await prompt.ask(client)
    with pytest.raises(TypeError):
        await prompt.ask(client, text="a", extra="b")
    assert fake.requests == []


async def test_its_params_are_the_arguments_of_create(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    prompt = Prompt("Label: {text}", model="json-1", response_model=Label)
    texts: List[str] = ["good", "bad", "ugly"]
    jobs = [await client.jobs.create_and_wait(**prompt.params(text=t)) for t in texts]
    assert [b["prompt"] for b in submissions(fake)] == [f"Label: {t}" for t in texts]
    assert all(job.status == "completed" for job in jobs)
