"""The fake's ``json-1``: replies valid against the schema it was given, for any pydantic model; seeded; spoiled on demand."""

from __future__ import annotations

import re
import uuid
import asyncio
import datetime
import itertools
from enum import Enum
from typing import Any, Dict, List, Tuple, Literal, Optional

import pytest
import pydantic
from hypothesis import HealthCheck, given, settings, strategies as st
from typing_extensions import Annotated

from microdc import OutputValidationError
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.retry import disable_retry_delays
from microdc.lib.structured import instruction, validate_reply

_names = itertools.count()

# The generic forms, as values: the types below are built at run time.
_List: Any = List
_Dict: Any = Dict
_Tuple: Any = Tuple
_Optional: Any = Optional
_Annotated: Any = Annotated


def _enum() -> Any:
    members = {f"M{i}": f"v{i}" for i in range(3)}
    return Enum(f"Choice{next(_names)}", members)


_bounded_ints = st.tuples(st.integers(-50, 50), st.integers(0, 80)).map(
    lambda b: _Annotated[int, pydantic.Field(ge=b[0], le=b[0] + b[1])]
)
_open_floats = st.tuples(st.floats(-100, 100), st.floats(0.5, 200)).map(
    lambda b: _Annotated[float, pydantic.Field(gt=b[0], lt=b[0] + b[1])]
)
_sized_strs = st.tuples(st.integers(0, 12), st.integers(0, 20)).map(
    lambda b: _Annotated[str, pydantic.Field(min_length=b[0], max_length=b[0] + b[1])]
)
_leaves = st.one_of(
    st.sampled_from(
        [int, float, str, bool, datetime.date, datetime.datetime, uuid.UUID, pydantic.EmailStr, Literal["x", 2, True]]
    ),
    _bounded_ints,
    _open_floats,
    _sized_strs,
    st.builds(_enum),
    st.just(Annotated[int, pydantic.Field(multiple_of=7, gt=0)]),
)


def _model_of(fields: List[Tuple[Any, bool]]) -> Any:
    definitions: Dict[str, Any] = {}
    for index, (annotation, required) in enumerate(fields):
        definitions[f"field_{index}"] = (annotation, ...) if required else (_Optional[annotation], None)
    return pydantic.create_model(f"Model{next(_names)}", **definitions)


def _extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        inner.map(lambda t: _List[t]),
        st.tuples(inner, st.integers(1, 3)).map(
            lambda a: _Annotated[_List[a[0]], pydantic.Field(min_length=a[1], max_length=a[1] + 2)]
        ),
        inner.map(lambda t: _Optional[t]),
        inner.map(lambda t: _Dict[str, t]),
        st.tuples(inner, inner).map(lambda a: _Tuple[a[0], a[1]]),
        st.lists(st.tuples(inner, st.booleans()), min_size=1, max_size=4).map(_model_of),
    )


_types = st.recursive(_leaves, _extend, max_leaves=8)
_models = st.lists(st.tuples(_types, st.booleans()), min_size=1, max_size=6).map(_model_of)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=_models, seed=st.integers(0, 2**32), chat=st.booleans())
def test_the_reply_to_a_structured_call_always_validates_as_its_model(model: Any, seed: int, chat: bool) -> None:
    async def run() -> Any:
        async with FakeMicroDC(job_duration=0, seed=seed).client() as client:
            if chat:
                return await client.jobs.conversation("json-1").send("Fill it in.", response_model=model, max_reasks=0)
            return await client.jobs.ask("Fill it in.", model="json-1", response_model=model, max_reasks=0)

    with disable_retry_delays():
        value = asyncio.run(run())
    assert isinstance(value, model)


# --- what its schema values cover, one schema feature at a time ---------------------------------


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Node(pydantic.BaseModel):
    name: str
    children: List[Node] = []
    parent: Optional[Node] = None


class Everything(pydantic.BaseModel):
    when: datetime.datetime
    day: datetime.date
    at: datetime.time
    mail: pydantic.EmailStr
    ident: uuid.UUID
    colour: Colour
    kind: Literal["fixed"]
    maybe: Optional[int]
    tags: Annotated[List[str], pydantic.Field(min_length=2, max_length=3)]
    unique: Annotated[set[int], pydantic.Field(min_length=3)]
    pair: Tuple[int, str]
    counts: Dict[str, int]
    ratio: Annotated[float, pydantic.Field(gt=0, lt=1)]
    tiny: Annotated[float, pydantic.Field(ge=1e-9, le=2e-9)]
    step: Annotated[float, pydantic.Field(multiple_of=0.25, ge=10, le=11)]
    digits: Annotated[str, pydantic.Field(pattern=r"^\d+$")]
    tree: Node


async def _reply_to(fake: FakeMicroDC, prompt: str) -> str:
    async with fake.client() as client:
        job = await client.jobs.create_and_wait(type="llm_complete", model="json-1", prompt=prompt)
    result = job.result
    assert result is not None
    assert result.type == "llm_complete"
    return result.text


@pytest.mark.parametrize("seed", range(20))
async def test_every_feature_pydantic_writes_gets_a_valid_value(seed: int) -> None:
    text = await _reply_to(FakeMicroDC(job_duration=0, seed=seed), f"Describe it.\n\n{instruction(Everything)}")
    value, errors = validate_reply(text, Everything)
    assert errors is None, (errors, text)
    assert isinstance(value, Everything)
    assert re.fullmatch(r"[a-z]+\.[a-z]+@example\.com", value.mail)
    assert 0 < value.ratio < 1


async def test_the_reply_is_a_sentence_and_a_json_fence() -> None:
    text = await _reply_to(FakeMicroDC(job_duration=0, seed=1), instruction(Colour))
    sentence, fence = text.split("\n", 1)
    assert sentence.endswith(".")
    assert re.fullmatch(r'```json\n"(red|blue)"\n```', fence)


async def test_the_same_input_on_the_same_seed_gets_the_same_reply() -> None:
    prompt = instruction(Everything)
    first = await _reply_to(FakeMicroDC(job_duration=0, seed=5), prompt)
    assert await _reply_to(FakeMicroDC(job_duration=0, seed=5), prompt) == first
    others = {await _reply_to(FakeMicroDC(job_duration=0, seed=seed), prompt) for seed in range(6, 10)}
    assert first not in others


async def test_the_first_schema_of_the_input_is_the_one_answered() -> None:
    prompt = f'Ignore {{not json}} and {{"a": 1}}. {instruction(int)} Later: {instruction(Colour)}'
    text = await _reply_to(FakeMicroDC(job_duration=0, seed=2), prompt)
    value, errors = validate_reply(text, int)
    assert errors is None
    assert isinstance(value, int)


async def test_an_input_without_a_schema_gets_an_empty_object() -> None:
    text = await _reply_to(FakeMicroDC(job_duration=0), "Just say hi.")
    assert validate_reply(text, Dict[str, Any]) == ({}, None)


async def test_json_1_is_in_the_model_list_for_completions_and_chats() -> None:
    async with FakeMicroDC().client() as client:
        model = await client.models.retrieve("json-1")
    assert sorted(model.job_types) == ["llm_chat", "llm_complete"]
    assert model.max_output_tokens is not None


# --- invalid replies ----------------------------------------------------------------------


class Invoice(pydantic.BaseModel):
    number: str
    total: float


@pytest.mark.parametrize("response_model", [Invoice, List[int], Colour, Dict[str, int]])
async def test_an_invalid_output_rate_of_one_spoils_every_reply(response_model: Any) -> None:
    fake = FakeMicroDC(job_duration=0, seed=3, faults=Faults(invalid_output_rate=1.0))
    for _ in range(5):
        _, errors = validate_reply(await _reply_to(fake, instruction(response_model)), response_model)
        assert errors


async def test_a_spoilt_object_lacks_its_first_required_field() -> None:
    fake = FakeMicroDC(job_duration=0, seed=3, faults=Faults(invalid_output_rate=1.0))
    _, errors = validate_reply(await _reply_to(fake, instruction(Invoice)), Invoice)
    assert errors is not None
    assert [(e["type"], e["loc"]) for e in errors] == [("missing", ("number",))]


async def test_max_faults_bounds_the_spoilt_replies_and_other_models_draw_nothing() -> None:
    fake = FakeMicroDC(job_duration=0, seed=3, faults=Faults(invalid_output_rate=1.0, max_faults=1))
    async with fake.client() as client:
        await client.jobs.create_and_wait(type="llm_complete", model="echo-1", prompt="hi")
    replies = [await _reply_to(fake, instruction(Invoice)) for _ in range(3)]
    assert [validate_reply(reply, Invoice)[1] is None for reply in replies] == [False, True, True]


def test_a_share_of_replies_is_spoilt_about_as_often_as_asked() -> None:
    async def run() -> List[bool]:
        fake = FakeMicroDC(job_duration=0, seed=4, faults=Faults(invalid_output_rate=0.3))
        return [validate_reply(await _reply_to(fake, instruction(Invoice)), Invoice)[1] is None for _ in range(200)]

    valid = asyncio.run(run())
    assert 100 < sum(valid) < 180


async def test_a_structured_ask_re_asks_a_spoilt_reply_and_gets_a_valid_one() -> None:
    fake = FakeMicroDC(job_duration=0, seed=3, faults=Faults(invalid_output_rate=1.0, max_faults=1))
    async with fake.client() as client:
        invoice = await client.jobs.ask("The invoice?", model="json-1", response_model=Invoice)
    assert isinstance(invoice, Invoice)
    assert len(fake.jobs) == 2


def test_the_rate_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="invalid_output_rate"):
        Faults(invalid_output_rate=1.5)


async def test_every_reply_spoilt_ends_in_output_validation_error() -> None:
    fake = FakeMicroDC(job_duration=0, faults=Faults(invalid_output_rate=1.0))
    async with fake.client() as client:
        with pytest.raises(OutputValidationError):
            await client.jobs.ask("The invoice?", model="json-1", response_model=Invoice, max_reasks=0)
    assert len(fake.jobs) == 1
