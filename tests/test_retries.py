"""The retry loop and :class:`~microdc._retry.RetryPolicy`: what is retried, how often, how long it waits,
and the idempotency key every retry of one call reuses."""

from __future__ import annotations

import time
import random
import logging
import contextlib
import email.utils
from typing import Dict, List, Type, Optional

import anyio
import httpx
import pytest

from microdc import (
    APIError,
    RetryPolicy,
    AsyncMicroDC,
    ConflictError,
    NotFoundError,
    APIStatusError,
    RateLimitError,
    APITimeoutError,
    BadRequestError,
    APIConnectionError,
    InternalServerError,
    UnprocessableEntityError,
    omit,
)
from microdc._retry import retry_after_seconds
from microdc.lib.hooks import Hooks

from .conftest import API_KEY, BASE_URL, Answer, Recorder, fail, error, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")


async def attempts_for(*answers: Answer, max_retries: Optional[int] = None) -> int:
    """How many requests one GET makes against ``answers`` (its error, if any, is swallowed)."""
    recorder = Recorder(*answers)
    kwargs = {} if max_retries is None else {"max_retries": max_retries}
    async with make_client(recorder, **kwargs) as client:
        with contextlib.suppress(APIError):
            await client.get("/x", cast_to=object)
    return len(recorder.requests)


# ---------------------------------------------------------------- what is retried


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retryable_status_is_retried(status: int) -> None:
    assert await attempts_for(error(status), reply(200, {})) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_error_status_is_not_retried(status: int) -> None:
    assert await attempts_for(error(status), reply(200, {})) == 1


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError])
async def test_connection_error_is_retried(exc_type: Type[httpx.TransportError]) -> None:
    assert await attempts_for(fail(exc_type), reply(200, {})) == 2


@pytest.mark.parametrize("exc_type", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.PoolTimeout])
async def test_timeout_is_retried(exc_type: Type[httpx.TransportError]) -> None:
    assert await attempts_for(fail(exc_type), reply(200, {})) == 2


async def test_should_retry_false_on_500_is_not_retried() -> None:
    assert await attempts_for(error(500, headers={"x-should-retry": "false"}), reply(200, {})) == 1


async def test_should_retry_true_on_400_is_retried() -> None:
    assert await attempts_for(error(400, headers={"x-should-retry": "true"}), reply(200, {})) == 2


async def test_should_retry_false_on_409_is_not_retried() -> None:
    assert await attempts_for(error(409, headers={"x-should-retry": "false"}), reply(200, {})) == 1


async def test_idempotency_key_reused_is_never_retried() -> None:
    answer = error(422, "idempotency_key_reused", headers={"x-should-retry": "true"})
    recorder = Recorder(answer, reply(200, {}))
    async with make_client(recorder) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.post("/jobs", cast_to=object, body={})
    assert info.value.code == "idempotency_key_reused"
    assert len(recorder.requests) == 1


async def test_success_after_retries_returns_the_answer() -> None:
    recorder = Recorder(error(503), error(429), reply(200, {"ok": True}))
    async with make_client(recorder) as client:
        assert await client.get("/x", cast_to=object) == {"ok": True}
    assert len(recorder.requests) == 3


# ---------------------------------------------------------------- how often


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
async def test_total_attempts_are_max_retries_plus_one(max_retries: int) -> None:
    assert await attempts_for(error(500), max_retries=max_retries) == max_retries + 1


async def test_default_is_three_retries() -> None:
    assert await attempts_for(error(500)) == 4


async def test_max_retries_per_call_overrides_client() -> None:
    recorder = Recorder(error(500))
    async with make_client(recorder, max_retries=5) as client:
        with pytest.raises(InternalServerError):
            await client.get("/x", cast_to=object, max_retries=1)
    assert len(recorder.requests) == 2


async def test_max_retries_zero_per_call() -> None:
    recorder = Recorder(fail(httpx.ConnectError))
    async with make_client(recorder) as client:
        with pytest.raises(APIConnectionError):
            await client.get("/x", cast_to=object, max_retries=0)
    assert len(recorder.requests) == 1


async def test_with_options_max_retries() -> None:
    recorder = Recorder(error(500))
    async with make_client(recorder) as client:
        with pytest.raises(InternalServerError):
            await client.with_options(max_retries=2).get("/x", cast_to=object)
    assert len(recorder.requests) == 3


async def test_last_error_is_raised_when_retries_run_out() -> None:
    recorder = Recorder(error(500), error(502), error(503, "overloaded"))
    async with make_client(recorder, max_retries=2) as client:
        with pytest.raises(InternalServerError) as info:
            await client.get("/x", cast_to=object)
    assert info.value.status_code == 503
    assert info.value.code == "overloaded"


# ---------------------------------------------------------------- transport errors


async def test_timeout_becomes_api_timeout_error() -> None:
    recorder = Recorder(fail(httpx.ReadTimeout))
    async with make_client(recorder, max_retries=1) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.get("/x", cast_to=object)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert info.value.request is recorder.last
    assert "timed out" in str(info.value)


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError])
async def test_transport_error_becomes_api_connection_error(exc_type: Type[httpx.TransportError]) -> None:
    recorder = Recorder(fail(exc_type, "connection reset by peer"))
    async with make_client(recorder, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get("/x", cast_to=object)
    assert not isinstance(info.value, (APITimeoutError, httpx.HTTPError))
    assert isinstance(info.value.__cause__, exc_type)
    assert "connection reset by peer" in str(info.value)


async def test_too_many_redirects_becomes_api_connection_error() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": str(request.url)}, request=request)

    recorder = Recorder(redirect)
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(recorder), follow_redirects=True)
    client = AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL, max_retries=0, http_client=http_client)
    async with client:
        with pytest.raises(APIConnectionError, match="redirects"):
            await client.get("/x", cast_to=object)


# ---------------------------------------------------------------- idempotency keys


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_same_idempotency_key_on_every_retry_of_a_call(method: str) -> None:
    recorder = Recorder(error(500), fail(httpx.ReadError), error(409), reply(200, {}))
    async with make_client(recorder) as client:
        if method == "POST":
            await client.post("/jobs", cast_to=object, body={"a": 1})
        else:
            await client.delete("/jobs/1", cast_to=object)
    keys = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert len(keys) == 4
    assert len(set(keys)) == 1
    assert keys[0]


async def test_new_idempotency_key_on_the_next_call() -> None:
    recorder = Recorder(reply(200, {}))
    async with make_client(recorder) as client:
        await client.post("/jobs", cast_to=object, body={})
        await client.post("/jobs", cast_to=object, body={})
    first, second = (r.headers["Idempotency-Key"] for r in recorder.requests)
    assert first != second


async def test_callers_idempotency_key_is_sent_verbatim_on_every_retry() -> None:
    recorder = Recorder(error(500), reply(200, {}))
    async with make_client(recorder) as client:
        await client.post("/jobs", cast_to=object, body={}, idempotency_key="My-Key_1.2:3/+==")
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["My-Key_1.2:3/+=="] * 2


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])
async def test_idempotency_key_in_extra_headers_is_the_key_of_every_retry(name: str) -> None:
    recorder = Recorder(error(500), reply(200, {}))
    async with make_client(recorder) as client:
        await client.post("/jobs", cast_to=object, body={}, extra_headers={name: "from-headers"})
    assert [r.headers.get_list("Idempotency-Key") for r in recorder.requests] == [["from-headers"]] * 2


async def test_idempotency_key_omitted_in_extra_headers_is_not_sent() -> None:
    recorder = Recorder(reply(200, {}))
    async with make_client(recorder) as client:
        await client.post("/jobs", cast_to=object, body={}, extra_headers={"Idempotency-Key": omit})
    assert "idempotency-key" not in recorder.last.headers


async def test_get_sends_no_idempotency_key() -> None:
    recorder = Recorder(error(500), reply(200, {}))
    async with make_client(recorder) as client:
        await client.get("/jobs", cast_to=object)
    assert all("idempotency-key" not in r.headers for r in recorder.requests)


async def test_get_pages_send_no_idempotency_key() -> None:
    from microdc.pagination import AsyncCursorPage

    recorder = Recorder(reply(200, {"data": [], "has_more": False}))
    async with make_client(recorder) as client:
        await client.get_api_list("/jobs", page=AsyncCursorPage[object])
    assert "idempotency-key" not in recorder.last.headers


# ---------------------------------------------------------------- how long it waits


class FixedRandom(random.Random):
    """A ``random.Random`` whose ``random()`` is always ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def delay_after(policy: RetryPolicy, headers: Dict[str, str], status: int = 503) -> Optional[float]:
    """The policy's wait after the third attempt got ``status`` with ``headers``."""
    answer = httpx.Response(status, headers=headers)
    return policy.next_delay(answer, retries_taken=2, started=0.0, max_retries=10)


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"retry-after-ms": "1500"}, 1.5, 1.5),
        ({"retry-after-ms": "250"}, 0.25, 0.25),
        ({"retry-after-ms": "60000"}, 60.0, 60.0),
        ({"retry-after-ms": "2000", "retry-after": "30"}, 2.0, 2.0),
        ({"retry-after": "3"}, 3.0, 3.0),
        ({"retry-after": "0.5"}, 0.5, 0.5),
        ({"retry-after": "60"}, 60.0, 60.0),
        ({"retry-after-ms": "soon", "retry-after": "7"}, 7.0, 7.0),
    ],
)
def test_server_hint_is_obeyed(headers: Dict[str, str], low: float, high: float) -> None:
    policy = RetryPolicy(_random=FixedRandom(0.0))
    delay = delay_after(policy, headers)
    assert delay is not None
    assert low <= delay <= high


@pytest.mark.parametrize("seconds", [5, 10, 30, 59])
def test_retry_after_http_date_is_obeyed(seconds: int) -> None:
    policy = RetryPolicy(_random=FixedRandom(0.0))
    delay = delay_after(policy, {"retry-after": http_date(seconds)})
    assert delay is not None
    # An HTTP date has whole seconds, so the wait is within a second (plus slack) of the target.
    assert seconds - 2 <= delay <= seconds


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "0"},
        {"retry-after": "-5"},
        {"retry-after": "61"},
        {"retry-after": "3600"},
        {"retry-after": "soon"},
        {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"retry-after": "Fri, 01 Jan 2100 00:00:00 GMT"},
        {"retry-after-ms": "0"},
        {"retry-after-ms": "-100"},
        {"retry-after-ms": "60001"},
        {"retry-after-ms": "nan"},
        {"retry-after-ms": "inf"},
    ],
)
def test_out_of_range_or_invalid_hint_falls_back_to_backoff(headers: Dict[str, str]) -> None:
    policy = RetryPolicy(_random=FixedRandom(0.0))
    assert delay_after(policy, headers) == policy.backoff(2) == 2.0


def test_retry_after_http_date_is_parsed() -> None:
    seconds = retry_after_seconds(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert seconds is not None
    assert seconds == pytest.approx(1445412480 - time.time(), abs=5)


@pytest.mark.parametrize(
    ("retries_taken", "base"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (10, 8.0), (100, 8.0)],
)
@pytest.mark.parametrize("r", [0.0, 0.5, 0.999999])
def test_backoff_formula(retries_taken: int, base: float, r: float) -> None:
    policy = RetryPolicy(_random=FixedRandom(r))
    assert policy.backoff(retries_taken) == pytest.approx(base * (1 - 0.25 * r))


def test_backoff_is_capped_for_any_number_of_retries() -> None:
    policy = RetryPolicy(_random=FixedRandom(0.0))
    assert policy.backoff(5000) == 8.0


def test_backoff_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(_random=random.Random(1234))
    for retries_taken in range(8):
        base = min(0.5 * 2**retries_taken, 8.0)
        delays = [policy.backoff(retries_taken) for _ in range(200)]
        assert all(0.75 * base < d <= base for d in delays)
        assert max(delays) - min(delays) > 0.05 * base  # it really is jittered


def test_policy_reads_the_rules() -> None:
    policy = RetryPolicy()

    def retried(status: int, headers: Optional[Dict[str, str]] = None) -> bool:
        return delay_after(policy, headers or {}, status) is not None

    assert [retried(s) for s in (408, 409, 429, 500, 599)] == [True] * 5
    assert [retried(s) for s in (400, 401, 403, 404, 422)] == [False] * 5
    assert retried(500, {"x-should-retry": "false"}) is False
    assert retried(404, {"x-should-retry": "true"}) is True


async def delays_of(*answers: Answer) -> List[float]:
    """The waits the retry loop chose between attempts against ``answers`` (seen by an ``on_retry`` hook)."""
    delays: List[float] = []
    async with make_client(Recorder(*answers), hooks=Hooks(on_retry=lambda info: delays.append(info.delay))) as client:
        await client.get("/x", cast_to=object)
    return delays


async def test_loop_waits_the_servers_retry_after_ms() -> None:
    assert await delays_of(error(429, headers={"retry-after-ms": "1500", "retry-after": "9"}), reply(200, {})) == [1.5]


async def test_loop_waits_the_servers_retry_after_seconds() -> None:
    assert await delays_of(error(503, headers={"retry-after": "4"}), reply(200, {})) == [4.0]


async def test_loop_waits_the_servers_retry_after_date() -> None:
    (delay,) = await delays_of(error(503, headers={"retry-after": http_date(20)}), reply(200, {}))
    assert 18.0 <= delay <= 20.0


async def test_loop_backs_off_exponentially_without_a_hint() -> None:
    delays = await delays_of(fail(httpx.ConnectError), error(500), error(500), reply(200, {}))
    assert len(delays) == 3
    for n, delay in enumerate(delays):
        assert 0.75 * 0.5 * 2**n < delay <= 0.5 * 2**n


async def test_loop_ignores_an_out_of_range_hint() -> None:
    (delay,) = await delays_of(error(429, headers={"retry-after": "120"}), reply(200, {}))
    assert 0.375 < delay <= 0.5


async def test_retries_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="microdc")
    async with make_client(Recorder(error(503), reply(200, {}))) as client:
        await client.get("/x", cast_to=object)
    assert any("Retrying GET" in record.getMessage() and "503" in record.getMessage() for record in caplog.records)


def test_disable_retry_delays_restores_the_previous_clock() -> None:
    from microdc import _clock, _retry

    outer = _clock.current_clock()
    with _retry.disable_retry_delays() as first:
        assert _clock.current_clock() is first
        with _retry.disable_retry_delays() as second:
            assert _clock.current_clock() is second
        assert _clock.current_clock() is first
    assert _clock.current_clock() is outer


async def test_an_instant_sleep_moves_the_clock_forward_so_deadlines_still_pass() -> None:
    from microdc import _clock, _retry

    with _retry.disable_retry_delays():
        before = _clock.monotonic()
        with anyio.fail_after(30):  # a guard: a real hour-long sleep would trip it
            await _clock.sleep(3600)
        assert _clock.monotonic() - before >= 3600


# ---------------------------------------------------------------- error classes of the final answer


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [(400, BadRequestError), (404, NotFoundError), (409, ConflictError), (429, RateLimitError)],
)
async def test_final_error_has_the_status_class(status: int, exc_type: Type[APIStatusError]) -> None:
    recorder = Recorder(error(status))
    async with make_client(recorder, max_retries=1) as client:
        with pytest.raises(exc_type):
            await client.get("/x", cast_to=object)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_only_post_and_delete_are_mutations(method: str) -> None:
    recorder = Recorder(reply(200, {}))
    async with make_client(recorder) as client:
        verb = client.put if method == "PUT" else client.patch
        await verb("/x", cast_to=object, body={})
        with pytest.raises(TypeError, match="idempotency_key"):
            await verb("/x", cast_to=object, body={}, idempotency_key="k")  # type: ignore[call-arg]
    assert "idempotency-key" not in recorder.last.headers
