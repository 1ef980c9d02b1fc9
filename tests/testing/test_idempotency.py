"""``Idempotency-Key``: replay of the first answer, 422 for another body, 409 while the
first is in flight, the 255-character limit and the 24-hour memory."""

from __future__ import annotations

import asyncio

import httpx

from microdc.testing import Faults, FakeMicroDC

from .conftest import submit, submit_body, assert_error

SUBMIT = "/api/v1/jobs/submit"


async def test_a_repeat_with_the_same_key_and_body_replays_the_first_answer(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = await http.post(SUBMIT, json=submit_body(), headers=headers)
    fake.advance(20)
    second = await http.post(SUBMIT, json=submit_body(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.json()["status"] == "queued"
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert [len(r.headers.get_list("x-request-id")) for r in (first, second)] == [1, 1]
    assert len(fake.jobs) == 1
    assert [r.replayed for r in fake.requests] == [False, True]


async def test_the_body_is_compared_as_json_not_as_bytes(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    headers = {"Idempotency-Key": "key-2", "content-type": "application/json"}
    first = await local.post(
        SUBMIT, content=b'{"type": "llm_complete", "model": "echo-1", "prompt": "p"}', headers=headers
    )
    second = await local.post(SUBMIT, content=b'{"prompt":"p","model":"echo-1","type":"llm_complete"}', headers=headers)

    assert first.json()["id"] == second.json()["id"]
    assert len(fake.jobs) == 1


async def test_a_different_body_with_the_same_key_is_422(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    headers = {"Idempotency-Key": "key-3"}
    await http.post(SUBMIT, json=submit_body(), headers=headers)

    other_body = await http.post(SUBMIT, json=submit_body(prompt="other"), headers=headers)
    other_path = await http.post("/api/v1/jobs/job_x/acknowledge", headers=headers)

    assert_error(other_body, 422, "idempotency_key_reused", "Idempotency-Key")
    assert_error(other_path, 422, "idempotency_key_reused", "Idempotency-Key")
    assert len(fake.jobs) == 1


async def test_a_repeat_while_the_first_is_in_flight_is_a_retryable_409(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    fake.faults = Faults(latency=0.3, paths=[SUBMIT])
    headers = {"Idempotency-Key": "key-4"}

    first = asyncio.ensure_future(http.post(SUBMIT, json=submit_body(), headers=headers))
    for _ in range(100):
        if fake.requests:
            break
        await asyncio.sleep(0.005)
    second = await http.post(SUBMIT, json=submit_body(), headers=headers)
    first_answer = await asyncio.wait_for(first, 5)

    error = assert_error(second, 409, "idempotency_key_in_use")
    assert error["type"] == "conflict_error"
    assert "x-should-retry" not in second.headers
    assert first_answer.status_code == 201
    third = await http.post(SUBMIT, json=submit_body(), headers=headers)
    assert third.json()["id"] == first_answer.json()["id"]
    assert len(fake.jobs) == 1


async def test_keys_longer_than_255_characters_are_400(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    ok = await http.post(SUBMIT, json=submit_body(), headers={"Idempotency-Key": "k" * 255})
    too_long = await http.post(SUBMIT, json=submit_body(), headers={"Idempotency-Key": "k" * 256})

    assert ok.status_code == 201
    assert_error(too_long, 400, "invalid_idempotency_key", "Idempotency-Key")
    assert len(fake.jobs) == 1


async def test_keys_are_forgotten_after_24_hours(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    headers = {"Idempotency-Key": "key-5"}
    first = await local.post(SUBMIT, json=submit_body(), headers=headers)
    fake.advance(24 * 3600 - 1)
    replayed = await local.post(SUBMIT, json=submit_body(), headers=headers)
    fake.advance(1)
    fresh = await local.post(SUBMIT, json=submit_body(), headers=headers)

    assert replayed.json()["id"] == first.json()["id"]
    assert fresh.json()["id"] != first.json()["id"]
    assert len(fake.jobs) == 2


async def test_error_answers_are_replayed_too(local: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "key-6"}
    first = await local.post(SUBMIT, json=submit_body(model="nope"), headers=headers)
    second = await local.post(SUBMIT, json=submit_body(model="nope"), headers=headers)

    assert first.status_code == second.status_code == 422
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"


async def test_delete_and_acknowledge_replay_instead_of_409(http: httpx.AsyncClient) -> None:
    job = await submit(http)
    url = f"/api/v1/jobs/{job['id']}"

    first = await http.delete(url, headers={"Idempotency-Key": "cancel-1"})
    replay = await http.delete(url, headers={"Idempotency-Key": "cancel-1"})
    no_key = await http.delete(url)
    ack = await http.post(f"{url}/acknowledge", headers={"Idempotency-Key": "ack-1"})
    ack_again = await http.post(f"{url}/acknowledge", headers={"Idempotency-Key": "ack-1"})

    assert first.status_code == replay.status_code == 200
    assert first.content == replay.content
    assert_error(no_key, 409, "job_not_cancellable")
    assert ack.status_code == 200
    assert ack.content == ack_again.content


async def test_an_upload_is_replayed_even_with_a_new_multipart_boundary(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    headers = {"Idempotency-Key": "upload-1"}
    files = {"file": ("a.txt", b"same bytes", "text/plain")}
    first = await http.post("/api/files/upload", files=files, headers=headers)
    second = await http.post("/api/files/upload", files=files, headers=headers)
    other = await http.post("/api/files/upload", files={"file": ("a.txt", b"other", "text/plain")}, headers=headers)

    boundaries = {r.headers["content-type"] for r in fake.requests}
    assert len(boundaries) == 3
    assert first.json()["id"] == second.json()["id"]
    assert_error(other, 422, "idempotency_key_reused", "Idempotency-Key")
    assert len(fake.files) == 1


async def test_get_requests_ignore_the_key(local: httpx.AsyncClient) -> None:
    job = await submit(local)
    headers = {"Idempotency-Key": "get-1"}
    first = await local.get(f"/api/v1/jobs/{job['id']}", headers=headers)
    other = await local.get("/api/v1/models", headers=headers)

    assert first.status_code == other.status_code == 200
    assert "idempotent-replayed" not in other.headers
