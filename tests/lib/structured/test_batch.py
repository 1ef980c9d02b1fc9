"""``jobs.batch``/``submit_many`` with a response model, end to end: parsed items, re-asks, money, resumes."""

from __future__ import annotations

import json
import asyncio
from typing import Any, Dict, List
from pathlib import Path

import pytest
import pydantic
from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import Prompt, AsyncMicroDC, OutputValidationError
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.retry import disable_retry_delays
from microdc.lib.structured import instruction, with_instruction

from .conftest import SUBMIT, submissions


class Label(pydantic.BaseModel):
    label: str
    score: float = pydantic.Field(ge=0, le=1)


def _inputs(count: int, **extra: Any) -> List[Dict[str, Any]]:
    return [{"type": "llm_complete", "model": "json-1", "prompt": f"Label text {i}.", **extra} for i in range(count)]


def _costs_by_input(fake: FakeMicroDC) -> Dict[int, float]:
    """What each input's jobs cost, by input (the prompts say which input a job is for)."""
    costs: Dict[int, float] = {}
    for body, job in zip(submissions(fake), fake.jobs.values(), strict=True):
        index = int(body["prompt"].split("Label text ", 1)[1].split(".", 1)[0])
        costs[index] = costs.get(index, 0.0) + job["usage"]["cost_usd"]
    return costs


async def test_every_item_has_its_reply_parsed(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    result = await client.jobs.submit_many(_inputs(6), response_model=Label, poll_interval=0.01)
    assert [item.status for item in result] == ["completed"] * 6
    assert all(isinstance(item.parsed, Label) and item.parse_error is None and item.ok for item in result)
    assert result.parsed == [item.parsed for item in result]
    assert all(body["prompt"].endswith(f"\n\n{instruction(Label)}") for body in submissions(fake))


async def test_an_invalid_reply_is_re_asked_and_the_item_pays_for_all_its_jobs(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    fake.faults = Faults(invalid_output_rate=1.0, max_faults=2)
    result = await client.jobs.submit_many(_inputs(5), response_model=Label, poll_interval=0.01, concurrency=1)
    assert all(isinstance(item.parsed, Label) for item in result)
    assert len(fake.jobs) == 7
    costs = _costs_by_input(fake)
    assert [item.cost_usd for item in result] == pytest.approx([costs[i] for i in range(5)], abs=1e-12)
    assert result.spent_usd == pytest.approx(sum(costs.values()), abs=1e-12)
    keys = [r.idempotency_key for r in fake.requests if r.path == SUBMIT]
    reasked = [key for key in keys if key is not None and key.endswith("-reask-1")]
    assert len(reasked) == 2
    assert {key[: -len("-reask-1")] for key in reasked} <= {item.idempotency_key for item in result}


async def test_a_reply_still_invalid_after_its_re_asks_has_a_parse_error(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    fake.faults = Faults(invalid_output_rate=1.0)
    async with client.jobs.batch(_inputs(3), response_model=Label, max_reasks=2, poll_interval=0.01) as run:
        items = [item async for item in run]
    assert len(fake.jobs) == 9
    for item in items:
        assert item.status == "completed"
        assert item.parsed is None
        assert not item.ok
        assert isinstance(item.parse_error, OutputValidationError)
        assert item.parse_error.attempts == 3
        assert item.parse_error.job is item.job
        assert item.parse_error.cost_usd == item.cost_usd
    summary = run.summary()
    assert summary.parse_errors == 3
    assert not summary.ok


async def test_max_reasks_zero_parses_without_re_asking(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = Faults(invalid_output_rate=1.0)
    result = await client.jobs.submit_many(_inputs(2), response_model=Label, max_reasks=0, poll_interval=0.01)
    assert [item.parse_error is not None for item in result] == [True, True]
    assert len(fake.jobs) == 2


async def test_a_re_ask_that_does_not_fit_the_cost_limit_is_not_sent(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    first = with_instruction(_inputs(1, max_tokens=60)[0], Label)
    worst = (await client.jobs.estimate_cost(first)).worst_case_usd
    fake.faults = Faults(invalid_output_rate=1.0)
    result = await client.jobs.submit_many(
        _inputs(1, max_tokens=60), response_model=Label, cost_limit_usd=worst * 1.5, poll_interval=0.01
    )
    [item] = result
    assert len(fake.jobs) == 1
    assert item.parse_error is not None
    assert "does not fit in the cost limit" in str(item.parse_error)
    assert result.spent_usd <= worst * 1.5


async def test_a_job_without_text_output_is_an_error_item_and_nothing_is_sent(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    inputs = [{"type": "llm_embed", "model": "embed-1", "texts": ["a"]}]
    [item] = await client.jobs.submit_many(inputs, response_model=Label)
    assert item.status == "error"
    assert "llm_complete or llm_chat" in str(item.error)
    assert submissions(fake) == []


async def test_without_waiting_there_is_nothing_to_parse(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    result = await client.jobs.submit_many(_inputs(2), response_model=Label, wait=False)
    assert [(item.status, item.parsed) for item in result] == [("submitted", None), ("submitted", None)]
    assert all(instruction(Label) in body["prompt"] for body in submissions(fake))


async def test_a_prompt_runs_in_bulk_with_its_response_model(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    prompt = Prompt("Label: {text}", model="json-1", response_model=Label, max_tokens=100)
    texts = ["good", "bad", "ugly"]
    result = await client.jobs.submit_many(
        (prompt.params(text=t) for t in texts), response_model=prompt.response_model, poll_interval=0.01
    )
    assert all(isinstance(value, Label) for value in result.parsed)
    assert [body["prompt"] for body in submissions(fake)] == [f"Label: {t}\n\n{instruction(Label)}" for t in texts]


async def test_a_response_model_pydantic_cannot_build_is_refused_at_once(client: AsyncMicroDC) -> None:
    with pytest.raises(TypeError, match="response_model must be a type"):
        client.jobs.batch(_inputs(1), response_model=object())
    with pytest.raises(ValueError, match="max_reasks"):
        client.jobs.batch(_inputs(1), response_model=Label, max_reasks=-1)


async def test_a_resumed_run_parses_again_and_re_asks_only_what_no_run_re_asked(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "labels.sqlite3"
    fake.faults = Faults(invalid_output_rate=1.0, max_faults=2)
    first = await client.jobs.submit_many(_inputs(3), response_model=Label, state_file=state, wait=False)
    assert [item.status for item in first] == ["submitted"] * 3
    # The next run follows the jobs the first one submitted, re-asking the invalid replies (once each).
    second = await client.jobs.submit_many(_inputs(3), response_model=Label, state_file=state, poll_interval=0.01)
    assert all(isinstance(item.parsed, Label) for item in second)
    assert len(fake.jobs) == 5
    # A third run finds every input finished: it parses the recorded replies and sends nothing.
    third = await client.jobs.submit_many(_inputs(3), response_model=Label, state_file=state, poll_interval=0.01)
    assert [item.parsed for item in third] == [item.parsed for item in second]
    assert [item.cost_usd for item in third] == [item.cost_usd for item in second]
    assert len(fake.jobs) == 5
    charged = sum(job["usage"]["cost_usd"] for job in fake.jobs.values())
    assert third.spent_usd == pytest.approx(charged, abs=1e-12)  # the state's spend, the re-asks' included


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(1, 12),
    rate=st.sampled_from([0.0, 0.5, 1.0]),
    max_reasks=st.integers(0, 3),
    budget=st.floats(min_value=0.0, max_value=0.003),
    max_tokens=st.one_of(st.none(), st.integers(20, 200)),
)
def test_re_asks_never_take_a_batch_past_its_cost_limit(
    count: int, rate: float, max_reasks: int, budget: float, max_tokens: Any
) -> None:
    extra = {} if max_tokens is None else {"max_tokens": max_tokens}

    async def run() -> float:
        fake = FakeMicroDC(job_duration=0, seed=8, faults=Faults(invalid_output_rate=rate))
        async with fake.client() as client:
            result = await client.jobs.submit_many(
                _inputs(count, **extra),
                response_model=Label,
                max_reasks=max_reasks,
                cost_limit_usd=budget,
                poll_interval=0.01,
            )
        charged: float = sum(job["usage"]["cost_usd"] for job in fake.jobs.values())
        assert result.spent_usd == pytest.approx(charged, abs=1e-12)
        assert sum(item.cost_usd for item in result) == pytest.approx(charged, abs=1e-12)
        return charged

    with disable_retry_delays():
        assert asyncio.run(run()) <= budget + 1e-12


def test_the_cli_can_write_what_a_batch_parsed() -> None:
    from microdc.lib.batch import BatchItem

    item = BatchItem(0, "completed", parsed=Label(label="x", score=0.5))
    assert json.loads(Label.model_validate(item.parsed).model_dump_json()) == {"label": "x", "score": 0.5}
