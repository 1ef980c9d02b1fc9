"""``MICRODC_LOG`` logging, and secrets (the API key, ``token=`` values) kept out of logs, reprs and errors."""

from __future__ import annotations

import logging
from typing import List, Iterator, AsyncIterator, cast

import httpx
import pytest
from typing_extensions import Unpack

from microdc import APIError, AsyncStream, AsyncMicroDC, NotFoundError, RequestOptions, APIConnectionError
from microdc._logs import RedactSecrets, logger, redact_url, setup_logging, redact_headers
from microdc._response import async_to_raw_response_wrapper

from .conftest import API_KEY, BASE_URL, Recorder, ChunkStream, fail, error, reply, make_client, stream_reply

pytestmark = pytest.mark.usefixtures("no_retry_delays")

TOKEN = "dltok_9f8e7d6c5b4a-very-secret"


@pytest.fixture
def fresh_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """The ``microdc`` logger as if ``setup_logging`` had not run yet; restored afterwards."""
    from microdc import _logs

    handlers, level = list(logger.handlers), logger.level
    monkeypatch.setattr(_logs, "_configured", False)
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures the ``microdc`` logger at DEBUG (what ``MICRODC_LOG=debug`` turns on)."""
    caplog.set_level(logging.DEBUG, logger="microdc")
    return caplog


def microdc_lines(caplog: pytest.LogCaptureFixture) -> List[str]:
    """Every line the ``microdc`` logger wrote, formatted with its arguments."""
    return [record.getMessage() for record in caplog.records if record.name.startswith("microdc")]


# ---------------------------------------------------------------- MICRODC_LOG


def test_microdc_log_debug_turns_on_debug_logging(
    fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICRODC_LOG", "debug")
    before = len(fresh_logger.handlers)
    setup_logging()
    assert fresh_logger.level == logging.DEBUG
    assert len(fresh_logger.handlers) == before + 1


def test_microdc_log_info_turns_on_info_logging(fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_LOG", "INFO")
    setup_logging()
    assert fresh_logger.level == logging.INFO


@pytest.mark.parametrize("value", ["", "verbose", "1"])
def test_other_values_leave_logging_off(
    fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MICRODC_LOG", value)
    before = list(fresh_logger.handlers)
    setup_logging()
    assert fresh_logger.handlers == before
    assert fresh_logger.level == logging.NOTSET


def test_setup_logging_adds_one_handler_however_often_called(
    fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICRODC_LOG", "debug")
    before = len(fresh_logger.handlers)
    setup_logging()
    AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)
    setup_logging()
    assert len(fresh_logger.handlers) == before + 1


def test_client_construction_reads_microdc_log(fresh_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_LOG", "debug")
    AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)
    assert fresh_logger.level == logging.DEBUG


# ---------------------------------------------------------------- what is logged


async def test_debug_log_has_requests_without_the_api_key(debug_log: pytest.LogCaptureFixture) -> None:
    async with make_client(Recorder(reply(200, {}))) as client:
        await client.get("/api/v1/jobs/job_1", cast_to=object)
    lines = microdc_lines(debug_log)
    assert any("GET" in line and "/api/v1/jobs/job_1" in line for line in lines)
    assert any("<redacted>" in line for line in lines)
    assert not any(API_KEY in line for line in lines)


async def test_debug_log_hides_token_query_values(debug_log: pytest.LogCaptureFixture) -> None:
    async with make_client(Recorder(error(500), reply(200, {}))) as client:
        await client.get("/api/v1/files/file_1/content", cast_to=object, query={"token": TOKEN})
    lines = microdc_lines(debug_log)
    assert any("token=<redacted>" in line for line in lines)
    assert not any(TOKEN in line for line in lines)


async def test_retry_log_lines_have_no_secrets(debug_log: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(fail(httpx.ConnectError), error(503), error(429), reply(200, {}))
    async with make_client(recorder) as client:
        await client.get("/x", cast_to=object, query={"token": TOKEN})
    lines = microdc_lines(debug_log)
    assert sum(line.startswith("Retrying") for line in lines) == 3
    assert not any(API_KEY in line or TOKEN in line for line in lines)


async def test_custom_secret_headers_are_redacted_in_logs(debug_log: pytest.LogCaptureFixture) -> None:
    async with make_client(Recorder(), default_headers={"Cookie": "session=abc123"}) as client:
        await client.get("/x", cast_to=object, extra_headers={"Proxy-Authorization": "Basic c2VjcmV0"})
    lines = microdc_lines(debug_log)
    assert not any("abc123" in line or "c2VjcmV0" in line for line in lines)


# ---------------------------------------------------------------- errors and reprs


async def test_connection_error_message_hides_the_token() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    async with make_client(Recorder(refuse), max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get("/content", cast_to=object, query={"token": TOKEN})
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert "token=<redacted>" in str(info.value)


async def test_interrupted_stream_message_hides_the_token() -> None:
    class Dropping(ChunkStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"data: {}\n\n"
            raise httpx.ReadError(f"lost {BASE_URL}/events?token={TOKEN}")

    async with make_client(Recorder(stream_reply(Dropping([]))), max_retries=0) as client:
        stream = cast(
            "AsyncStream[object]",
            await client.get("/events", cast_to=object, sse_cls=AsyncStream[object]),
        )
        assert await stream.__anext__() == {"event": None, "id": None, "data": {}}
        with pytest.raises(APIConnectionError) as info:
            await stream.__anext__()
    assert TOKEN not in str(info.value)


async def test_status_errors_do_not_contain_the_api_key_or_token() -> None:
    async with make_client(Recorder(error(404)), max_retries=0) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get("/content", cast_to=object, query={"token": TOKEN})
    for text in (str(info.value), repr(info.value)):
        assert API_KEY not in text
        assert TOKEN not in text


async def test_validation_error_does_not_contain_the_token() -> None:
    async with make_client(Recorder(reply(200, content=b"nope")), max_retries=0) as client:
        with pytest.raises(APIError) as info:
            await client.get(f"/content?token={TOKEN}", cast_to=dict)
    assert TOKEN not in str(info.value)


def test_client_repr_has_no_api_key() -> None:
    client = AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)
    assert API_KEY not in repr(client)
    assert API_KEY not in str(client)


async def test_raw_response_repr_has_no_secrets() -> None:
    async def fetch(client: AsyncMicroDC, **options: Unpack[RequestOptions]) -> object:
        return await client.get("/content", cast_to=object, query={"token": TOKEN}, **options)

    async with make_client(Recorder(reply(200, {}))) as client:
        raw = await async_to_raw_response_wrapper(fetch)(client)
    assert API_KEY not in repr(raw)
    assert TOKEN not in repr(raw)


def test_missing_base_url_error_does_not_echo_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICRODC_BASE_URL", raising=False)
    with pytest.raises(Exception) as info:  # noqa: PT011 - any exception, as long as it keeps the key secret
        AsyncMicroDC(api_key=API_KEY)
    assert API_KEY not in str(info.value)


def test_bad_base_url_error_hides_a_token() -> None:
    with pytest.raises(ValueError) as info:  # noqa: PT011
        AsyncMicroDC(api_key=API_KEY, base_url=f"ftp://h.test/?token={TOKEN}")
    assert TOKEN not in str(info.value)


# ---------------------------------------------------------------- the redaction helpers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/x?token=abc", "http://h/x?token=<redacted>"),
        ("http://h/x?a=1&token=abc&b=2", "http://h/x?a=1&token=<redacted>&b=2"),
        ("http://h/x?TOKEN=abc#frag", "http://h/x?TOKEN=<redacted>#frag"),
        ("http://h/x?api_key=abc", "http://h/x?api_key=<redacted>"),
        ("http://h/x?mytoken=abc", "http://h/x?mytoken=abc"),
        ("http://h/x", "http://h/x"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_headers() -> None:
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "proxy-authorization": "Basic x",
        "Cookie": "a=b",
        "Set-Cookie": "c=d",
        "Location": f"http://h/x?token={TOKEN}",
        "X-Plain": "visible",
    }
    assert redact_headers(headers) == {
        "Authorization": "<redacted>",
        "proxy-authorization": "<redacted>",
        "Cookie": "<redacted>",
        "Set-Cookie": "<redacted>",
        "Location": "http://h/x?token=<redacted>",
        "X-Plain": "visible",
    }


async def test_strict_validation_error_hides_a_token_in_the_answer() -> None:
    from microdc import BaseModel

    class Download(BaseModel):
        url: str
        expires_at: int

    body = {"url": f"{BASE_URL}/content?token={TOKEN}", "expires_at": {"at": f"?token={TOKEN}"}}
    async with make_client(Recorder(reply(200, body)), _strict_response_validation=True) as client:
        with pytest.raises(APIError) as info:
            await client.get("/token", cast_to=Download)
    assert "expires_at" in str(info.value)
    assert TOKEN not in str(info.value)


def test_httpx_request_lines_hide_download_tokens() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s "%s"',
        ("GET", httpx.URL("http://h/c?token=sekrit"), "200"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert "sekrit" not in record.getMessage()
    assert "token=<redacted>" in record.getMessage()


# ---------------------------------------------------------------- download tokens in request reprs


async def test_download_token_is_not_in_the_reprs_of_a_raw_content_response() -> None:
    recorder = Recorder(reply(200, content=b"data"))
    async with make_client(recorder) as client:
        raw = await client.files.with_raw_response.content("file_1", token=TOKEN)
    assert TOKEN in str(recorder.last.url)  # it is sent
    for text in (repr(raw.http_request), repr(raw.http_request.url), repr(raw.http_response), repr(raw)):
        assert TOKEN not in text
    assert "<redacted>" in repr(raw.http_request)


async def test_download_token_is_not_in_the_request_repr_of_a_status_error() -> None:
    async with make_client(Recorder(error(403, "invalid_token"))) as client:
        with pytest.raises(APIError) as caught:
            await client.files.content("file_1", token=TOKEN)
    for text in (repr(caught.value.request), repr(caught.value.request.url), str(caught.value), repr(caught.value)):
        assert TOKEN not in text


async def test_download_token_is_not_in_the_request_repr_of_a_connection_error() -> None:
    async with make_client(
        Recorder(fail(httpx.ConnectError, f"refused: /content?token={TOKEN}")), max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.files.content("file_1", token=TOKEN)
    for text in (repr(caught.value.request), repr(caught.value.request.url), str(caught.value)):
        assert TOKEN not in text


async def test_a_request_without_a_token_keeps_the_plain_httpx_repr() -> None:
    recorder = Recorder(reply(200, {}))
    async with make_client(recorder) as client:
        await client.get("/things", cast_to=object, query={"limit": 5})
    assert type(recorder.last) is httpx.Request
