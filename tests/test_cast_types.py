"""What ``cast_to`` takes (PRODUCT.md §2 "Responses"), on the raw verbs, ``parse(to=...)`` and streams.

``microdc.BaseModel`` subclasses, unions and containers of them, plain types and
``httpx.Response`` are parsed; a plain ``pydantic.BaseModel`` anywhere in the type
raises ``TypeError`` before anything is sent.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Union, Optional, cast

import httpx
import pytest
import pydantic
from typing_extensions import Literal, Annotated

from microdc import BaseModel, AsyncStream
from microdc._models import PropertyInfo

from .conftest import Recorder, reply, make_client


class Plain(pydantic.BaseModel):
    foo: str


class Ours(BaseModel):
    foo: str


async def get(cast_to: object, recorder: Recorder) -> object:
    async with make_client(recorder, max_retries=0) as client:
        return await client.get("/api/v1/things/1", cast_to=cast(Any, cast_to))


@pytest.mark.parametrize(
    "cast_to",
    [Plain, List[Plain], Dict[str, Plain], Optional[Plain], Union[Ours, Plain], Annotated[Plain, "meta"]],
    ids=["model", "list", "dict", "optional", "union", "annotated"],
)
async def test_a_plain_pydantic_model_in_cast_to_raises_type_error_before_sending(cast_to: object) -> None:
    recorder = Recorder(reply(200, {"foo": "x"}))
    with pytest.raises(TypeError, match=r"Plain.*plain pydantic\.BaseModel.*class Plain\(microdc\.BaseModel\)"):
        await get(cast_to, recorder)
    assert recorder.requests == []


@pytest.mark.parametrize("verb", ["post", "put", "patch", "delete"])
async def test_every_raw_verb_refuses_a_plain_pydantic_model(verb: str) -> None:
    recorder = Recorder()
    async with make_client(recorder, max_retries=0) as client:
        with pytest.raises(TypeError, match=r"plain pydantic\.BaseModel"):
            await getattr(client, verb)("/api/v1/things", cast_to=Plain)
    assert recorder.requests == []


async def test_a_plain_pydantic_model_is_refused_as_a_stream_item_type() -> None:
    response = httpx.Response(200, content=b"data: {}\n\n", request=httpx.Request("GET", "http://microdc.test/e"))
    with pytest.raises(TypeError, match=r"plain pydantic\.BaseModel"):
        AsyncStream(cast_to=Plain, response=response)
    await response.aclose()


class A(BaseModel):
    type: Literal["a"]
    data: bool


class B(BaseModel):
    type: Literal["a"]
    data: int


async def test_a_union_pydantic_cannot_build_raises_type_error_before_sending() -> None:
    recorder = Recorder()
    with pytest.raises(TypeError, match=r"cannot be parsed: .*mapped to multiple choices"):
        await get(Annotated[Union[A, B], PropertyInfo(discriminator="type")], recorder)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("cast_to", "body", "expected"),
    [
        (str, b'{"a": 1}', '{"a": 1}'),
        (int, b"3", 3),
        (float, b"2.5", 2.5),
        (bool, b"false", False),
        (dict, b'{"a": 1}', {"a": 1}),
        (list, b"[1, 2]", [1, 2]),
        (type(None), b'{"a": 1}', None),
        (List[int], b"[1, 2]", [1, 2]),
    ],
    ids=["str", "int", "float", "bool", "dict", "list", "none", "list-of-int"],
)
async def test_plain_cast_types_are_parsed(cast_to: object, body: bytes, expected: object) -> None:
    parsed = await get(cast_to, Recorder(reply(200, content=body)))
    assert parsed == expected
    assert type(parsed) is type(expected)


async def test_models_unions_and_containers_of_them_are_parsed() -> None:
    body = {"foo": "x"}
    assert isinstance(await get(Ours, Recorder(reply(200, body))), Ours)
    listed = await get(List[Ours], Recorder(reply(200, [body])))
    assert isinstance(listed, list)
    assert isinstance(listed[0], Ours)
    mapped = await get(Dict[str, Ours], Recorder(reply(200, {"k": body})))
    assert isinstance(mapped, dict)
    assert isinstance(mapped["k"], Ours)
    assert isinstance(await get(Union[A, Ours], Recorder(reply(200, body))), Ours)
    assert await get(Optional[Ours], Recorder(reply(200, content=b"null"))) is None


async def test_httpx_response_as_cast_to_gives_the_response() -> None:
    response = await get(httpx.Response, Recorder(reply(200, {"foo": "x"})))
    assert isinstance(response, httpx.Response)
    assert response.json() == {"foo": "x"}


# ---------------------------------------------------------------- parse(to=...)


JOB_BODY = {"id": "job_1", "object": "job", "foo": "x"}


async def raw_job(body: bytes, **headers: str) -> Any:
    """A client and the raw response of its ``jobs.retrieve`` answered with ``body``."""
    client = make_client(Recorder(reply(200, content=body, headers=headers)), max_retries=0)
    return client, await client.jobs.with_raw_response.retrieve("job_1")


async def test_parse_to_gives_another_type_and_caches_each() -> None:
    client, raw = await raw_job(json.dumps(JOB_BODY).encode())
    async with client:
        job = await raw.parse()
        assert type(job).__name__ == "Job"
        assert job.id == "job_1"
        first = await raw.parse(to=Ours)
        assert isinstance(first, Ours)
        assert first.foo == "x"
        assert await raw.parse(to=Ours) is first
        assert await raw.parse() is job
        assert await raw.parse(to=Dict[str, str]) == JOB_BODY


async def test_parse_to_sets_the_request_id() -> None:
    client, raw = await raw_job(b'{"foo": "x"}', **{"x-request-id": "req_parse"})
    async with client:
        assert (await raw.parse(to=Ours))._request_id == "req_parse"


async def test_parse_to_a_plain_pydantic_model_raises_type_error() -> None:
    client, raw = await raw_job(b'{"foo": "x"}')
    async with client:
        with pytest.raises(TypeError, match=r"class Plain\(microdc\.BaseModel\)"):
            await raw.parse(to=Plain)


class Tick(BaseModel):
    event: Optional[str] = None
    id: Optional[str] = None
    data: int


async def test_parse_to_an_async_stream_reads_the_answer_as_events() -> None:
    body = b"".join(b"id: %d\ndata: %s\n\n" % (n, json.dumps(n).encode()) for n in (1, 2))
    client, raw = await raw_job(body)
    async with client:
        stream = await raw.parse(to=AsyncStream[Tick])
        assert isinstance(stream, AsyncStream)
        ticks: List[Tick] = [tick async for tick in cast("AsyncStream[Tick]", stream)]
    assert [(tick.id, tick.data) for tick in ticks] == [("1", 1), ("2", 2)]
