"""Files: upload (limits, sha256, token), list/retrieve/delete, download tokens that
expire, content by token without the API key, and document jobs."""

from __future__ import annotations

import hashlib
from typing import Any, Dict

import httpx
import pytest

from microdc._spec import DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT
from microdc.testing import FakeMicroDC, ManualClock

from .conftest import UPLOAD_LIMIT, submit, assert_error

UPLOAD = "/api/files/upload"


async def _upload(
    http: httpx.AsyncClient, content: bytes = b"hello file", name: str = "a.txt", **data: str
) -> Dict[str, Any]:
    response = await http.post(UPLOAD, files={"file": (name, content, "text/plain")}, data=data)
    assert response.status_code == 201, response.text
    body: Dict[str, Any] = response.json()
    return body


async def test_upload_answers_the_file(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    content = b"page one\fpage two"

    uploaded = await _upload(http, content, "report.txt")

    assert uploaded["id"].startswith("file_")
    assert uploaded["token"].startswith("ftok_")
    assert {k: uploaded[k] for k in ("object", "filename", "bytes", "content_type", "purpose")} == {
        "object": "file",
        "filename": "report.txt",
        "bytes": len(content),
        "content_type": "text/plain",
        "purpose": "document",
    }
    assert uploaded["sha256"] == hashlib.sha256(content).hexdigest()
    assert uploaded["created_at"] == "2025-01-01T00:00:00.000Z"
    assert fake.files == {uploaded["id"]: uploaded}
    assert fake.file_content(uploaded["id"]) == content
    assert (await http.get(f"/api/v1/files/{uploaded['id']}")).json() == uploaded


async def test_upload_limit_is_413(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    at_limit = await http.post(UPLOAD, files={"file": ("a.bin", b"x" * UPLOAD_LIMIT)})
    over = await http.post(UPLOAD, files={"file": ("a.bin", b"x" * (UPLOAD_LIMIT + 1))})
    far_over = await http.post(UPLOAD, files={"file": ("a.bin", b"x" * (UPLOAD_LIMIT + 2 * 1024 * 1024))})

    assert at_limit.status_code == 201
    assert_error(over, 413, "file_too_large", "file")
    assert_error(far_over, 413, "request_too_large")
    assert len(fake.files) == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "param"),
    [
        ({"data": {"purpose": "document"}}, 422, "missing_parameter", "file"),
        ({"data": {"file": "not a file part"}, "files": {"other": ("x", b"y")}}, 422, "invalid_parameter", "file"),
        ({"files": {"file": ("a.txt", b"x")}, "data": {"purpose": "fine-tune"}}, 422, "invalid_parameter", "purpose"),
        ({"files": {"file": ("a.txt", b"x")}, "data": {"purpose": ""}}, 422, "invalid_parameter", "purpose"),
        ({"json": {"file": "x"}}, 400, "invalid_content_type", None),
    ],
)
async def test_bad_uploads(http: httpx.AsyncClient, kwargs: Dict[str, Any], status: int, code: str, param: Any) -> None:
    if "data" in kwargs and "files" not in kwargs:
        kwargs["files"] = {"unrelated": ("x", b"")}
    assert_error(await http.post(UPLOAD, **kwargs), status, code, param)


async def test_upload_needs_the_key(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    response = await http.post(UPLOAD, files={"file": ("a", b"x")}, headers={"Authorization": "Bearer no"})

    assert_error(response, 401, "invalid_api_key")
    assert fake.files == {}


async def test_delete_removes_the_file_and_its_token(http: httpx.AsyncClient) -> None:
    uploaded = await _upload(http)

    deleted = await http.delete(f"/api/v1/files/{uploaded['id']}")
    again = await http.delete(f"/api/v1/files/{uploaded['id']}")
    document = await http.post(
        "/api/v1/jobs/submit", json={"type": "document", "model": "doc-1", "file_tokens": [uploaded["token"]]}
    )

    assert deleted.status_code == 200
    assert deleted.json() == {"id": uploaded["id"], "object": "file.deleted", "deleted": True}
    assert_error(again, 404, "file_not_found", "file_id")
    assert_error(await http.get(f"/api/v1/files/{uploaded['id']}"), 404, "file_not_found", "file_id")
    assert_error(document, 422, "file_not_found", "file_tokens[0]")


async def test_download_token_works_without_the_key_until_it_expires(
    http: httpx.AsyncClient, fake: FakeMicroDC
) -> None:
    uploaded = await _upload(http, b"\x00binary\xff", "blob.bin")
    token_answer = await http.post(f"/api/v1/files/{uploaded['id']}/create-download-token", json={"expires_in": 60})
    grant = token_answer.json()
    content_url = f"/api/v1/files/{uploaded['id']}/content"
    anonymous = {"Authorization": ""}

    assert token_answer.status_code == 201
    assert grant["file_id"] == uploaded["id"]
    assert grant["token"].startswith("dltok_")
    assert grant["expires_at"] == "2025-01-01T00:01:00.000Z"
    assert grant["url"].endswith(f"{content_url}?token={grant['token']}")
    assert grant["url"].startswith(str(http.base_url).rstrip("/"))

    http.headers.pop("Authorization")
    fake.advance(59)
    ok = await http.get(content_url, params={"token": grant["token"]})
    assert ok.status_code == 200
    assert ok.content == b"\x00binary\xff"
    assert ok.headers["content-type"] == "text/plain"
    assert "blob.bin" in ok.headers["content-disposition"]
    assert ok.headers["x-request-id"].startswith("req_")
    assert "authorization" not in fake.requests[-1].headers

    fake.advance(1)
    assert_error(await http.get(content_url, params={"token": grant["token"]}), 403, "invalid_download_token")
    assert_error(await http.get(content_url, params={"token": "dltok_forged"}), 403, "invalid_download_token")
    assert_error(await http.get(content_url, headers=anonymous), 401, "missing_api_key")


async def test_content_with_the_key_alone_and_tokens_bound_to_their_file(http: httpx.AsyncClient) -> None:
    first, second = await _upload(http, b"first"), await _upload(http, b"second")
    grant = (await http.post(f"/api/v1/files/{first['id']}/create-download-token")).json()

    by_key = await http.get(f"/api/v1/files/{second['id']}/content")
    wrong_file = await http.get(f"/api/v1/files/{second['id']}/content", params={"token": grant["token"]})

    assert by_key.content == b"second"
    assert_error(wrong_file, 403, "invalid_download_token")
    assert_error(await http.get("/api/v1/files/file_nope/content"), 404, "file_not_found", "file_id")


@pytest.mark.parametrize("body", [{"expires_in": 59}, {"expires_in": 86401}, {"expires_in": "60"}, {"expires_in": 6e1}])
async def test_download_token_lifetime_is_checked(local: httpx.AsyncClient, body: Dict[str, Any]) -> None:
    uploaded = await _upload(local)

    response = await local.post(f"/api/v1/files/{uploaded['id']}/create-download-token", json=body)

    assert_error(response, 422, "invalid_parameter", "expires_in")


async def test_default_download_token_lasts_an_hour(local: httpx.AsyncClient) -> None:
    uploaded = await _upload(local)

    grant = (await local.post(f"/api/v1/files/{uploaded['id']}/create-download-token")).json()

    assert grant["expires_at"] == "2025-01-01T01:00:00.000Z"


async def test_document_jobs_read_the_uploaded_text(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    one = await _upload(http, b"first page\fsecond page")
    two = await _upload(http, "caf\u00e9".encode())

    job = await submit(http, type="document", model="doc-1", file_tokens=[one["token"], two["token"]], prompt=None)
    fake.advance(10)
    done = (await http.get(f"/api/v1/jobs/{job['id']}")).json()

    assert done["status"] == "completed"
    assert done["result"] == {"type": "document", "text": "first page\fsecond page\n\ncaf\u00e9", "page_count": 3}
    assert done["usage"]["input_tokens"] == 5


@pytest.mark.parametrize("content", [b"null", b"[]", b'"600"', b"600"])
async def test_download_token_body_must_be_an_object(local: httpx.AsyncClient, content: bytes) -> None:
    uploaded = await _upload(local)

    response = await local.post(
        f"/api/v1/files/{uploaded['id']}/create-download-token",
        content=content,
        headers={"content-type": "application/json"},
    )

    assert_error(response, 400, "invalid_json")
    assert response.json()["error"]["message"].startswith("The body must be a JSON object")


async def test_download_token_without_a_body_lasts_the_default(local: httpx.AsyncClient, clock: ManualClock) -> None:
    uploaded = await _upload(local)

    response = await local.post(f"/api/v1/files/{uploaded['id']}/create-download-token")
    assert response.status_code == 201, response.text
    content_url = f"/api/v1/files/{uploaded['id']}/content"
    token = response.json()["token"]
    clock.advance(DOWNLOAD_TOKEN_EXPIRES_IN_DEFAULT - 1)
    assert (await local.get(content_url, params={"token": token})).status_code == 200
    clock.advance(1)
    assert_error(await local.get(content_url, params={"token": token}), 403, "invalid_download_token")
