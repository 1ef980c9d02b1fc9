"""Budgets on jobs.ask and conversations, to the cent against the fake's pricing, over a loopback socket.

echo-1 costs $0.50 per million input tokens and $1.50 per million output tokens, and
offers at most 4,096 output tokens; a worst case counts every input byte as a token.
"""

from __future__ import annotations

import asyncio
from typing import List, Optional, AsyncIterator

import anyio
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import MicroDCError, JobFailedError, BudgetExceededError
from microdc.testing import Faults, FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays

from ._served import Served, serve, until


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """Jobs end the moment they are submitted."""
    async for value in serve(FakeMicroDC(job_duration=0, seed=11)):
        yield value


@pytest.fixture
async def slow() -> AsyncIterator[Served]:
    """Jobs take 100 s of a manual clock: they run until the test says otherwise."""
    async for value in serve(FakeMicroDC(job_duration=100, clock=ManualClock(), seed=12)):
        yield value


INPUT_USD, OUTPUT_USD = 0.5 / 1e6, 1.5 / 1e6


def _worst_case(history_bytes: int, output_tokens: int) -> float:
    """echo-1's worst case: every input byte a token, ``output_tokens`` out."""
    return history_bytes * INPUT_USD + output_tokens * OUTPUT_USD


async def test_ask_refuses_a_job_that_could_pass_its_budget(served: Served) -> None:
    prompt = "word " * 2000  # 10,000 bytes: at most $0.005 in; 4096 tokens out: $0.006144
    with pytest.raises(BudgetExceededError) as raised:
        await served.client.jobs.ask(prompt, model="echo-1", max_cost_usd=0.01)
    error = raised.value
    assert isinstance(error, MicroDCError)
    assert (error.spent_usd, error.limit_usd) == (0.0, 0.01)
    assert error.estimate.input_tokens_max == 10_000
    assert error.estimate.output_tokens_max == 4096
    assert error.estimate.worst_case_usd == pytest.approx(0.011144, abs=1e-12)
    assert "max_cost_usd" in str(error)
    assert served.submissions() == []


async def test_ask_sends_a_job_whose_worst_case_is_exactly_the_budget(served: Served) -> None:
    prompt = "word " * 2000
    text = await served.client.jobs.ask(prompt, model="echo-1", max_tokens=4096, max_cost_usd=0.011144)
    assert text.startswith("echo: word")
    [job] = served.fake.jobs.values()
    assert job["usage"]["cost_usd"] <= 0.011144


async def test_a_budget_too_small_for_one_turn_raises_on_the_first_send(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", max_cost_usd=0.005)  # no max_tokens: 4096 out, $0.006144
    with pytest.raises(BudgetExceededError) as raised:
        await chat.send("hi")
    assert raised.value.spent_usd == 0.0
    assert raised.value.estimate.worst_case_usd == pytest.approx(_worst_case(2, 4096), abs=1e-12)
    assert served.submissions() == []
    assert chat.messages == []


async def test_the_conversation_budget_is_exact_to_the_cent(served: Served) -> None:
    text = "word " * 1000  # 5,000 bytes
    # Turn 1: worst case 5,000 bytes in, 2,000 tokens out = $0.0055, under $0.01.
    # It costs 1,000 words in ($0.0005) and 1,001 out ($0.0015015): $0.0020015.
    # Turn 2 carries 5,000 + 5,006 + 5,000 bytes: worst case $0.010503; with turn 1, $0.0125045.
    spent_after_one = 1000 * INPUT_USD + 1001 * OUTPUT_USD
    second_worst = _worst_case(15_006, 2000)
    exact = spent_after_one + second_worst
    assert round(exact, 10) == 0.0125045

    short = served.client.jobs.conversation("echo-1", max_tokens=2000, max_cost_usd=0.0125044)
    await short.send(text)
    assert short.cost_usd == pytest.approx(spent_after_one, abs=1e-12)
    with pytest.raises(BudgetExceededError) as raised:
        await short.send(text)
    assert raised.value.spent_usd == pytest.approx(spent_after_one, abs=1e-12)
    assert raised.value.limit_usd == 0.0125044
    assert raised.value.estimate.worst_case_usd == pytest.approx(second_worst, abs=1e-12)
    assert len(short.messages) == 2

    enough = served.client.jobs.conversation("echo-1", max_tokens=2000, max_cost_usd=0.0125045)
    await enough.send(text)
    await enough.send(text)  # exactly at the limit: sent
    assert len(enough.messages) == 4
    assert enough.cost_usd <= 0.0125045
    assert len(served.submissions()) == 3


async def test_the_budget_counts_failed_turns(served: Served) -> None:
    chat = served.client.jobs.conversation("echo-1", max_tokens=10, max_cost_usd=1.0)
    with pytest.raises(JobFailedError):
        await chat.send("[fail] " * 100)
    [job] = served.fake.jobs.values()
    assert chat.cost_usd == job["usage"]["cost_usd"] > 0
    assert chat.spent_usd == chat.cost_usd


_turn_texts = st.lists(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300).filter(
        lambda text: bool(text.strip()) and "[fail]" not in text
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=_turn_texts,
    max_tokens=st.one_of(st.none(), st.integers(min_value=1, max_value=300)),
    budget=st.floats(min_value=0.0, max_value=0.02, allow_nan=False),
)
def test_a_conversation_never_spends_past_its_budget(
    texts: List[str], max_tokens: Optional[int], budget: float
) -> None:
    async def run() -> None:
        fake = FakeMicroDC(job_duration=0, seed=3)
        async with fake.client() as client:
            chat = client.jobs.conversation("echo-1", max_tokens=max_tokens, max_cost_usd=budget)
            refused: Optional[BudgetExceededError] = None
            spent_before = 0.0
            for text in texts:
                spent_before = chat.cost_usd
                try:
                    await chat.send(text)
                except BudgetExceededError as exc:
                    refused = exc
                    break
            if refused is not None:
                assert refused.spent_usd == spent_before
                assert round(refused.spent_usd + refused.estimate.worst_case_usd - budget, 10) > 0
            charged = sum(job["usage"]["cost_usd"] for job in fake.jobs.values())
            assert charged <= budget + 1e-12
            assert chat.cost_usd == pytest.approx(charged, abs=1e-12)

    with disable_retry_delays():
        asyncio.run(run())


async def test_an_abandoned_turn_whose_cost_is_unknown_counts_its_worst_case(slow: Served) -> None:
    chat = slow.client.jobs.conversation("echo-1", max_tokens=100, max_cost_usd=1.0)
    worst = (
        await slow.client.jobs.estimate_cost(
            {"type": "llm_chat", "model": "echo-1", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
        )
    ).worst_case_usd
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(chat.send, "hi")
        await until(lambda: slow.count("GET", "/events") == 1)
        slow.fake.faults = Faults(reset_rate=1.0, methods=["DELETE"])  # the cancel never gets through
        tasks.cancel_scope.cancel()
    assert slow.count("DELETE") >= 1
    assert chat.cost_usd == 0.0
    assert chat.spent_usd == worst
    assert chat.messages == []
