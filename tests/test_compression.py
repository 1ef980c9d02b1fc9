"""``Accept-Encoding``: gzip and deflate always, br and zstd only when httpx can decode them; answers decoded."""

from __future__ import annotations

import gzip
import zlib
import importlib.util
from typing import Callable

import httpx
import pytest

from microdc._request_builder import accept_encoding

from .conftest import Recorder, reply, make_client


def offered(value: str) -> list[str]:
    return [part.strip() for part in value.split(",")]


async def test_every_request_offers_gzip_and_deflate() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.get("/x", cast_to=object)
        await client.post("/x", cast_to=object, body={"a": 1})
    for request in recorder.requests:
        assert offered(request.headers["Accept-Encoding"])[:2] == ["gzip", "deflate"]


def test_br_and_zstd_are_offered_only_when_httpx_can_decode_them() -> None:
    encodings = offered(accept_encoding())
    has_brotli = importlib.util.find_spec("brotli") is not None or importlib.util.find_spec("brotlicffi") is not None
    assert ("br" in encodings) == has_brotli
    assert ("zstd" in encodings) == (importlib.util.find_spec("zstandard") is not None)
    for name in encodings:  # nothing offered that httpx would fail to decode
        httpx.Response(200, headers={"content-encoding": name}, content=b"").read()


async def test_a_caller_can_turn_compression_off() -> None:
    recorder = Recorder()
    async with make_client(recorder, default_headers={"Accept-Encoding": "identity"}) as client:
        await client.get("/x", cast_to=object)
    assert recorder.last.headers.get_list("Accept-Encoding") == ["identity"]


@pytest.mark.parametrize(("name", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
async def test_a_compressed_answer_is_decoded(name: str, compress: Callable[[bytes], bytes]) -> None:
    body = b'{"id": "job_1", "items": [' + b",".join(b"%d" % i for i in range(500)) + b"]}"
    headers = {"content-encoding": name, "content-type": "application/json"}
    answer = reply(200, content=compress(body), headers=headers)
    async with make_client(Recorder(answer)) as client:
        parsed = await client.get("/x", cast_to=object)
    assert parsed == {"id": "job_1", "items": list(range(500))}
