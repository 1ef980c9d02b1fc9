"""Every amount the SDK reports is exact to the picodollar: the batch summary and progress, a conversation's
``cost_usd``/``spent_usd``, the budgets, the cost of a structured call's or batch item's re-asks, and what
the hooks add up. Float additions drift (``0.00075 + 0.0015 != 0.00225``); these properties hold for all
inputs."""

from __future__ import annotations

import json
import asyncio
import tempfile
import contextlib
from typing import Any, Dict, List, Iterable
from decimal import Decimal
from pathlib import Path

import pytest
import pydantic
from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import BudgetExceededError, OutputValidationError
from microdc.types import Job, JobUsage, ModelPricing
from microdc.testing import Faults, FakeMicroDC
from microdc.lib.hooks import JobInfo
from microdc.lib.retry import disable_retry_delays
from microdc.lib._money import to_usd, to_picodollars
from microdc.lib.metrics import Metrics
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


# --- structured outputs: re-asks, resumes, and what the hooks add up ----------------------------


class _Label(pydantic.BaseModel):
    label: str
    score: float = pydantic.Field(ge=0, le=1)


def _labelled(count: int) -> List[Dict[str, Any]]:
    return [{"type": "llm_complete", "model": "json-1", "prompt": f"Label text {i}."} for i in range(count)]


def _costs_by_input(fake: FakeMicroDC) -> Dict[int, List[float]]:
    """What each input's jobs cost, re-asks included (each prompt names its input)."""
    bodies = [json.loads(r.body) for r in fake.requests if r.method == "POST" and r.path == "/api/v1/jobs/submit"]
    costs: Dict[int, List[float]] = {}
    for body, job in zip(bodies, fake.jobs.values(), strict=True):
        index = int(body["prompt"].split("Label text ", 1)[1].split(".", 1)[0])
        costs.setdefault(index, []).append(job["usage"]["cost_usd"])
    return costs


@EXAMPLES
@given(count=st.integers(1, 6), max_reasks=st.integers(0, 2), resumed=st.booleans())
def test_a_structured_batchs_costs_are_exact_sums_re_asks_and_resumes_included(
    count: int, max_reasks: int, resumed: bool
) -> None:
    async def run(state: Path) -> None:
        fake = FakeMicroDC(job_duration=0, seed=12, faults=Faults(invalid_output_rate=0.5))
        async with fake.client() as client:
            if resumed:  # submitted by a first run, followed (and re-asked) by the next
                await client.jobs.submit_many(
                    _labelled(count), response_model=_Label, max_reasks=max_reasks, state_file=state, wait=False
                )
            result = await client.jobs.submit_many(
                _labelled(count), response_model=_Label, max_reasks=max_reasks, state_file=state, poll_interval=0.01
            )
            # A last run finds every input finished: its spend is the state file's, read back exactly.
            again = await client.jobs.submit_many(
                _labelled(count), response_model=_Label, max_reasks=max_reasks, state_file=state, poll_interval=0.01
            )
        costs = _costs_by_input(fake)
        assert [item.cost_usd for item in result] == [_exact_sum(costs[i]) for i in range(count)]
        assert result.spent_usd == again.spent_usd == _exact_sum(cost for each in costs.values() for cost in each)
        assert [item.cost_usd for item in again] == [item.cost_usd for item in result]
        for item in result:
            if item.parse_error is not None:
                assert item.parse_error.cost_usd == item.cost_usd

    with disable_retry_delays(), tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "labels.sqlite3"))


@EXAMPLES
@given(max_reasks=st.integers(0, 3))
def test_a_structured_calls_error_reports_the_exact_cost_of_its_attempts(max_reasks: int) -> None:
    async def run() -> None:
        fake = FakeMicroDC(job_duration=0, seed=4, faults=Faults(invalid_output_rate=1.0))
        async with fake.client() as client:
            with pytest.raises(OutputValidationError) as caught:
                await client.jobs.ask("Label this.", model="json-1", response_model=_Label, max_reasks=max_reasks)
        costs = [job["usage"]["cost_usd"] for job in fake.jobs.values()]
        assert len(costs) == max_reasks + 1
        assert caught.value.cost_usd == _exact_sum(costs)

    with disable_retry_delays():
        asyncio.run(run())


def _job(job_id: str, cost: float) -> Job:
    usage = JobUsage(input_tokens=1, output_tokens=1, total_tokens=2, cost_usd=cost)
    return Job.model_construct(
        id=job_id, object="job", type="llm_complete", model="echo-1", status="completed", usage=usage
    )


def test_metrics_and_an_operations_usage_add_up_costs_exactly() -> None:
    from microdc.lib.otel._telemetry import _usage  # pyright: ignore[reportPrivateUsage]

    jobs = (_job("job_1", 0.00075), _job("job_2", 0.0015))
    metrics = Metrics()
    for job in jobs:
        metrics.on_job(JobInfo(job, "list"))
    assert metrics.snapshot()["cost_usd_by_model"] == {"echo-1": 0.00225}
    usage = _usage(jobs)
    assert usage is not None
    assert usage.cost_usd == 0.00225
