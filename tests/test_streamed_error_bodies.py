"""The body of an error answer of a streamed call breaking while it is read: a connection error like any other."""

from __future__ import annotations

from typing import List

import httpx
import pytest

from microdc import APITimeoutError, APIConnectionError
from microdc.lib.hooks import Hooks, ErrorInfo, RetryInfo

from .conftest import Recorder, ChunkStream, reply, make_client, stream_reply

pytestmark = pytest.mark.usefixtures("no_retry_delays")

JOB = {"id": "job_1", "object": "job", "type": "llm_complete", "model": "echo-1", "status": "queued"}


async def test_a_broken_error_body_of_an_event_stream_is_retried() -> None:
    body = ChunkStream([b'{"error": {"type": "server_'], then_raise=httpx.ReadError)
    events = b'id: 1\nevent: job.completed\ndata: {"id": "job_1", "object": "job", "status": "completed"}\n\n'
    recorder = Recorder(
        stream_reply(body, status=503, content_type="application/json"), stream_reply(ChunkStream([events]))
    )
    async with make_client(recorder) as client, await client.jobs.events("job_1") as stream:
        received = [event async for event in stream]
    assert len(recorder.requests) == 2
    assert body.closed
    assert [event.event for event in received] == ["job.completed"]


async def test_a_broken_error_body_raises_a_connection_error_closes_it_and_fires_on_error() -> None:
    body = ChunkStream([b'{"error": '], then_raise=httpx.ReadError)
    errors: List[ErrorInfo] = []
    recorder = Recorder(stream_reply(body, status=500, content_type="application/json"))
    async with make_client(recorder, max_retries=0, hooks=Hooks(on_error=errors.append)) as client:
        with pytest.raises(APIConnectionError) as caught:
            async with client.jobs.with_streaming_response.retrieve("job_1"):
                pass
    assert body.closed
    assert len(errors) == 1
    assert errors[0].error is caught.value
    assert isinstance(caught.value.__cause__, httpx.ReadError)


async def test_a_timeout_while_reading_an_error_body_is_a_timeout_error() -> None:
    body = ChunkStream([b"{"], then_raise=httpx.ReadTimeout)
    retries: List[RetryInfo] = []
    recorder = Recorder(stream_reply(body, status=502, content_type="application/json"), reply(200, JOB))
    async with (
        make_client(recorder, hooks=Hooks(on_retry=retries.append)) as client,
        client.jobs.with_streaming_response.retrieve("job_1") as response,
    ):
        job = await response.parse()
    assert job.id == "job_1"
    assert body.closed
    assert [type(info.error) for info in retries] == [APITimeoutError]
