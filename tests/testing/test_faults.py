"""``Faults``: seeded 5xx, 429, latency, resets and lost answers, on chosen paths."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List, Optional

import httpx
import pytest

from microdc.testing import Faults, FakeMicroDC, ManualClock

from .conftest import submit_body, assert_error

SUBMIT = "/api/v1/jobs/submit"


async def test_error_rate_answers_5xx_and_changes_nothing(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    fake.faults = Faults(error_rate=1.0, error_statuses=[503])

    response = await http.post(SUBMIT, json=submit_body(), headers={"Idempotency-Key": "k"})

    error = assert_error(response, 503, "service_unavailable")
    assert error["type"] == "api_error"
    assert fake.jobs == {}
    assert fake.requests[-1].fault == "error"
    fake.faults = None
    assert (await http.post(SUBMIT, json=submit_body(), headers={"Idempotency-Key": "k"})).status_code == 201


async def test_rate_limit_answers_429_with_both_retry_headers(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    fake.faults = Faults(rate_limit_rate=1.0, retry_after=0.25)

    response = await http.get("/api/v1/models")

    error = assert_error(response, 429, "rate_limited")
    assert error["type"] == "rate_limit_error"
    assert response.headers["retry-after"] == "1"
    assert response.headers["retry-after-ms"] == "250"


async def test_latency_delays_matching_requests_only(
    http: httpx.AsyncClient, fake: FakeMicroDC, clock: ManualClock
) -> None:
    fake.faults = Faults(latency=0.2, methods=["POST"])

    with fake.virtual_time():  # the injected latency passes on the fake's clock, not the wall clock
        started = clock.now()
        await http.get("/api/v1/models")
        fast = clock.now() - started
        started = clock.now()
        await http.post(SUBMIT, json=submit_body())
        slow = clock.now() - started

    assert slow == pytest.approx(0.2)
    assert fast == 0.0


async def test_latency_can_be_a_range(local: httpx.AsyncClient, fake: FakeMicroDC, clock: ManualClock) -> None:
    fake.faults = Faults(latency=(0.05, 0.1))

    elapsed: List[float] = []
    with fake.virtual_time():
        for _ in range(5):
            started = clock.now()
            await local.get("/api/v1/models")
            elapsed.append(clock.now() - started)

    assert all(0.05 <= seconds <= 0.1 for seconds in elapsed)
    assert len(set(elapsed)) > 1


async def test_a_reset_drops_the_connection_before_anything_happens(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    fake.faults = Faults(reset_rate=1.0, paths=[SUBMIT])

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await http.post(SUBMIT, json=submit_body(), headers={"Idempotency-Key": "reset-1"})

    assert fake.jobs == {}
    assert (fake.requests[-1].status, fake.requests[-1].fault) == (None, "reset")
    fake.faults = None
    retried = await http.post(SUBMIT, json=submit_body(), headers={"Idempotency-Key": "reset-1"})
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


async def test_in_process_resets_look_like_a_reset_socket(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    fake.faults = Faults(reset_rate=1.0)

    with pytest.raises(httpx.ReadError, match="reset"):
        await local.get("/api/v1/models")


async def test_a_lost_answer_commits_the_job_then_drops_the_connection(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    fake.faults = Faults(lost_answer_rate=1.0, paths=[SUBMIT], max_faults=1)
    headers = {"Idempotency-Key": "lost-1"}

    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(SUBMIT, json=submit_body(), headers=headers)
    assert len(fake.jobs) == 1
    assert (fake.requests[-1].status, fake.requests[-1].fault) == (None, "lost_answer")

    retried = await http.post(SUBMIT, json=submit_body(), headers=headers)
    assert retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert [retried.json()["id"]] == list(fake.jobs)


async def test_a_lost_answer_without_a_key_still_commits(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    fake.faults = Faults(lost_answer_rate=1.0, paths=["/api/v1/jobs/*"], methods=["DELETE"])
    job = (await http.post(SUBMIT, json=submit_body())).json()

    with pytest.raises(httpx.RemoteProtocolError):
        await http.delete(f"/api/v1/jobs/{job['id']}")

    assert fake.jobs[job["id"]]["status"] == "cancelled"


async def test_faults_are_seeded_and_filtered(fake: FakeMicroDC) -> None:
    async def kinds(faults: Faults, paths: List[str]) -> List[Optional[str]]:
        fake.faults = faults
        fake.reset_requests()
        async with fake.http_client() as http:
            for path in paths:
                with contextlib.suppress(httpx.TransportError):
                    await http.get(path)
        return [request.fault for request in fake.requests]

    faults = Faults(seed=42, error_rate=0.25, rate_limit_rate=0.25, reset_rate=0.25, paths=["/api/v1/models*"])
    paths = ["/api/v1/models", "/api/v1/jobs"] * 40
    first = await kinds(faults, paths)
    second = await kinds(faults, paths)

    assert first == second
    assert set(first[1::2]) == {None}
    assert {"error", "rate_limit", "reset", None} == set(first[::2])
    assert 5 < first[::2].count(None) < 35


async def test_max_faults_stops_injecting(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    fake.faults = Faults(error_rate=1.0, max_faults=2)

    statuses = [(await local.get("/api/v1/models")).status_code for _ in range(4)]

    assert statuses[:2] != [200, 200]
    assert all(status >= 500 for status in statuses[:2])
    assert statuses[2:] == [200, 200]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate": 0.6, "reset_rate": 0.6},
        {"error_rate": -0.1},
        {"error_statuses": [404]},
        {"latency": -1.0},
        {"latency": (2.0, 1.0)},
        {"retry_after": -1.0},
        {"stream_drop_after": -1},
        {"stream_end_after": -1},
    ],
)
def test_faults_reject_impossible_settings(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        Faults(**kwargs)


async def test_faults_default_to_the_fakes_seed() -> None:
    async def kinds(seed: int) -> List[Optional[str]]:
        fake = FakeMicroDC(seed=seed, faults=Faults(error_rate=0.5))
        async with fake.http_client() as http:
            for _ in range(40):
                await http.get("/api/v1/models")
        return [request.fault for request in fake.requests]

    assert await kinds(5) == await kinds(5)
    assert await kinds(5) != await kinds(6)
    assert FakeMicroDC().faults is None
