"""What type checkers see: ``T`` with a ``response_model``, ``str`` without (pyright and mypy check this file).

Each test also runs, so the types asserted are the types returned.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

import pydantic
from typing_extensions import TypedDict, assert_type

from microdc import Prompt, AsyncMicroDC
from microdc.lib.batch import BatchRun, BatchResult


class Invoice(pydantic.BaseModel):
    number: str


class Person(TypedDict):
    name: str


async def test_ask_is_str_without_a_model_and_the_model_with_one(client: AsyncMicroDC) -> None:
    text = assert_type(await client.jobs.ask("hi", model="json-1"), str)
    invoice = assert_type(await client.jobs.ask("hi", model="json-1", response_model=Invoice), Invoice)
    people = assert_type(
        await client.jobs.ask("hi", model="json-1", response_model=List[Person], max_reasks=2), List[Person]
    )
    counts = assert_type(await client.jobs.ask("hi", model="json-1", response_model=Dict[str, int]), Dict[str, int])
    choice = assert_type(await client.jobs.ask("hi", model="json-1", response_model=Literal["a", "b"]), Any)
    assert isinstance(text, str)
    assert isinstance(invoice, Invoice)
    assert isinstance(people, list)
    assert isinstance(counts, dict)
    assert choice in ("a", "b")


async def test_send_is_str_without_a_model_and_the_model_with_one(client: AsyncMicroDC) -> None:
    chat = client.jobs.conversation("json-1")
    invoice = assert_type(await chat.send("hi", response_model=Invoice), Invoice)
    text = assert_type(await chat.send("hi"), str)
    assert isinstance(invoice, Invoice)
    assert isinstance(text, str)


async def test_parse_is_the_model(client: AsyncMicroDC) -> None:
    job = await client.jobs.create_and_wait(type="llm_complete", model="echo-1", prompt='{"number": "7"}')
    invoice = assert_type(client.jobs.parse(job, Invoice), Invoice)
    assert invoice.number == "7"


async def test_a_prompt_is_generic_in_what_it_answers(client: AsyncMicroDC) -> None:
    plain = Prompt("Say {word}", model="json-1")
    typed = Prompt("Extract {text}", model="json-1", response_model=Invoice)
    assert_type(plain, Prompt[str])
    assert_type(typed, Prompt[Invoice])
    assert_type(typed.response_model, "type[Invoice] | None")
    text = assert_type(await plain.ask(client, word="hi"), str)
    invoice = assert_type(await typed.ask(client, text="x"), Invoice)
    assert isinstance(text, str)
    assert isinstance(invoice, Invoice)


async def test_a_batch_is_generic_in_what_its_items_parse_to(client: AsyncMicroDC) -> None:
    inputs = [{"type": "llm_complete", "model": "json-1", "prompt": "hi"}]
    async with client.jobs.batch(inputs, response_model=Invoice, poll_interval=0.01) as run:
        assert_type(run, BatchRun[Invoice])
        async for item in run:
            parsed = assert_type(item.parsed, Optional[Invoice])
            assert isinstance(parsed, Invoice)
    result = assert_type(await client.jobs.submit_many(inputs, response_model=Invoice), BatchResult[Invoice])
    assert_type(result.parsed, List[Optional[Invoice]])
    plain = assert_type(await client.jobs.submit_many(inputs), BatchResult[Any])
    assert plain[0].parsed is None
