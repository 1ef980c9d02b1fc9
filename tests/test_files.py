"""Multipart uploads from every ``file=`` form, parsed back part by part; retries re-send the whole file."""

from __future__ import annotations

import io
import os
from typing import IO, Dict, List, Iterator, Optional
from pathlib import Path
from dataclasses import dataclass

import httpx
import pytest

from microdc import NOT_GIVEN, APIConnectionError, InternalServerError, omit
from microdc._files import CHUNK_SIZE
from microdc._types import FileTypes

from .conftest import Recorder, fail, error, reply, make_client

pytestmark = pytest.mark.usefixtures("no_retry_delays")


@dataclass
class Part:
    name: str
    filename: Optional[str]
    content_type: Optional[str]
    content: bytes


def parse_multipart(request: httpx.Request) -> Dict[str, Part]:
    """The parts of a ``multipart/form-data`` request body, by name."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    body = request.content
    assert body.endswith(b"--" + boundary + b"--\r\n")
    parts: Dict[str, Part] = {}
    for chunk in body.split(b"--" + boundary)[1:-1]:
        assert chunk.startswith(b"\r\n")
        assert chunk.endswith(b"\r\n")
        head, _, content = chunk[2:-2].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        disposition = headers["Content-Disposition"]
        params = dict(item.strip().split("=", 1) for item in disposition.split(";")[1:] if "=" in item)
        name = params["name"].strip('"')
        filename = params["filename"].strip('"') if "filename" in params else None
        parts[name] = Part(name, filename, headers.get("Content-Type"), content)
    return parts


async def upload(file: FileTypes) -> Recorder:
    """POST ``file`` as multipart (with a ``purpose`` field); the recorder holds what was sent."""
    recorder = Recorder(reply(200, {"id": "file_1"}))
    async with make_client(recorder) as client:
        await client.post("/api/files/upload", cast_to=object, body={"purpose": "document"}, files={"file": file})
    return recorder


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line one\r\nline two\n\x00binary\xff")
    return path


CONTENT = b"line one\r\nline two\n\x00binary\xff"


# ---------------------------------------------------------------- each form


async def test_bytes() -> None:
    parts = parse_multipart((await upload(CONTENT)).last)
    assert parts["file"] == Part("file", "upload", "application/octet-stream", CONTENT)
    assert parts["purpose"] == Part("purpose", None, None, b"document")


async def test_path(text_file: Path) -> None:
    parts = parse_multipart((await upload(text_file)).last)
    assert parts["file"] == Part("file", "notes.txt", "text/plain", CONTENT)


async def test_os_pathlike(text_file: Path) -> None:
    class Where:
        def __fspath__(self) -> str:
            return str(text_file)

    parts = parse_multipart((await upload(Where())).last)
    assert parts["file"].filename == "notes.txt"
    assert parts["file"].content == CONTENT


async def test_open_file_object(text_file: Path) -> None:
    with text_file.open("rb") as handle:
        parts = parse_multipart((await upload(handle)).last)
    assert parts["file"] == Part("file", "notes.txt", "text/plain", CONTENT)


async def test_bytes_io() -> None:
    parts = parse_multipart((await upload(io.BytesIO(CONTENT))).last)
    assert parts["file"] == Part("file", "upload", "application/octet-stream", CONTENT)


async def test_tuple_of_name_and_bytes() -> None:
    parts = parse_multipart((await upload(("report.pdf", CONTENT))).last)
    assert parts["file"] == Part("file", "report.pdf", "application/pdf", CONTENT)


async def test_tuple_with_content_type() -> None:
    parts = parse_multipart((await upload(("data.bin", CONTENT, "application/x-custom"))).last)
    assert parts["file"] == Part("file", "data.bin", "application/x-custom", CONTENT)


async def test_tuple_with_a_path_and_a_new_name(text_file: Path) -> None:
    parts = parse_multipart((await upload(("renamed.md", text_file))).last)
    assert parts["file"].filename == "renamed.md"
    assert parts["file"].content == CONTENT


async def test_tuple_with_a_file_object(text_file: Path) -> None:
    with text_file.open("rb") as handle:
        parts = parse_multipart((await upload(("x.csv", handle, None))).last)
    assert parts["file"] == Part("file", "x.csv", "text/csv", CONTENT)


async def test_tuple_without_a_name() -> None:
    parts = parse_multipart((await upload((None, CONTENT))).last)
    assert parts["file"].filename == "upload"


async def test_filename_quotes_are_escaped() -> None:
    parts = parse_multipart((await upload(('a"b.txt', b"x"))).last)
    assert parts["file"].filename == "a%22b.txt"


async def test_large_path_is_sent_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (CHUNK_SIZE * 2 // 256 + 17)
    path.write_bytes(data)
    parts = parse_multipart((await upload(path)).last)
    assert parts["file"].content == data


async def test_file_object_is_sent_from_its_position(text_file: Path) -> None:
    with text_file.open("rb") as handle:
        handle.read(5)
        parts = parse_multipart((await upload(handle)).last)
    assert parts["file"].content == CONTENT[5:]


async def test_form_fields_are_sent_as_text() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        body = {"purpose": "document", "n": 3, "flag": True, "skipped": None, "not_given": NOT_GIVEN, "omitted": omit}
        await client.post("/api/files/upload", cast_to=object, body=body, files={"file": b"x"})
    parts = parse_multipart(recorder.last)
    assert {name: part.content for name, part in parts.items() if name != "file"} == {
        "purpose": b"document",
        "n": b"3",
        "flag": b"true",
    }


# ---------------------------------------------------------------- headers


async def test_multipart_has_host_and_exact_content_length(text_file: Path) -> None:
    request = (await upload(text_file)).last
    assert request.headers["Host"] == "api.microdc.test"
    assert int(request.headers["Content-Length"]) == len(request.content)
    assert "transfer-encoding" not in request.headers


async def test_multipart_replaces_the_json_content_type() -> None:
    request = (await upload(CONTENT)).last
    assert request.headers.get_list("Content-Type")[0].startswith("multipart/form-data; boundary=")
    assert len(request.headers.get_list("Content-Type")) == 1


async def test_upload_sends_an_idempotency_key() -> None:
    request = (await upload(CONTENT)).last
    assert request.headers["Idempotency-Key"]


# ---------------------------------------------------------------- retries


async def retried_upload(file: FileTypes) -> List[httpx.Request]:
    recorder = Recorder(error(500), fail(httpx.ReadError), reply(200, {"id": "file_1"}))
    async with make_client(recorder) as client:
        await client.post("/api/files/upload", cast_to=object, files={"file": file})
    return recorder.requests


async def test_retry_resends_whole_bytes() -> None:
    requests = await retried_upload(CONTENT)
    assert [parse_multipart(r)["file"].content for r in requests] == [CONTENT] * 3


async def test_retry_resends_whole_path(text_file: Path) -> None:
    requests = await retried_upload(text_file)
    assert [parse_multipart(r)["file"].content for r in requests] == [CONTENT] * 3


async def test_retry_rewinds_a_seekable_file(text_file: Path) -> None:
    with text_file.open("rb") as handle:
        requests = await retried_upload(handle)
    assert [parse_multipart(r)["file"].content for r in requests] == [CONTENT] * 3


async def test_retry_rewinds_to_the_starting_position() -> None:
    handle = io.BytesIO(b"skip:" + CONTENT)
    handle.read(5)
    requests = await retried_upload(handle)
    assert [parse_multipart(r)["file"].content for r in requests] == [CONTENT] * 3


async def test_retry_keeps_the_idempotency_key(text_file: Path) -> None:
    requests = await retried_upload(text_file)
    assert len({r.headers["Idempotency-Key"] for r in requests}) == 1


@pytest.fixture
def pipe() -> Iterator[IO[bytes]]:
    """A binary file object that cannot seek (the read end of a pipe holding ``CONTENT``)."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as writer:
        writer.write(CONTENT)
    with os.fdopen(read_fd, "rb") as reader:
        yield reader


async def test_non_seekable_stream_is_sent_chunked(pipe: IO[bytes]) -> None:
    request = (await upload(pipe)).last
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert parse_multipart(request)["file"].content == CONTENT


async def test_non_seekable_stream_is_not_retried_on_a_status_error(pipe: IO[bytes]) -> None:
    recorder = Recorder(error(500), reply(200, {}))
    async with make_client(recorder) as client:
        with pytest.raises(InternalServerError) as info:
            await client.post("/api/files/upload", cast_to=object, files={"file": pipe})
    assert len(recorder.requests) == 1
    assert "cannot be rewound" in str(info.value)
    assert "not retried" in str(info.value)


async def test_non_seekable_stream_is_not_retried_on_a_connection_error(pipe: IO[bytes]) -> None:
    recorder = Recorder(fail(httpx.ConnectError), reply(200, {}))
    async with make_client(recorder) as client:
        with pytest.raises(APIConnectionError, match="cannot be rewound"):
            await client.post("/api/files/upload", cast_to=object, files={"file": pipe})
    assert len(recorder.requests) == 1


async def test_non_seekable_stream_without_retries_has_no_note(pipe: IO[bytes]) -> None:
    recorder = Recorder(error(500))
    async with make_client(recorder, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.post("/api/files/upload", cast_to=object, files={"file": pipe})
    assert "rewound" not in str(info.value)


# ---------------------------------------------------------------- refused forms


@pytest.mark.parametrize("value", ["notes.txt", bytearray(b"x"), 42, ("a",), ("a", b"x", "t", "extra")])
async def test_unsupported_file_value_raises_type_error_before_sending(value: object) -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        with pytest.raises(TypeError, match="file"):
            await client.post("/api/files/upload", cast_to=object, files={"file": value})  # type: ignore[dict-item]
    assert recorder.requests == []


async def test_path_string_error_suggests_pathlib() -> None:
    async with make_client() as client:
        with pytest.raises(TypeError, match="pathlib"):
            await client.post("/api/files/upload", cast_to=object, files={"file": "notes.txt"})  # type: ignore[dict-item]


async def test_the_error_a_retry_decision_inspects_is_not_rewritten(pipe: IO[bytes]) -> None:
    from microdc import APIError, RetryPolicy

    inspected: List[object] = []

    def retry_if(outcome: object) -> None:
        inspected.append(outcome)

    recorder = Recorder(fail(httpx.ConnectError), reply(200, {}))
    async with make_client(recorder, retry=RetryPolicy(retry_if=retry_if)) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.post("/api/files/upload", cast_to=object, files={"file": pipe})
    (seen,) = inspected
    assert isinstance(seen, APIError)
    assert "cannot be rewound" in str(info.value)
    assert "rewound" not in str(seen)
    assert seen is not info.value
