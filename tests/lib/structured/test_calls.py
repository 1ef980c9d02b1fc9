"""``jobs.ask``, ``conv.send``, ``jobs.parse`` and ``jobs.estimate_cost`` with a response model, end to end."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Dict, List, Literal
from dataclasses import dataclass

import pytest
import pydantic
from typing_extensions import TypedDict

import microdc
from microdc import AsyncMicroDC, JobFailedError, BudgetExceededError, OutputValidationError
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.structured import instruction, with_instruction

from .conftest import SUBMIT, submissions


class Invoice(pydantic.BaseModel):
    number: str
    total: float = pydantic.Field(ge=0)


SPOIL_FIRST = Faults(invalid_output_rate=1.0, max_faults=1)
SPOIL_ALL = Faults(invalid_output_rate=1.0)


def _costs(fake: FakeMicroDC) -> List[float]:
    return [job["usage"]["cost_usd"] for job in fake.jobs.values()]


# --- ask ----------------------------------------------------------------------------------


async def test_ask_returns_the_reply_validated_as_the_model(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    invoice = await client.jobs.ask("Extract the invoice.", model="json-1", response_model=Invoice, max_tokens=200)
    assert isinstance(invoice, Invoice)
    [body] = submissions(fake)
    assert body == {
        "type": "llm_complete",
        "model": "json-1",
        "prompt": f"Extract the invoice.\n\n{instruction(Invoice)}",
        "temperature": 0.7,
        "max_tokens": 200,
    }


class Colour(Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    x: int
    y: int


class Person(TypedDict):
    name: str


class Reply(microdc.BaseModel):
    answer: str


@pytest.mark.parametrize(
    ("response_model", "kind"),
    [
        (Point, Point),
        (Person, dict),
        (List[Invoice], list),
        (Literal["yes", "no"], str),
        (Colour, Colour),
        (Reply, Reply),
        (Dict[str, int], dict),
    ],
)
async def test_ask_takes_anything_a_type_adapter_takes(client: AsyncMicroDC, response_model: Any, kind: type) -> None:
    value = await client.jobs.ask("Answer.", model="json-1", response_model=response_model)
    assert isinstance(value, kind)
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(response_model)
    assert adapter.validate_python(adapter.dump_python(value)) == value  # a valid value of the type, not just its kind


async def test_an_invalid_reply_is_re_asked_with_the_request_the_reply_and_its_errors(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    fake.faults = SPOIL_FIRST
    invoice = await client.jobs.ask("Extract it.", model="json-1", response_model=Invoice)
    assert isinstance(invoice, Invoice)
    first, second = submissions(fake)
    spoilt = next(iter(fake.jobs.values()))["result"]["text"]
    assert "number" not in json.loads(spoilt.split("```json\n")[1].split("\n```")[0])
    assert second == {
        **first,
        "prompt": f"{first['prompt']}\n\nYour answer was:\n{spoilt}\n\n"
        "That reply is not valid against the JSON Schema:\n- number: Field required\n"
        "Answer again with the corrected JSON, in a ```json block.",
    }


async def test_after_the_last_re_ask_output_validation_error_says_what_was_wrong(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    fake.faults = SPOIL_ALL
    with pytest.raises(OutputValidationError, match="not a valid Invoice after 3 attempts") as raised:
        await client.jobs.ask("Extract it.", model="json-1", response_model=Invoice, max_reasks=2)
    error = raised.value
    assert isinstance(error, microdc.MicroDCError)
    assert error.attempts == 3 == len(fake.jobs)
    last = list(fake.jobs.values())[-1]
    assert error.job.id == last["id"]
    assert error.text == last["result"]["text"]
    assert [(e["type"], e["loc"]) for e in error.errors] == [("missing", ("number",))]
    assert error.cost_usd == pytest.approx(sum(_costs(fake)), abs=1e-12)
    # Each re-ask carries the original request and only the last reply.
    bodies = submissions(fake)
    assert all(body["prompt"].startswith(bodies[0]["prompt"]) for body in bodies[1:])
    assert bodies[2]["prompt"].count("Your answer was:") == 1


async def test_max_reasks_zero_never_re_asks(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = SPOIL_ALL
    with pytest.raises(OutputValidationError) as raised:
        await client.jobs.ask("Extract it.", model="json-1", response_model=Invoice, max_reasks=0)
    assert raised.value.attempts == 1
    assert len(fake.jobs) == 1


async def test_the_budget_is_checked_before_each_re_ask(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    params = with_instruction(
        {"type": "llm_complete", "model": "json-1", "prompt": "Extract it.", "max_tokens": 60}, Invoice
    )
    first_worst = (await client.jobs.estimate_cost(params)).worst_case_usd
    fake.faults = SPOIL_ALL
    with pytest.raises(BudgetExceededError) as raised:
        await client.jobs.ask(
            "Extract it.", model="json-1", response_model=Invoice, max_tokens=60, max_cost_usd=first_worst * 1.5
        )
    [spent] = _costs(fake)  # the first job ran; the re-ask, which could pass the budget, was not sent
    assert raised.value.spent_usd == spent
    assert raised.value.estimate.input_tokens_max > len(params["prompt"].encode())
    assert spent + raised.value.estimate.worst_case_usd > first_worst * 1.5


async def test_re_asks_within_budget_add_up_below_it(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = SPOIL_FIRST
    invoice = await client.jobs.ask(
        "Extract it.", model="json-1", response_model=Invoice, max_tokens=60, max_cost_usd=1.0
    )
    assert isinstance(invoice, Invoice)
    assert len(fake.jobs) == 2
    assert sum(_costs(fake)) <= 1.0


async def test_each_re_ask_gets_its_own_idempotency_key(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = SPOIL_FIRST
    await client.jobs.ask("Extract it.", model="json-1", response_model=Invoice, idempotency_key="order-7")
    keys = [r.idempotency_key for r in fake.requests if r.path == SUBMIT]
    assert keys == ["order-7", "order-7-reask-1"]


async def test_a_failed_job_raises_job_failed_error_not_a_re_ask(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    with pytest.raises(JobFailedError, match="model_error"):
        await client.jobs.ask("please [fail]", model="json-1", response_model=Invoice)
    assert len(fake.jobs) == 1


@pytest.mark.parametrize(("max_reasks", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
async def test_a_bad_max_reasks_raises_before_sending(
    client: AsyncMicroDC, fake: FakeMicroDC, max_reasks: Any, error: type
) -> None:
    with pytest.raises(error, match="max_reasks"):
        await client.jobs.ask("Extract it.", model="json-1", response_model=Invoice, max_reasks=max_reasks)
    assert fake.requests == []


async def test_a_response_model_that_is_not_a_type_raises_before_sending(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    with pytest.raises(TypeError, match="response_model must be a type"):
        await client.jobs.ask("Extract it.", model="json-1", response_model=object())
    assert fake.requests == []


# --- conversations ------------------------------------------------------------------------


async def test_send_returns_the_value_and_the_history_keeps_the_replys_text(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    chat = client.jobs.conversation("json-1", system="Be exact.")
    invoice = await chat.send("The invoice?", response_model=Invoice)
    assert isinstance(invoice, Invoice)
    [body] = submissions(fake)
    assert body["messages"] == [
        {"role": "system", "content": "Be exact."},
        {"role": "system", "content": instruction(Invoice)},
        {"role": "user", "content": "The invoice?"},
    ]
    [job] = fake.jobs.values()
    assert chat.messages == [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "The invoice?"},
        {"role": "assistant", "content": job["result"]["message"]["content"]},
    ]
    assert (
        Invoice.model_validate_json(job["result"]["message"]["content"].split("```json\n")[1].split("\n```")[0])
        == invoice
    )
    assert (await chat.send("Thanks!")).endswith("```json\n{}\n```")  # a plain turn: no schema in its input
    assert [m["role"] for m in submissions(fake)[1]["messages"]] == ["system", "user", "assistant", "user"]


async def test_a_re_asked_turn_adds_one_exchange_and_pays_for_both_jobs(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    fake.faults = SPOIL_FIRST
    chat = client.jobs.conversation("json-1")
    await chat.send("The invoice?", response_model=Invoice)
    first, second = submissions(fake)
    spoilt = next(iter(fake.jobs.values()))["result"]["message"]["content"]
    assert second["messages"][:-2] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant", "content": spoilt}
    assert second["messages"][-1]["role"] == "user"
    assert "- number: Field required" in second["messages"][-1]["content"]
    assert [m["role"] for m in chat.messages] == ["user", "assistant"]
    assert chat.messages[1]["content"] == list(fake.jobs.values())[1]["result"]["message"]["content"]
    assert chat.cost_usd == pytest.approx(sum(_costs(fake)), abs=1e-12)
    assert chat.usage.total_tokens == sum(job["usage"]["total_tokens"] for job in fake.jobs.values())


async def test_a_turn_that_never_validates_leaves_the_history_unchanged_but_is_paid_for(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    chat = client.jobs.conversation("json-1", system="Be exact.")
    fake.faults = SPOIL_ALL
    with pytest.raises(OutputValidationError) as raised:
        await chat.send("The invoice?", response_model=Invoice)
    assert raised.value.attempts == 2
    assert chat.messages == [{"role": "system", "content": "Be exact."}]
    assert chat.cost_usd == pytest.approx(sum(_costs(fake)), abs=1e-12) == pytest.approx(raised.value.cost_usd)


async def test_a_conversations_budget_refuses_a_re_ask_that_could_pass_it(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    probe = with_instruction(
        {
            "type": "llm_chat",
            "model": "json-1",
            "max_tokens": 60,
            "messages": [{"role": "user", "content": "The invoice?"}],
        },
        Invoice,
    )
    first_worst = (await client.jobs.estimate_cost(probe)).worst_case_usd
    chat = client.jobs.conversation("json-1", max_tokens=60, max_cost_usd=first_worst * 1.5)
    fake.faults = SPOIL_ALL
    with pytest.raises(BudgetExceededError) as raised:
        await chat.send("The invoice?", response_model=Invoice)
    assert len(fake.jobs) == 1
    assert raised.value.spent_usd == chat.cost_usd > 0
    assert chat.messages == []


# --- parse ----------------------------------------------------------------------------------


async def test_parse_reads_a_completed_completion_or_chat(client: AsyncMicroDC) -> None:
    completion = await client.jobs.create_and_wait(type="llm_complete", model="json-1", prompt=instruction(Invoice))
    chat = await client.jobs.create_and_wait(
        type="llm_chat", model="json-1", messages=[{"role": "user", "content": instruction(List[int])}]
    )
    assert isinstance(client.jobs.parse(completion, Invoice), Invoice)
    numbers = client.jobs.parse(chat, List[int])
    assert isinstance(numbers, list)
    assert all(isinstance(n, int) for n in numbers)


async def test_parse_of_an_invalid_reply_raises_output_validation_error(client: AsyncMicroDC) -> None:
    job = await client.jobs.create_and_wait(type="llm_complete", model="echo-1", prompt="not json")
    with pytest.raises(OutputValidationError, match="after 1 attempt:") as raised:
        client.jobs.parse(job, Invoice)
    assert raised.value.job is job
    assert raised.value.text == "echo: not json"
    assert raised.value.errors[0]["type"] == "json_invalid"
    assert raised.value.attempts == 1


async def test_parse_refuses_jobs_without_a_completed_reply(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    failed = await client.jobs.create_and_wait(type="llm_complete", model="json-1", prompt="[fail]")
    with pytest.raises(JobFailedError):
        client.jobs.parse(failed, Invoice)
    embedded = await client.jobs.create_and_wait(type="llm_embed", model="embed-1", texts=["a"])
    with pytest.raises(ValueError, match="llm_embed job"):
        client.jobs.parse(embedded, Invoice)
    fake.job_duration = 100
    running = await client.jobs.create(type="llm_complete", model="json-1", prompt="hi")
    with pytest.raises(ValueError, match="wait for it"):
        client.jobs.parse(running, Invoice)


# --- estimate_cost ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"type": "llm_complete", "model": "json-1", "prompt": "Extract it.", "max_tokens": 50},
        {
            "type": "llm_chat",
            "model": "json-1",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "Extract it."}],
        },
    ],
)
async def test_an_estimate_with_a_response_model_includes_the_instructions_tokens(
    client: AsyncMicroDC, params: Dict[str, Any]
) -> None:
    plain = await client.jobs.estimate_cost(params)
    structured = await client.jobs.estimate_cost(params, response_model=Invoice)
    added = len(instruction(Invoice).encode()) + (2 if params["type"] == "llm_complete" else 0)
    assert structured.input_tokens_max == plain.input_tokens_max + added
    assert structured.output_tokens_max == plain.output_tokens_max
    assert structured.worst_case_usd > plain.worst_case_usd
