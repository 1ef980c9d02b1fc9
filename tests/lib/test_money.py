"""Every amount the SDK reports is exact to the picodollar: the batch summary and progress, a conversation's
``cost_usd``/``spent_usd``, the budgets. Float additions drift (``0.00075 + 0.0015 != 0.00225``); these
properties hold for all inputs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Dict, List, Iterable
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import BudgetExceededError
from microdc.types import ModelPricing
from microdc.testing import FakeMicroDC
from microdc.lib.retry import disable_retry_delays
from microdc.lib._money import to_usd, to_picodollars
from microdc.lib.jobs._cost import worst_case_usd
from microdc.lib.batch._budget import Budget

# Amounts of at most $1,000 to the picodollar: every one is a float that reads back as its decimal.
picodollars = st.integers(min_value=0, max_value=10**15 - 1)
words = st.text(alphabet=st.sampled_from("ab é世🙂"), min_size=1, max_size=40).filter(str.strip)
EXAMPLES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _exact_sum(amounts: Iterable[float]) -> float:
    """The sum of amounts as the decimals they were written as, then the float nearest to it."""
    return float(sum((Decimal(repr(amount)) for amount in amounts), Decimal(0)))


def test_float_addition_drifts_where_picodollars_do_not() -> None:
    costs = [0.00075, 0.0015]
    assert sum(costs) != 0.00225
    assert to_usd(sum(to_picodollars(cost) for cost in costs)) == 0.00225


@given(amount=picodollars)
def test_an_amount_to_the_picodollar_goes_to_picodollars_and_back_unchanged(amount: int) -> None:
    usd = to_usd(amount)
    assert to_picodollars(usd) == amount
    assert to_picodollars(usd, "up") == amount
    assert to_picodollars(usd, "down") == amount
    assert Decimal(repr(usd)) == Decimal(amount).scaleb(-12)


@given(costs=st.lists(picodollars, max_size=50), limit=picodollars)
def test_a_budget_reports_the_exact_sum_of_what_it_settled(costs: List[int], limit: int) -> None:
    budget = Budget(to_usd(limit))
    for cost in costs:
        budget.reserve(7)
        budget.settle(7, to_usd(cost))
    spent = sum(costs)
    assert budget.spent_usd == to_usd(spent)
    assert budget.fits(0) == (spent <= limit)
    if spent <= limit:  # exactly the room left fits; a picodollar more does not
        assert budget.fits(limit - spent)
        assert not budget.fits(limit - spent + 1)


@given(
    tokens=st.tuples(st.integers(0, 10**6), st.integers(0, 10**5)),
    prices=st.tuples(st.decimals("0", "100", places=6), st.decimals("0", "100", places=6)),
)
def test_a_worst_case_is_the_exact_price_rounded_up_to_the_apis_precision(
    tokens: tuple[int, int], prices: tuple[Decimal, Decimal]
) -> None:
    pricing = ModelPricing(input_per_million_tokens=float(prices[0]), output_per_million_tokens=float(prices[1]))
    worst = worst_case_usd(tokens[0], tokens[1], pricing)
    exact = (tokens[0] * prices[0] + tokens[1] * prices[1]) / 10**6
    assert Decimal(repr(worst)) >= exact
    assert Decimal(repr(worst)) - exact < Decimal("1e-10")


def _complete(prompt: str) -> Dict[str, Any]:
    return {"type": "llm_complete", "model": "echo-1", "prompt": prompt, "max_tokens": 16}


@EXAMPLES
@given(prompts=st.lists(words, min_size=1, max_size=12), wait=st.booleans())
def test_a_batchs_summary_and_progress_spend_is_the_exact_sum_of_its_items_costs(
    prompts: List[str], wait: bool
) -> None:
    async def run() -> None:
        progress: List[float] = []
        async with FakeMicroDC(job_duration=0, seed=5).client() as client:
            run = client.jobs.batch(
                [_complete(p) for p in prompts],
                wait=wait,
                poll_interval=0.01,
                on_progress=lambda p: progress.append(p.spent_usd),
            )
            async with run:
                items = [item async for item in run]
            summary = run.summary()
        assert summary.spent_usd == _exact_sum(item.cost_usd for item in items)
        assert progress[-1] == summary.spent_usd == run.progress.spent_usd
        if wait:
            assert summary.spent_usd > 0

    with disable_retry_delays():
        asyncio.run(run())


@EXAMPLES
@given(texts=st.lists(words, min_size=1, max_size=5))
def test_a_conversations_cost_is_the_exact_sum_of_its_jobs_costs(texts: List[str]) -> None:
    async def run() -> None:
        fake = FakeMicroDC(job_duration=0, seed=6)
        async with fake.client() as client:
            chat = client.jobs.conversation("echo-1", max_tokens=8, max_cost_usd=100.0)
            for text in texts:
                await chat.send(text)
        costs = [job["usage"]["cost_usd"] for job in fake.jobs.values()]
        assert chat.cost_usd == chat.spent_usd == _exact_sum(costs)

    with disable_retry_delays():
        asyncio.run(run())


@EXAMPLES
@given(first=words, second=words)
def test_a_conversation_may_spend_exactly_its_budget_and_not_a_picodollar_more(first: str, second: str) -> None:
    async def turns(limit: float) -> List[str]:
        """The replies of two turns under ``limit`` (the fake is seeded: the same jobs every time)."""
        async with FakeMicroDC(job_duration=0, seed=9).client() as client:
            chat = client.jobs.conversation("echo-1", max_tokens=8, max_cost_usd=limit)
            replies = [await chat.send(first)]
            with contextlib.suppress(BudgetExceededError):
                replies.append(await chat.send(second))
            return replies

    async def run() -> None:
        async with FakeMicroDC(job_duration=0, seed=9).client() as client:
            chat = client.jobs.conversation("echo-1", max_tokens=8)
            await chat.send(first)
            spent = to_picodollars(chat.cost_usd)
            history = [*chat.messages, {"role": "user", "content": second}]
            estimate = await client.jobs.estimate_cost(
                {"type": "llm_chat", "model": "echo-1", "max_tokens": 8, "messages": history}
            )
        exactly = spent + to_picodollars(estimate.worst_case_usd)
        assert len(await turns(to_usd(exactly))) == 2
        assert len(await turns(to_usd(exactly - 1))) == 1

    with disable_retry_delays():
        asyncio.run(run())
