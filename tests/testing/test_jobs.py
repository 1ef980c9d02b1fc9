"""The job endpoints: submission and its validation, retrieve, status, cancel,
acknowledge, auth, and the error body on every failure."""

from __future__ import annotations

from typing import Any, Dict

import httpx
import pytest

from microdc.testing import FakeMicroDC
from microdc.testing._models_catalog import MODELS

from .conftest import AUTH, submit, submit_body, assert_error

SUBMIT = "/api/v1/jobs/submit"


async def test_submit_answers_201_with_a_queued_job(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    response = await http.post(SUBMIT, json=submit_body(priority="high", metadata={"team": "a"}, timeout_seconds=60))

    assert response.status_code == 201
    assert response.headers["x-request-id"].startswith("req_")
    job = response.json()
    assert job["id"].startswith("job_")
    assert job["object"] == "job"
    assert (job["type"], job["model"], job["status"], job["priority"]) == ("llm_complete", "echo-1", "queued", "high")
    assert job["metadata"] == {"team": "a"}
    assert job["timeout_seconds"] == 60
    assert job["progress"] == 0.0
    assert job["created_at"] == "2025-01-01T00:00:00.000Z"
    assert job["started_at"] is job["completed_at"] is job["usage"] is job["result"] is job["error"] is None
    assert job["acknowledged"] is False
    assert list(fake.jobs) == [job["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {
            "type": "llm_chat",
            "model": "echo-1",
            "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}],
        },
        {"type": "llm_embed", "model": "embed-1", "texts": ["a", "b"], "normalize": False},
        {"type": "llm_complete", "model": "echo-1", "prompt": "p", "temperature": 0, "max_tokens": 1, "metadata": {}},
    ],
)
async def test_submit_accepts_each_type(local: httpx.AsyncClient, body: Dict[str, Any]) -> None:
    response = await local.post(SUBMIT, json=body)

    assert response.status_code == 201, response.text
    assert response.json()["type"] == body["type"]
    assert response.json()["priority"] == "normal"
    assert response.json()["timeout_seconds"] == 300


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"model": "echo-1", "prompt": "p"}, "missing_parameter", "type"),
        ({"type": "llm_magic", "model": "echo-1"}, "invalid_parameter", "type"),
        ({"type": "llm_complete", "prompt": "p"}, "missing_parameter", "model"),
        ({"type": "llm_complete", "model": "echo-1"}, "missing_parameter", "prompt"),
        ({"type": "llm_complete", "model": "echo-1", "prompt": 3}, "invalid_parameter", "prompt"),
        (submit_body(priority="urgent"), "invalid_parameter", "priority"),
        (submit_body(timeout_seconds=0), "invalid_parameter", "timeout_seconds"),
        (submit_body(timeout_seconds=86401), "invalid_parameter", "timeout_seconds"),
        (submit_body(timeout_seconds=1.5), "invalid_parameter", "timeout_seconds"),
        (submit_body(temperature=2.01), "invalid_parameter", "temperature"),
        (submit_body(temperature=-0.1), "invalid_parameter", "temperature"),
        (submit_body(temperature=True), "invalid_parameter", "temperature"),
        (submit_body(max_tokens=0), "invalid_parameter", "max_tokens"),
        (submit_body(metadata={str(i): "v" for i in range(17)}), "invalid_parameter", "metadata"),
        (submit_body(metadata={"k": 1}), "invalid_parameter", "metadata.k"),
        (submit_body(metadata=["k"]), "invalid_parameter", "metadata"),
        # openapi.yml allows null nowhere in a submission: null is not "the default".
        (submit_body(metadata=None), "invalid_parameter", "metadata"),
        (submit_body(priority=None), "invalid_parameter", "priority"),
        (submit_body(timeout_seconds=None), "invalid_parameter", "timeout_seconds"),
        (submit_body(prompt=None), "invalid_parameter", "prompt"),
        ({"type": "llm_chat", "model": "echo-1"}, "missing_parameter", "messages"),
        ({"type": "llm_chat", "model": "echo-1", "messages": []}, "invalid_parameter", "messages"),
        (
            {
                "type": "llm_chat",
                "model": "echo-1",
                "messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}],
            },
            "invalid_parameter",
            "messages[1].role",
        ),
        (
            {"type": "llm_chat", "model": "echo-1", "messages": [{"role": "user"}]},
            "missing_parameter",
            "messages[0].content",
        ),
        ({"type": "llm_embed", "model": "embed-1", "texts": []}, "invalid_parameter", "texts"),
        ({"type": "llm_embed", "model": "embed-1", "texts": ["a"] * 2049}, "invalid_parameter", "texts"),
        ({"type": "llm_embed", "model": "embed-1", "texts": ["a", 2]}, "invalid_parameter", "texts[1]"),
        (
            {"type": "llm_embed", "model": "embed-1", "texts": ["a"], "normalize": "yes"},
            "invalid_parameter",
            "normalize",
        ),
        ({"type": "document", "model": "doc-1", "file_tokens": []}, "invalid_parameter", "file_tokens"),
        ({"type": "document", "model": "doc-1", "file_tokens": ["ftok_nope"]}, "file_not_found", "file_tokens[0]"),
        (submit_body(model="gpt-9"), "model_not_found", "model"),
        (submit_body(model="embed-1"), "unsupported_job_type", "model"),
        (submit_body(prompt="word " * 8193), "context_length_exceeded", "prompt"),
    ],
)
async def test_submit_rejects_invalid_fields_with_422_and_param(
    local: httpx.AsyncClient, fake: FakeMicroDC, body: Dict[str, Any], code: str, param: str
) -> None:
    response = await local.post(SUBMIT, json=body)

    error = assert_error(response, 422, code, param)
    assert error["type"] == "invalid_request_error"
    assert fake.jobs == {}


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b"null", b'"text"', b"3"])
async def test_submit_rejects_an_unreadable_body_with_400(http: httpx.AsyncClient, content: bytes) -> None:
    response = await http.post(SUBMIT, content=content, headers={"content-type": "application/json"})

    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdC1rZXk="}, {"Authorization": "Bearer"}],
)
async def test_requests_without_the_api_key_get_401(
    http: httpx.AsyncClient, fake: FakeMicroDC, headers: Dict[str, str]
) -> None:
    http.headers.pop("Authorization")

    response = await http.post(SUBMIT, json=submit_body(), headers=headers)

    error = assert_error(response, 401, "invalid_api_key" if headers else "missing_api_key")
    assert error["type"] == "authentication_error"
    assert fake.jobs == {}


async def test_retrieve_and_status(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http)
    fake.advance(6)

    retrieved = (await http.get(f"/api/v1/jobs/{job['id']}")).json()
    status = await http.get(f"/api/v1/jobs/{job['id']}/status")

    assert retrieved["status"] == "running"
    assert retrieved["progress"] == 0.5
    assert retrieved["started_at"] == "2025-01-01T00:00:02.000Z"
    assert status.status_code == 200
    assert status.json() == {
        "id": job["id"],
        "object": "job.status",
        "status": "running",
        "progress": 0.5,
        "updated_at": "2025-01-01T00:00:02.000Z",
    }


@pytest.mark.parametrize("suffix", ["", "/status", "/events"])
async def test_unknown_job_is_404(http: httpx.AsyncClient, suffix: str) -> None:
    response = await http.get(f"/api/v1/jobs/job_missing{suffix}")

    error = assert_error(response, 404, "job_not_found", "job_id")
    assert error["type"] == "not_found_error"


async def test_unknown_route_and_method_get_json_errors(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/api/v2/nothing"), 404, "route_not_found")
    response = await http.put("/api/v1/models", json={})
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_cancel_queued_and_running_jobs(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    running = await submit(http)
    fake.advance(3)
    queued = await submit(http)
    assert (await http.get(f"/api/v1/jobs/{running['id']}")).json()["status"] == "running"
    assert (await http.get(f"/api/v1/jobs/{queued['id']}")).json()["status"] == "queued"

    answers = [await http.delete(f"/api/v1/jobs/{job['id']}") for job in (running, queued)]
    fake.advance(100)

    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json()["status"] for answer in answers] == ["cancelled", "cancelled"]
    for job in (running, queued):
        later = (await http.get(f"/api/v1/jobs/{job['id']}")).json()
        assert (later["status"], later["completed_at"]) == ("cancelled", "2025-01-01T00:00:03.000Z")


async def test_cancel_keeps_what_the_job_did(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    early = await submit(local)
    fake.advance(1)
    cancelled_queued = (await local.delete(f"/api/v1/jobs/{early['id']}")).json()
    late = await submit(local)
    fake.advance(6)
    cancelled_running = (await local.delete(f"/api/v1/jobs/{late['id']}")).json()

    assert cancelled_queued["started_at"] is None
    assert cancelled_queued["completed_at"] == "2025-01-01T00:00:01.000Z"
    assert cancelled_queued["usage"] == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost_usd": 0.0}
    assert cancelled_running["started_at"] == "2025-01-01T00:00:03.000Z"
    assert cancelled_running["progress"] == 0.5
    assert cancelled_running["usage"]["input_tokens"] == 4
    assert cancelled_running["result"] is None


async def test_cancel_of_a_finished_job_is_a_final_409(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(http)
    fake.advance(10)

    response = await http.delete(f"/api/v1/jobs/{job['id']}")

    error = assert_error(response, 409, "job_not_cancellable")
    assert error["type"] == "conflict_error"
    assert response.headers["x-should-retry"] == "false"
    assert (await http.get(f"/api/v1/jobs/{job['id']}")).json()["status"] == "completed"


async def test_acknowledge_needs_a_terminal_job_and_repeats_the_same_answer(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    job = await submit(http)
    url = f"/api/v1/jobs/{job['id']}/acknowledge"

    early = await http.post(url)
    assert_error(early, 409, "job_not_finished")
    assert early.headers["x-should-retry"] == "false"

    fake.advance(10)
    first = await http.post(url)
    fake.advance(5)
    second = await http.post(url)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["acknowledged"] is True
    assert first.json()["acknowledged_at"] == "2025-01-01T00:00:10.000Z"


async def test_every_answer_carries_a_distinct_request_id(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    answers = [await local.get("/api/v1/models"), await local.get("/api/v1/jobs/nope"), await local.post(SUBMIT)]

    ids = [answer.headers["x-request-id"] for answer in answers]
    assert len(set(ids)) == 3
    assert [request.request_id for request in fake.requests] == ids


async def test_requests_are_recorded_with_the_key_redacted(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    await local.post(SUBMIT, json=submit_body(), params={"x": "1"}, headers={"Idempotency-Key": "k"})
    await local.get("/api/v1/jobs/nope")

    first, second = fake.requests
    assert (first.method, first.path, first.query, first.status) == ("POST", SUBMIT, "x=1", 201)
    assert first.headers["authorization"] == "<redacted>"
    assert "test-key" not in repr(first)
    assert first.idempotency_key == "k"
    assert first.params == {"x": ["1"]}
    assert b'"prompt"' in first.body
    assert (second.status, second.fault, second.replayed) == (404, None, False)

    fake.reset_requests()
    assert fake.requests == []


async def test_models(http: httpx.AsyncClient) -> None:
    listed = await http.get("/api/v1/models")
    one = await http.get("/api/v1/models/embed-1")
    missing = await http.get("/api/v1/models/nope")

    assert listed.status_code == 200
    body = listed.json()
    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == list(MODELS)  # the catalog, in its order
    assert one.json() == {
        "id": "embed-1",
        "object": "model",
        "job_types": ["llm_embed"],
        "context_window": 8192,
        "max_output_tokens": None,
        "embedding_dimensions": 8,
        "pricing": {"input_per_million_tokens": 0.1, "output_per_million_tokens": 0.0},
    }
    assert_error(missing, 404, "model_not_found", "model_id")


async def test_output_never_passes_the_models_max_output_tokens(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    listed = await http.get("/api/v1/models/echo-1")
    limit = listed.json()["max_output_tokens"]
    assert limit == 4096
    prompt = " ".join(["w"] * (limit + 50))
    created = await http.post("/api/v1/jobs/submit", json={"type": "llm_complete", "model": "echo-1", "prompt": prompt})
    fake.advance(3600)
    job = (await http.get(f"/api/v1/jobs/{created.json()['id']}")).json()
    assert job["usage"]["output_tokens"] == limit
    assert job["result"]["finish_reason"] == "length"


async def test_model_requests_need_the_key_too(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/models", headers={"Authorization": "Bearer nope"})

    assert_error(response, 401, "invalid_api_key")
    assert AUTH["Authorization"] != response.request.headers["authorization"]


async def test_status_updated_at_is_the_last_change(local: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    job = await submit(local)
    fake.advance(1)
    await local.delete(f"/api/v1/jobs/{job['id']}")
    fake.advance(10)

    status = (await local.get(f"/api/v1/jobs/{job['id']}/status")).json()

    assert (status["status"], status["progress"]) == ("cancelled", 0.0)
    assert status["updated_at"] == "2025-01-01T00:00:01.000Z"


async def test_a_download_token_does_not_open_other_routes(http: httpx.AsyncClient) -> None:
    http.headers.pop("Authorization")

    response = await http.get("/api/v1/jobs/job_x/content", params={"token": "dltok_x"})

    assert_error(response, 401, "missing_api_key")
