"""The raw-response parsing openai-python's ``tests/test_response.py`` pins, on this SDK's public API.

Its async tests (anthropic-sdk-python's ``tests/test_response.py`` is the same, with
``request-id`` for ``x-request-id``): ``await raw.parse(to=...)`` on the response of
``with_raw_response``. The last test runs a call over each transport against
``microdc.testing`` on a loopback socket.

Where this SDK chooses differently on purpose, the test asserts its choice and the
*Types and parsing* guide (docs/guides/types.md) says so: answers are JSON, so ``parse(to=bool)`` takes
``true``/``false`` only (openai-python also reads ``True`` and ``TrUe``), and a body
that is not JSON raises ``APIResponseValidationError`` when a model is asked for
(openai-python hands back the text).

Not carried over: ``extract_response_type`` (a helper of their generic response
classes; this SDK keeps the cast type on the call's options) and the sync twins.
"""

from __future__ import annotations

import json
from typing import Any, Tuple, Union, AsyncIterator, cast

import pytest
import pydantic
from typing_extensions import Annotated

from microdc import BaseModel, AsyncStream, AsyncMicroDC, AsyncAPIResponse, APIResponseValidationError
from microdc.testing import FakeMicroDC, ManualClock
from microdc.lib.retry import disable_retry_delays

from ..conftest import Recorder, reply, make_client
from .._transports import transport, served_client

__all__ = ["transport"]  # the fixture, imported for pytest


class CustomModel(BaseModel):
    foo: str
    bar: int


class OtherModel(BaseModel):
    a: str


class PlainPydantic(pydantic.BaseModel):
    foo: str


async def raw_answer(content: bytes, **headers: str) -> Tuple[AsyncMicroDC, AsyncAPIResponse[Any]]:
    """A client, and the raw response of a call whose answer is ``content``."""
    client = make_client(Recorder(reply(200, content=content, headers=headers)), max_retries=0)
    return client, await client.jobs.with_raw_response.retrieve("job_1")


async def test_parse_to_a_plain_pydantic_model_raises_type_error_naming_the_base_to_use() -> None:
    client, raw = await raw_answer(b'{"foo": "x"}')
    async with client:
        with pytest.raises(TypeError, match=r"plain pydantic\.BaseModel.*class PlainPydantic\(microdc\.BaseModel\)"):
            await raw.parse(to=PlainPydantic)


async def test_parse_to_a_stream_type_gives_a_stream_of_that_item_type() -> None:
    class Item(BaseModel):
        event: Any = None
        id: Any = None
        data: int

    client, raw = await raw_answer(b"data: 1\n\ndata: 2\n\n")
    async with client:
        stream = await raw.parse(to=AsyncStream[Item])
        assert isinstance(stream, AsyncStream)
        items = [item async for item in stream]
    assert [item.data for item in items] == [1, 2]


async def test_parse_to_a_custom_model() -> None:
    client, raw = await raw_answer(json.dumps({"foo": "hello!", "bar": 2}).encode())
    async with client:
        obj = await raw.parse(to=CustomModel)
    assert (obj.foo, obj.bar) == ("hello!", 2)


async def test_parse_to_a_custom_model_carries_the_request_id_outside_its_fields() -> None:
    client, raw = await raw_answer(json.dumps({"foo": "hello!", "bar": 2}).encode(), **{"x-request-id": "my-req-id"})
    async with client:
        obj = await raw.parse(to=CustomModel)
    assert obj._request_id == "my-req-id"
    assert obj.to_dict() == {"foo": "hello!", "bar": 2}
    assert "_request_id" not in repr(obj)
    assert "my-req-id" not in str(obj)


async def test_parse_to_an_annotated_model() -> None:
    client, raw = await raw_answer(json.dumps({"foo": "hello!", "bar": 2}).encode())
    async with client:
        obj = await raw.parse(to=cast("type[CustomModel]", Annotated[CustomModel, "random metadata"]))
    assert isinstance(obj, CustomModel)
    assert (obj.foo, obj.bar) == ("hello!", 2)


@pytest.mark.parametrize(("content", "expected"), [(b"false", False), (b"true", True)])
async def test_parse_to_bool_reads_json_booleans(content: bytes, expected: bool) -> None:
    client, raw = await raw_answer(content)
    async with client:
        assert await raw.parse(to=bool) is expected


@pytest.mark.parametrize("content", [b"False", b"True", b"TrUe", b"FalSe"])
async def test_parse_to_bool_refuses_text_that_is_not_json(content: bytes) -> None:
    client, raw = await raw_answer(content, **{"content-type": "text/plain"})
    async with client:
        with pytest.raises(APIResponseValidationError, match="not valid JSON"):
            await raw.parse(to=bool)


async def test_parse_to_a_model_union_refuses_an_answer_that_is_not_json() -> None:
    client, raw = await raw_answer(b"foo", **{"content-type": "application/text"})
    async with client:
        with pytest.raises(APIResponseValidationError, match="application/text") as info:
            await raw.parse(to=cast(Any, Union[CustomModel, OtherModel]))
    assert info.value.body == "foo"


# ---------------------------------------------------------------- over each transport, against the fake


class PartialJob(BaseModel):
    """A user's own view of a Job: one field the API sends, one it never does."""

    id: str
    status: str
    shard: str


@pytest.fixture
async def client(transport: str) -> AsyncIterator[AsyncMicroDC]:
    fake = FakeMicroDC(job_duration=10.0, seed=3, clock=ManualClock())
    with disable_retry_delays():
        async with served_client(fake, transport) as client:
            yield client


async def test_custom_models_parse_over_each_transport(client: AsyncMicroDC) -> None:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")
    mine = await client.get(f"/api/v1/jobs/{job.id}", cast_to=PartialJob)
    assert (mine.id, mine.status) == (job.id, "queued")
    assert mine.shard is None
    assert "shard" not in mine.model_fields_set
    raw = await client.jobs.with_raw_response.retrieve(job.id)
    assert (await raw.parse()).id == job.id
    assert (await raw.parse(to=PartialJob)).shard is None
    with pytest.raises(TypeError, match=r"class PlainPydantic\(microdc\.BaseModel\)"):
        await client.get(f"/api/v1/jobs/{job.id}", cast_to=PlainPydantic)
