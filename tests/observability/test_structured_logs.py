"""Log records about requests carry ``extra`` fields, emitted as JSON fields by python-json-logger's
formatter; the API key and download tokens never appear. Against microdc.testing over loopback,
on both transports, in virtual time."""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Dict, List, Iterator

import pytest
from pythonjsonlogger.json import JsonFormatter

from microdc import NotFoundError
from microdc.testing import Faults

from ._served import served
from .._transports import transport

__all__ = ["transport"]  # the fixture, imported for pytest

FIELDS = ("request_id", "method", "url", "status_code", "attempt", "elapsed_ms")
API_KEY = "test"  # the fake's key: checked below as the Authorization value it would be sent as


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The ``microdc`` logger at DEBUG (what ``MICRODC_LOG=debug`` sets), through a real JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("microdc")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def records(stream: io.StringIO) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_records_about_requests_carry_their_fields_as_json(json_log: io.StringIO, transport: str) -> None:
    async with served(transport, None) as s:
        file = await s.client.files.upload(file=("notes.txt", b"secret notes", "text/plain"))
        token = (await s.client.files.create_download_token(file.id)).token
        await (await s.client.files.content(file.id, token=token)).read()
        s.fake.faults = Faults(seed=2, error_rate=1.0, error_statuses=[503], paths=["/api/v1/models"], max_faults=1)
        await s.client.models.list()
        with pytest.raises(NotFoundError):
            await s.client.jobs.retrieve("job_missing")
        base_url = str(s.client.base_url).rstrip("/")

    logged = records(json_log)
    about_requests = [r for r in logged if r["message"].startswith(("Request:", "HTTP ", "Retrying "))]
    assert len(about_requests) == len(logged) > 0
    for record in about_requests:
        assert set(FIELDS) <= set(record)
        assert record["url"].startswith(base_url)
        assert isinstance(record["attempt"], int)
        assert record["method"] in record["message"]
    answered = [r for r in about_requests if not r["message"].startswith("Request:")]
    assert all(isinstance(r["elapsed_ms"], (int, float)) and r["elapsed_ms"] >= 0 for r in answered)
    assert all(r["request_id"] and r["request_id"].startswith("req_") for r in answered)

    (retry,) = [r for r in logged if r["message"].startswith("Retrying ")]
    assert (retry["levelname"], retry["status_code"], retry["attempt"]) == ("INFO", 503, 1)
    assert retry["url"] == f"{base_url}/api/v1/models"
    (raised,) = [r for r in logged if r["message"].endswith("raising it")]
    assert (raised["status_code"], raised["attempt"]) == (404, 1)
    (download,) = [r for r in answered if "/content" in r["url"]]
    assert download["url"].endswith("?token=<redacted>")
    assert download["status_code"] == 200

    text = json_log.getvalue()
    assert token not in text
    assert f"Bearer {API_KEY}" not in text


async def test_an_event_streams_reconnection_is_logged_with_the_fields_of_the_cut_request(
    json_log: io.StringIO, transport: str
) -> None:
    async with served(transport, None) as s:
        job = await s.client.jobs.create(type="llm_complete", model="echo-1", prompt="resume me")
        await s.client.jobs.wait(job.id, timeout=10)
        s.fake.faults = Faults(stream_drop_after=2, max_faults=1, paths=["/api/v1/jobs/*/events"])
        json_log.truncate(0)
        json_log.seek(0)
        async with await s.client.jobs.events(job.id) as stream:
            names = [event.event async for event in stream]
        base_url = str(s.client.base_url).rstrip("/")

    assert names[-1] == "job.completed"
    logged = records(json_log)
    assert all(set(FIELDS) <= set(record) for record in logged)
    # The stream re-enters the request loop: the cut is a failure of the request that opened it.
    (retry,) = [r for r in logged if r["message"].startswith("Retrying ")]
    assert retry["url"] == f"{base_url}/api/v1/jobs/{job.id}/events"
    assert (retry["levelname"], retry["method"], retry["attempt"]) == ("INFO", "GET", 1)
    assert (retry["status_code"], retry["elapsed_ms"]) == (None, None)  # no answer to it, not timed
    reopened = [r for r in logged if r["message"].startswith("HTTP ") and r["url"] == retry["url"]]
    assert [r["attempt"] for r in reopened] == [1, 2]
