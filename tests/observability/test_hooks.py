"""Hooks: which are called, when, with what record; sync and async; a raising hook; copies."""

from __future__ import annotations

import logging
from typing import Any, List, Tuple, Union, cast

import httpx
import pytest

from microdc import NotFoundError, APIConnectionError, InternalServerError
from microdc.lib.hooks import Hooks, ErrorInfo, RetryInfo, RequestInfo, ResponseInfo
from microdc.lib.rate_limit import RateLimit

from ..conftest import API_KEY, BASE_URL, Recorder, fail, error, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")

JOB = {"id": "job_abc123", "object": "job", "type": "llm_complete", "model": "echo-1", "status": "queued"}
Info = Union[RequestInfo, ResponseInfo, RetryInfo, ErrorInfo]


class Record:
    """Sync hooks that keep every record, in order."""

    def __init__(self) -> None:
        self.events: List[Tuple[str, Info]] = []

    def on_request(self, info: RequestInfo) -> None:
        self.events.append(("request", info))

    def on_response(self, info: ResponseInfo) -> None:
        self.events.append(("response", info))

    def on_retry(self, info: RetryInfo) -> None:
        self.events.append(("retry", info))

    def on_error(self, info: ErrorInfo) -> None:
        self.events.append(("error", info))

    @property
    def names(self) -> List[str]:
        return [name for name, _ in self.events]

    def of(self, name: str) -> List[Any]:
        return [info for event, info in self.events if event == name]


class AsyncRecord(Record):
    """The same hooks, as coroutines."""

    async def on_request(self, info: RequestInfo) -> None:  # type: ignore[override]
        super().on_request(info)

    async def on_response(self, info: ResponseInfo) -> None:  # type: ignore[override]
        super().on_response(info)

    async def on_retry(self, info: RetryInfo) -> None:  # type: ignore[override]
        super().on_retry(info)

    async def on_error(self, info: ErrorInfo) -> None:  # type: ignore[override]
        super().on_error(info)


@pytest.fixture(params=["sync", "async"])
def record(request: pytest.FixtureRequest) -> Record:
    return Record() if request.param == "sync" else AsyncRecord()


# ---------------------------------------------------------------- the four scenarios


async def test_success(record: Record) -> None:
    async with make_client(Recorder(reply(200, JOB)), hooks=record) as client:
        await client.jobs.retrieve("job_abc123")
    assert record.names == ["request", "response"]
    request, response = record.of("request")[0], record.of("response")[0]
    assert isinstance(request, RequestInfo)
    assert (request.method, request.path, request.url) == (
        "GET",
        "/api/v1/jobs/{job_id}",
        f"{BASE_URL}/api/v1/jobs/job_abc123",
    )
    assert (request.attempt, request.idempotency_key) == (1, None)
    assert isinstance(response, ResponseInfo)
    assert (response.status_code, response.request_id, response.attempt) == (200, "req_123", 1)
    assert response.path == "/api/v1/jobs/{job_id}"
    assert response.elapsed >= 0
    assert response.call_id == request.call_id
    assert response.json == JOB


async def test_retried_503_reports_the_delay(record: Record) -> None:
    answers = Recorder(error(503, headers={"retry-after-ms": "250"}), reply(201, JOB))
    async with make_client(answers, hooks=record) as client:
        await client.post("/api/v1/jobs/submit", body={"type": "llm_complete"}, cast_to=object, idempotency_key="k-1")
    assert record.names == ["request", "response", "retry", "request", "response"]
    first, second = record.of("request")
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.idempotency_key == second.idempotency_key == "k-1"
    assert [info.status_code for info in record.of("response")] == [503, 201]
    (retry,) = record.of("retry")
    assert isinstance(retry, RetryInfo)
    assert (retry.attempt, retry.delay, retry.status_code, retry.reason) == (1, 0.25, 503, "HTTP 503")
    assert isinstance(retry.error, InternalServerError)
    assert (retry.method, retry.path, retry.idempotency_key) == ("POST", "/api/v1/jobs/submit", "k-1")
    assert len({info.call_id for _, info in record.events}) == 1


async def test_connection_error(record: Record) -> None:
    async with make_client(Recorder(fail(httpx.ConnectError)), hooks=record, max_retries=1) as client:
        with pytest.raises(APIConnectionError):
            await client.files.delete("file_xyz789")
    assert record.names == ["request", "retry", "request", "error"]
    (retry,) = record.of("retry")
    assert (retry.attempt, retry.status_code, retry.reason, retry.request_id) == (1, None, "APIConnectionError", None)
    assert 0.375 <= retry.delay <= 0.5  # the first backoff, less up to 25 % jitter
    (failure,) = record.of("error")
    assert isinstance(failure, ErrorInfo)
    assert isinstance(failure.error, APIConnectionError)
    assert (failure.attempt, failure.status_code, failure.path) == (2, None, "/api/v1/files/{file_id}")
    assert failure.idempotency_key is not None  # DELETE gets a generated key
    assert failure.elapsed >= 0


async def test_404(record: Record) -> None:
    async with make_client(Recorder(error(404, "not_found")), hooks=record) as client:
        with pytest.raises(NotFoundError):
            await client.jobs.retrieve("job_missing1")
    assert record.names == ["request", "response", "error"]
    assert record.of("response")[0].status_code == 404
    (failure,) = record.of("error")
    assert isinstance(failure.error, NotFoundError)
    assert (failure.status_code, failure.request_id, failure.attempt) == (404, "req_123", 1)


async def test_on_error_once_after_retries_run_out(record: Record) -> None:
    async with make_client(Recorder(error(503)), hooks=record, max_retries=2) as client:
        with pytest.raises(InternalServerError):
            await client.get("/x", cast_to=object)
    assert record.names.count("retry") == 2
    assert record.names.count("error") == 1
    assert record.names[-1] == "error"
    assert record.of("error")[0].attempt == 3


# ---------------------------------------------------------------- robustness


class Raising:
    def on_request(self, info: RequestInfo) -> None:
        raise ValueError(f"hook bug on attempt {info.attempt}")

    async def on_response(self, info: ResponseInfo) -> None:
        raise RuntimeError(f"async hook bug on HTTP {info.status_code}")


async def test_a_raising_hook_never_breaks_the_call(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="microdc")
    record = Record()
    async with make_client(Recorder(reply(200, {"ok": True})), hooks=[Raising(), record]) as client:
        assert await client.get("/x", cast_to=object) == {"ok": True}
    assert record.names == ["request", "response"]  # hooks after the raising one still run
    messages = [r for r in caplog.records if r.name == "microdc" and "hook raised" in r.getMessage()]
    assert len(messages) == 2
    assert {type(r.exc_info[1]) for r in messages if r.exc_info} == {ValueError, RuntimeError}


async def test_plain_functions_and_hook_lists() -> None:
    seen: List[str] = []

    async def on_retry(info: RetryInfo) -> None:
        seen.append(f"retry {info.reason}")

    hooks = [Hooks(on_request=lambda info: seen.append(f"request {info.attempt}")), Hooks(on_retry=on_retry)]
    async with make_client(Recorder(error(500), reply(200, {})), hooks=hooks) as client:
        await client.get("/x", cast_to=object)
    assert seen == ["request 1", "retry HTTP 500", "request 2"]


def test_an_object_without_hooks_is_refused() -> None:
    with pytest.raises(TypeError, match="on_request, on_response, on_retry, on_error, on_job or on_operation_start"):
        make_client(hooks=cast(Any, object()))


async def test_on_request_can_add_headers_and_never_sees_the_key() -> None:
    seen: List[str] = []

    def on_request(info: RequestInfo) -> None:
        seen.append(info.headers["authorization"])
        info.set_header("x-trace-me", f"attempt-{info.attempt}")

    recorder, record = Recorder(error(503), reply(200, {})), Record()
    async with make_client(recorder, hooks=[Hooks(on_request=on_request), record]) as client:
        await client.get("/x", cast_to=object)
    assert [r.headers["x-trace-me"] for r in recorder.requests] == ["attempt-1", "attempt-2"]
    assert seen == ["<redacted>", "<redacted>"]
    assert API_KEY not in repr(record.events)


async def test_records_redact_download_tokens() -> None:
    record = Record()
    async with make_client(Recorder(reply(200, {})), hooks=record) as client:
        await client.get("/api/v1/files/file_1a2b/content", cast_to=object, query={"token": "secret-token"})
    assert record.of("request")[0].url.endswith("/content?token=<redacted>")
    assert "secret-token" not in repr(record.events)


# ---------------------------------------------------------------- clients and copies


def test_without_hooks_or_rate_limit_the_client_holds_none() -> None:
    assert make_client()._instrumentation is None
    assert make_client(hooks=[])._instrumentation is None


def test_copies_keep_or_replace_hooks_and_share_the_rate_limit() -> None:
    record, other, limit = Record(), Record(), RateLimit(10)
    client = make_client(hooks=record, rate_limit=limit)
    copy = client.with_options(max_retries=0)
    assert copy._hooks is record
    assert copy._rate_limit is limit
    replaced = client.copy(hooks=other)
    assert replaced._hooks is other
    assert replaced._rate_limit is limit
    bare = client.copy(hooks=None, rate_limit=None)
    assert bare._instrumentation is None


async def test_the_path_is_the_operations_template_from_the_spec() -> None:
    record = Record()
    async with make_client(Recorder(reply(200, JOB)), hooks=record) as client:
        await client.jobs.retrieve_status("job_9f2c")
        await client.files.create_download_token("file_77")
        await client.models.retrieve("batch_42")  # an id that looks like no job or file
        await client.jobs.with_raw_response.acknowledge("job_1")
        await client.jobs.list(limit=2)
    assert [info.path for info in record.of("request")] == [
        "/api/v1/jobs/{job_id}/status",
        "/api/v1/files/{file_id}/create-download-token",
        "/api/v1/models/{model_id}",
        "/api/v1/jobs/{job_id}/acknowledge",
        "/api/v1/jobs",
    ]


async def test_a_raw_verbs_path_is_its_own_without_the_query() -> None:
    record = Record()
    async with make_client(Recorder(reply(200, {})), hooks=record) as client:
        await client.get("/things/batch_42?expand=all", cast_to=object)
        await client.get(f"{BASE_URL}/things/12345", cast_to=object)
    assert [info.path for info in record.of("request")] == ["/things/batch_42", "/things/12345"]
