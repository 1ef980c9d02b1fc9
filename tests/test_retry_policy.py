"""``AsyncMicroDC(retry=RetryPolicy(...))``: every field of the policy, ``retry_if`` both ways, the deadline in virtual time."""

from __future__ import annotations

import contextlib
from typing import Any, List, Union, Optional

import httpx
import pytest
from hypothesis import given, settings, strategies as st

import microdc.lib.retry
from microdc import (
    APIError,
    RetryPolicy,
    AsyncMicroDC,
    APITimeoutError,
    BadRequestError,
    APIConnectionError,
    InternalServerError,
    APIResponseValidationError,
    _clock,
)
from microdc._retry import NEVER_RETRIED_CODES
from microdc.lib.hooks import RetryInfo
from microdc.lib.retry import disable_retry_delays
from microdc._exceptions import make_status_error

from .conftest import Recorder, fail, error, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")

Outcome = Union[httpx.Response, APIError]


class Delays:
    """An ``on_retry`` hook keeping each retry's delay."""

    def __init__(self) -> None:
        self.delays: List[float] = []

    def on_retry(self, info: RetryInfo) -> None:
        self.delays.append(info.delay)


async def run(client: AsyncMicroDC, **options: Any) -> None:
    async with client:
        with contextlib.suppress(APIError):
            await client.get("/x", cast_to=object, **options)


# ---------------------------------------------------------------- the count


async def test_policy_max_retries_is_the_client_count() -> None:
    recorder = Recorder(error(500))
    await run(make_client(recorder, retry=RetryPolicy(max_retries=1)))
    assert len(recorder.requests) == 2


async def test_client_max_retries_overrides_the_policy_count() -> None:
    recorder = Recorder(error(500))
    client = make_client(recorder, retry=RetryPolicy(max_retries=5, initial_delay=0.25), max_retries=1)
    assert client.retry_policy.max_retries == 1
    assert client.retry_policy.initial_delay == 0.25
    await run(client)
    assert len(recorder.requests) == 2


async def test_request_max_retries_overrides_the_policy_count() -> None:
    recorder = Recorder(error(500))
    await run(make_client(recorder, retry=RetryPolicy(max_retries=5)), max_retries=2)
    assert len(recorder.requests) == 3


async def test_with_options_retry_replaces_the_policy() -> None:
    recorder = Recorder(error(500))
    async with make_client(recorder, retry=RetryPolicy(max_retries=5)) as client:
        copy = client.with_options(retry=RetryPolicy(max_retries=0))
        with contextlib.suppress(APIError):
            await copy.get("/x", cast_to=object)
        assert client.retry_policy.max_retries == 5
    assert len(recorder.requests) == 1


async def test_copy_max_retries_keeps_the_rest_of_the_policy() -> None:
    async with make_client(retry=RetryPolicy(max_delay=2.0, deadline=30.0)) as client:
        policy = client.copy(max_retries=9).retry_policy
    assert (policy.max_retries, policy.max_delay, policy.deadline) == (9, 2.0, 30.0)


# ---------------------------------------------------------------- the waits


async def test_initial_and_max_delay_shape_the_backoff() -> None:
    recorder = Recorder(error(500))
    delays = Delays()
    policy = RetryPolicy(max_retries=4, initial_delay=0.1, max_delay=0.3, jitter=0.0)
    await run(make_client(recorder, retry=policy, hooks=delays))
    assert delays.delays == pytest.approx([0.1, 0.2, 0.3, 0.3])


@settings(max_examples=200, deadline=None)
@given(
    initial=st.floats(min_value=0.0, max_value=10.0),
    cap=st.floats(min_value=0.0, max_value=60.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    retries_taken=st.integers(min_value=0, max_value=10_000),
)
def test_backoff_is_within_jitter_of_the_capped_exponential(
    initial: float, cap: float, jitter: float, retries_taken: int
) -> None:
    policy = RetryPolicy(initial_delay=initial, max_delay=cap, jitter=jitter)
    base = min(initial * 2.0 ** min(retries_taken, 64), cap)
    assert base * (1 - jitter) - 1e-9 <= policy.backoff(retries_taken) <= base + 1e-9


async def test_the_wait_sleeps_on_the_sdk_clock() -> None:
    recorder = Recorder(error(500), reply(200, {}))
    with disable_retry_delays() as clock:
        await run(make_client(recorder, retry=RetryPolicy(initial_delay=4.0, jitter=0.0)))
    assert clock.skipped == 4.0


# ---------------------------------------------------------------- the deadline


async def test_deadline_stops_retrying_before_a_wait_would_pass_it() -> None:
    recorder = Recorder(error(500))
    delays = Delays()
    policy = RetryPolicy(max_retries=10, initial_delay=1.0, max_delay=60.0, jitter=0.0, deadline=2.5)
    with disable_retry_delays() as clock:
        await run(make_client(recorder, retry=policy, hooks=delays))
    # Waits 1 (t=1), then 2 would end at t=3 > 2.5: two attempts, one wait.
    assert len(recorder.requests) == 2
    assert delays.delays == [1.0]
    assert clock.skipped <= 2.5


async def test_deadline_refuses_a_server_hint_that_runs_past_it() -> None:
    recorder = Recorder(error(429, headers={"retry-after": "5"}), reply(200, {}))
    with pytest.raises(APIError):
        async with make_client(recorder, retry=RetryPolicy(deadline=3.0)) as client:
            await client.get("/x", cast_to=object)
    assert len(recorder.requests) == 1


async def test_no_deadline_retries_through_the_same_waits() -> None:
    recorder = Recorder(error(429, headers={"retry-after": "5"}), reply(200, {}))
    async with make_client(recorder, retry=RetryPolicy()) as client:
        assert await client.get("/x", cast_to=object) == {}
    assert len(recorder.requests) == 2


# ---------------------------------------------------------------- retry_if


async def test_retry_if_true_retries_what_the_rules_would_not() -> None:
    seen: List[Outcome] = []

    def retry_if(outcome: Outcome) -> Optional[bool]:
        seen.append(outcome)
        return True

    recorder = Recorder(error(400), reply(200, {"ok": True}))
    async with make_client(recorder, retry=RetryPolicy(retry_if=retry_if)) as client:
        assert await client.get("/x", cast_to=object) == {"ok": True}
    assert len(recorder.requests) == 2
    assert isinstance(seen[0], httpx.Response)
    assert seen[0].status_code == 400


async def test_retry_if_false_stops_what_the_rules_would_retry() -> None:
    recorder = Recorder(error(503), reply(200, {}))
    with pytest.raises(InternalServerError):
        async with make_client(recorder, retry=RetryPolicy(retry_if=lambda _outcome: False)) as client:
            await client.get("/x", cast_to=object)
    assert len(recorder.requests) == 1


async def test_retry_if_none_keeps_the_built_in_decision() -> None:
    recorder = Recorder(error(503), error(400), reply(200, {}))
    with pytest.raises(BadRequestError):
        async with make_client(recorder, retry=RetryPolicy(retry_if=lambda _outcome: None)) as client:
            await client.get("/x", cast_to=object)
    assert len(recorder.requests) == 2


async def test_retry_if_gets_the_exception_of_a_connection_failure() -> None:
    seen: List[Outcome] = []

    def retry_if(outcome: Outcome) -> Optional[bool]:
        seen.append(outcome)
        return False

    recorder = Recorder(fail(httpx.ConnectError), reply(200, {}))
    with pytest.raises(APIConnectionError):
        async with make_client(recorder, retry=RetryPolicy(retry_if=retry_if)) as client:
            await client.get("/x", cast_to=object)
    assert len(recorder.requests) == 1
    assert len(seen) == 1
    assert isinstance(seen[0], APIConnectionError)


async def test_retry_if_does_not_lift_the_count() -> None:
    recorder = Recorder(error(400))
    await run(make_client(recorder, retry=RetryPolicy(max_retries=2, retry_if=lambda _outcome: True)))
    assert len(recorder.requests) == 3


async def test_retry_if_is_not_asked_about_a_success() -> None:
    calls: List[Outcome] = []

    def retry_if(outcome: Outcome) -> Optional[bool]:
        calls.append(outcome)
        return True

    recorder = Recorder(reply(200, {}))
    async with make_client(recorder, retry=RetryPolicy(retry_if=retry_if)) as client:
        await client.get("/x", cast_to=object)
    assert calls == []


# ---------------------------------------------------------------- next_delay: the one decision

REQUEST = httpx.Request("GET", "http://api.microdc.test/x")


def answer(status: int, code: Optional[str] = None, headers: Optional[dict[str, str]] = None) -> httpx.Response:
    body = {"error": {"type": "invalid_request_error", "code": code, "message": "no", "param": None}}
    return httpx.Response(status, json=body, headers=headers, request=REQUEST)


def decide(policy: RetryPolicy, outcome: Outcome, retries_taken: int = 0, **kwargs: Any) -> Optional[float]:
    return policy.next_delay(outcome, retries_taken=retries_taken, started=0.0, **kwargs)


def test_next_delay_is_the_backoff_for_a_retryable_answer_and_none_for_another() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert decide(policy, answer(503), retries_taken=2) == 2.0
    assert decide(policy, answer(400)) is None


def test_next_delay_takes_a_status_error_as_its_answer() -> None:
    seen: List[Outcome] = []

    def retry_if(outcome: Outcome) -> None:
        seen.append(outcome)

    policy = RetryPolicy(jitter=0.0, retry_if=retry_if)
    response = answer(429, headers={"retry-after": "2"})
    assert decide(policy, make_status_error(response, response.json())) == 2.0
    assert seen == [response]  # retry_if sees the answer, as in the request loop


@pytest.mark.parametrize("verdict", [None, True])
@pytest.mark.parametrize("headers", [{}, {"x-should-retry": "true"}])
def test_a_never_retried_code_is_never_retried(verdict: Optional[bool], headers: dict[str, str]) -> None:
    policy = RetryPolicy(jitter=0.0, retry_if=lambda _outcome: verdict)
    assert {"idempotency_key_reused"} == NEVER_RETRIED_CODES
    assert decide(policy, answer(422, "idempotency_key_reused", headers)) is None
    assert decide(policy, answer(422, "other_code", headers)) == (None if verdict is None and not headers else 0.5)


@pytest.mark.parametrize("verdict", [None, True])
def test_a_connection_error_that_cannot_succeed_is_never_retried(verdict: Optional[bool]) -> None:
    policy = RetryPolicy(jitter=0.0, retry_if=lambda _outcome: verdict)
    assert decide(policy, APIConnectionError(request=REQUEST, retryable=False)) is None
    assert decide(policy, APIConnectionError(request=REQUEST)) == 0.5
    assert decide(policy, APITimeoutError(REQUEST)) == 0.5


def test_an_error_that_is_no_failed_attempt_is_not_retried() -> None:
    invalid = APIResponseValidationError(httpx.Response(200, request=REQUEST), None)
    assert decide(RetryPolicy(), invalid) is None


def test_max_retries_given_overrides_the_policys_count() -> None:
    policy = RetryPolicy(max_retries=1, jitter=0.0)
    assert decide(policy, answer(500), retries_taken=1) is None
    assert decide(policy, answer(500), retries_taken=1, max_retries=5) == 1.0
    assert decide(policy, answer(500), retries_taken=5, max_retries=5) is None


def test_no_wait_ends_past_the_deadline() -> None:
    policy = RetryPolicy(max_retries=5, initial_delay=1.0, jitter=0.0, deadline=10.0)
    with disable_retry_delays():
        started = _clock.monotonic()
        assert policy.next_delay(answer(500), retries_taken=3, started=started) == 8.0
        assert policy.next_delay(answer(500), retries_taken=3, started=started - 2.5) is None
        hinted = answer(503, headers={"retry-after": "9"})
        assert policy.next_delay(hinted, retries_taken=0, started=started - 2.0) is None


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([400, 404, 408, 409, 422, 429, 500, 503]),
    hint=st.one_of(st.none(), st.floats(min_value=-10, max_value=120, allow_nan=False)),
    retries_taken=st.integers(min_value=0, max_value=12),
    max_retries=st.integers(min_value=0, max_value=12),
    deadline=st.one_of(st.none(), st.floats(min_value=0.01, max_value=30)),
    elapsed=st.floats(min_value=0, max_value=40),
)
def test_a_delay_is_never_past_the_count_the_cap_or_the_deadline(
    status: int, hint: Optional[float], retries_taken: int, max_retries: int, deadline: Optional[float], elapsed: float
) -> None:
    policy = RetryPolicy(max_retries=max_retries, deadline=deadline)
    headers = {} if hint is None else {"retry-after-ms": str(hint * 1000)}
    with disable_retry_delays():
        now = _clock.monotonic()
        delay = policy.next_delay(answer(status, headers=headers), retries_taken=retries_taken, started=now - elapsed)
    if delay is None:
        return
    assert retries_taken < max_retries
    assert status in (408, 409, 429) or status >= 500
    assert 0 <= delay <= max(policy.max_delay, policy.max_retry_after)
    if deadline is not None:
        assert elapsed + delay <= deadline + 0.01


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"initial_delay": -0.1},
        {"max_delay": -1.0},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"deadline": 0.0},
        {"max_retry_after": -1.0},
    ],
)
def test_a_policy_with_an_impossible_value_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_must_be_a_policy() -> None:
    with pytest.raises(TypeError, match="RetryPolicy"):
        make_client(retry={"max_retries": 1})


def test_default_policy_is_the_documented_one() -> None:
    policy = make_client().retry_policy
    assert (policy.max_retries, policy.initial_delay, policy.max_delay, policy.jitter, policy.deadline) == (
        3,
        0.5,
        8.0,
        0.25,
        None,
    )
    assert policy.retry_if is None


def test_retry_policy_has_one_public_home() -> None:
    assert not hasattr(microdc.lib.retry, "RetryPolicy")
    assert microdc.lib.retry.__all__ == ["disable_retry_delays", "retry_after_seconds"]
    assert RetryPolicy.__module__ == "microdc"
