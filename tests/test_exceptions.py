"""Status codes map to the right exception, and every exception carries what the answer said."""

from __future__ import annotations

from typing import Any, Type, cast

import httpx
import pytest

from microdc import (
    APIError,
    MicroDCError,
    ConflictError,
    NotFoundError,
    APIStatusError,
    RateLimitError,
    APITimeoutError,
    BadRequestError,
    APIConnectionError,
    AuthenticationError,
    InternalServerError,
    JobWaitTimeoutError,
    PermissionDeniedError,
    UnprocessableEntityError,
    APIResponseValidationError,
)
from microdc._exceptions import make_status_error

from .conftest import Recorder, error, reply, make_client

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (599, InternalServerError),
]


async def raised_by(status: int, body: object = None, *, empty: bool = False) -> APIStatusError:
    """The error one GET raises when the API answers ``status`` with ``body`` (or nothing if ``empty``)."""
    headers = {"x-request-id": "req_abc"}
    answer = reply(status, content=b"", headers=headers) if empty else reply(status, body, headers=headers)
    async with make_client(Recorder(answer), max_retries=0) as client:
        with pytest.raises(APIStatusError) as info:
            await client.get("/api/v1/jobs/job_1", cast_to=object)
    return info.value


ERROR_BODY = {
    "error": {
        "type": "invalid_request_error",
        "code": "job_not_found",
        "message": "No job with id job_1",
        "param": "job_id",
    }
}


@pytest.mark.parametrize(("status", "exc_type"), STATUS_CLASSES)
async def test_status_maps_to_exception_class(status: int, exc_type: Type[APIStatusError]) -> None:
    exc = await raised_by(status, ERROR_BODY)
    assert type(exc) is exc_type


@pytest.mark.parametrize(("status", "exc_type"), STATUS_CLASSES)
async def test_status_error_carries_the_answer(status: int, exc_type: Type[APIStatusError]) -> None:
    exc = await raised_by(status, ERROR_BODY)
    assert isinstance(exc, exc_type)
    assert exc.status_code == status
    assert exc.response.status_code == status
    assert exc.request is exc.response.request
    assert exc.request_id == "req_abc"
    assert exc.body == ERROR_BODY
    assert (exc.type, exc.code, exc.param) == ("invalid_request_error", "job_not_found", "job_id")


async def test_status_error_message_names_status_code_and_detail() -> None:
    exc = await raised_by(404, ERROR_BODY)
    assert str(exc) == "Error code: 404 (job_not_found) - No job with id job_1"
    assert exc.message == str(exc)


async def test_unmapped_status_is_a_plain_api_status_error() -> None:
    exc = await raised_by(418, ERROR_BODY)
    assert type(exc) is APIStatusError
    assert exc.status_code == 418


async def test_non_json_error_body_is_kept_as_text() -> None:
    recorder = Recorder(reply(502, content=b"<html>Bad gateway</html>", headers={"content-type": "text/html"}))
    async with make_client(recorder, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.get("/x", cast_to=object)
    assert info.value.body == "<html>Bad gateway</html>"
    assert "Bad gateway" in str(info.value)
    assert (info.value.type, info.value.code, info.value.param) == (None, None, None)


async def test_empty_error_body_uses_the_reason_phrase() -> None:
    exc = await raised_by(404, empty=True)
    assert exc.body is None
    assert str(exc) == "Error code: 404 - Not Found"


async def test_error_fields_of_wrong_types_are_none() -> None:
    exc = await raised_by(400, {"error": {"type": 1, "code": ["x"], "message": "bad", "param": None}})
    assert (exc.type, exc.code, exc.param) == (None, None, None)
    assert str(exc) == "Error code: 400 - bad"


def test_long_error_message_is_shortened() -> None:
    request = httpx.Request("GET", "http://h.test/x")
    response = httpx.Response(400, request=request, json={"error": {"message": "x" * 5000}})
    exc = make_status_error(response, response.json())
    assert len(str(exc)) < 600
    assert str(exc).endswith("...")


def test_exception_tree() -> None:
    assert issubclass(APIError, MicroDCError)
    assert issubclass(APIStatusError, APIError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIResponseValidationError, APIError)
    assert issubclass(JobWaitTimeoutError, MicroDCError)
    assert not issubclass(JobWaitTimeoutError, APIError)
    for _, exc_type in STATUS_CLASSES:
        assert issubclass(exc_type, APIStatusError)


def test_job_wait_timeout_error_carries_the_job() -> None:
    job = object()
    exc = JobWaitTimeoutError("gave up", job=cast(Any, job))
    assert getattr(exc, "job") is job  # noqa: B009 - `Job` is not generated yet, so the attribute is untyped
    assert str(exc) == "gave up"


def test_connection_error_has_no_body_and_keeps_the_request() -> None:
    request = httpx.Request("GET", "http://h.test/x")
    exc = APIConnectionError(request=request)
    assert exc.request is request
    assert exc.body is None
    assert str(exc) == "Connection error."


async def test_status_error_is_raised_with_the_body_read() -> None:
    exc = await raised_by(500, ERROR_BODY)
    assert exc.response.is_closed
    assert exc.response.json() == ERROR_BODY


async def test_idempotency_key_reused_is_unprocessable_entity() -> None:
    recorder = Recorder(error(422, "idempotency_key_reused"))
    async with make_client(recorder) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.post("/jobs", cast_to=object, body={})
    assert info.value.code == "idempotency_key_reused"
    assert "idempotency_key_reused" in str(info.value)
