"""What openai-python's ``tests/test_client.py`` pins for its async client (``TestAsyncOpenAI``),
in this SDK's words and public API, over both transports against a loopback server.

Where this SDK chose differently on purpose (docs/guides/coming-from-openai.md),
the test is named for this SDK's behaviour and says what the peer does. Peer tests of
features this SDK does not have (key provider callables, admin keys, workload identity,
``_build_request``-level memory checks) have no counterpart here.
"""

from __future__ import annotations

import inspect
import datetime
import email.utils
from typing import Any, List, Union, AsyncIterator, cast

import httpx
import pytest

from microdc import (
    DEFAULT_TIMEOUT,
    BaseModel,
    AsyncStream,
    AsyncMicroDC,
    MicroDCError,
    APIStatusError,
    APITimeoutError,
    DefaultAioHttpClient,
    DefaultAsyncHttpxClient,
    APIResponseValidationError,
    omit,
)
from microdc.lib.hooks import Hooks, RetryInfo

from .._wire import API_KEY, RawRequest, ok, wired, status, body_json
from .._loopback import serve_http
from .._transports import http_client_for
from ..reliability._raw_server import RawServer, hang, send, response, close_without_answer


class Model(BaseModel):
    name: str


def header(request: RawRequest, name: str) -> Union[str, None]:
    return request.headers.get(name.lower())


# ---------------------------------------------------------------- raw answers


async def test_cast_to_httpx_response_returns_the_answer_itself(transport: str) -> None:
    async with wired(transport, ok({"foo": "bar"})) as (client, _):
        answer = await client.post("/foo", cast_to=httpx.Response)
    assert isinstance(answer, httpx.Response)
    assert answer.status_code == 200
    assert answer.json() == {"foo": "bar"}


async def test_cast_to_httpx_response_of_a_binary_answer_still_reads_its_json(transport: str) -> None:
    raw = response(200, b'{"foo": "bar"}', headers={"content-type": "application/binary"})
    async with wired(transport, send(raw)) as (client, _):
        answer = await client.post("/foo", cast_to=httpx.Response)
    assert answer.headers["content-type"] == "application/binary"
    assert answer.json() == {"foo": "bar"}


# ---------------------------------------------------------------- copies


async def test_copy_is_a_new_client_with_the_api_key_it_was_given(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        copied = client.copy(api_key="another key")
        await copied.get("/foo", cast_to=object)
    assert copied is not client
    assert (client.api_key, copied.api_key) == (API_KEY, "another key")
    assert header(server.requests[0], "Authorization") == "Bearer another key"


async def test_copy_overrides_max_retries_and_timeout_leaving_the_original_as_it_was(transport: str) -> None:
    async with wired(transport) as (client, _):
        copied = client.copy(max_retries=7)
        again = copied.copy(max_retries=6)
        no_timeout = client.copy(timeout=None)
    # The default count is 3 here (openai-python: 2).
    assert (client.max_retries, copied.max_retries, again.max_retries) == (3, 7, 6)
    assert no_timeout.timeout is None
    assert client.timeout == DEFAULT_TIMEOUT


async def test_copy_keeps_merges_and_overrides_default_headers(transport: str) -> None:
    async with wired(transport, ok(), default_headers={"X-Foo": "bar"}) as (client, server):
        for copied in (
            client.copy(),
            client.copy(default_headers={"X-Bar": "b"}),
            client.copy(default_headers={"X-Foo": "f"}),
        ):
            await copied.get("/foo", cast_to=object)
    sent = [(header(r, "X-Foo"), header(r, "X-Bar")) for r in server.requests]
    assert sent == [("bar", None), ("bar", "b"), ("f", None)]


async def test_copy_set_default_headers_replaces_them(transport: str) -> None:
    async with wired(transport, ok(), default_headers={"X-Foo": "bar"}) as (client, server):
        await client.copy(set_default_headers={}).get("/foo", cast_to=object)
        await client.copy(set_default_headers={"X-Bar": "Robert"}).get("/foo", cast_to=object)
    assert [(header(r, "X-Foo"), header(r, "X-Bar")) for r in server.requests] == [(None, None), (None, "Robert")]


async def test_copy_keeps_merges_overrides_and_replaces_default_query(transport: str) -> None:
    async with wired(transport, ok(), default_query={"foo": "bar"}) as (client, server):
        for copied in (
            client.copy(),
            client.copy(default_query={"bar": "b"}),
            client.copy(default_query={"foo": "f"}),
            client.copy(set_default_query={}),
            client.copy(set_default_query={"bar": "Robert"}),
        ):
            await copied.get("/foo", cast_to=object)
    targets = [r.target for r in server.requests]
    assert targets == ["/foo?foo=bar", "/foo?foo=bar&bar=b", "/foo?foo=f", "/foo", "/foo?bar=Robert"]


async def test_copy_refuses_a_merge_and_a_replacement_of_the_same_defaults() -> None:
    client = AsyncMicroDC(api_key=API_KEY, base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="not both"):
        client.copy(set_default_headers={}, default_headers={"X-Foo": "Bar"})
    with pytest.raises(ValueError, match="not both"):
        client.copy(set_default_query={}, default_query={"foo": "Bar"})
    await client.close()


def test_copy_takes_every_argument_the_constructor_takes() -> None:
    init = inspect.signature(AsyncMicroDC.__init__).parameters
    copy = inspect.signature(AsyncMicroDC.copy).parameters
    missing = [name for name in init if name not in copy and name not in ("self", "_strict_response_validation")]
    assert missing == []


# ---------------------------------------------------------------- timeouts


async def test_default_timeout_is_sixty_seconds_five_to_connect(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        answer = await client.get("/foo", cast_to=httpx.Response)
    assert httpx.Timeout(**answer.request.extensions["timeout"]) == httpx.Timeout(60.0, connect=5.0)
    assert header(server.requests[0], "x-stainless-read-timeout") == "60.0"


async def test_a_requests_timeout_replaces_the_clients(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        answer = await client.get("/foo", cast_to=httpx.Response, timeout=httpx.Timeout(100.0))
    assert httpx.Timeout(**answer.request.extensions["timeout"]) == httpx.Timeout(100.0)
    assert header(server.requests[0], "x-stainless-read-timeout") == "100.0"


async def test_the_clients_timeout_applies_to_every_request(transport: str) -> None:
    async with wired(transport, ok(), timeout=httpx.Timeout(12.5)) as (client, server):
        answer = await client.get("/foo", cast_to=httpx.Response)
    assert httpx.Timeout(**answer.request.extensions["timeout"]) == httpx.Timeout(12.5)
    assert header(server.requests[0], "x-stainless-read-timeout") == "12.5"


def _http_client(transport: str, **kwargs: Any) -> httpx.AsyncClient:
    return DefaultAioHttpClient(**kwargs) if transport == "aiohttp" else DefaultAsyncHttpxClient(**kwargs)


@pytest.mark.parametrize(
    ("own", "header_value"), [(None, None), (300.0, "300.0"), (httpx.Timeout(30.0, read=120.0), "120.0")]
)
async def test_a_callers_http_client_keeps_its_own_timeout(
    transport: str, own: Union[float, httpx.Timeout, None], header_value: Union[str, None]
) -> None:
    async with (
        RawServer(ok()) as server,
        _http_client(transport, timeout=own) as http,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, http_client=http) as client,
    ):
        answer = await client.get("/foo", cast_to=httpx.Response)
    assert httpx.Timeout(**answer.request.extensions["timeout"]) == httpx.Timeout(own)
    # The header says what is really used, and is absent when there is no read timeout.
    assert header(server.requests[0], "x-stainless-read-timeout") == header_value


async def test_a_timeout_given_to_the_sdk_beats_the_http_clients(transport: str) -> None:
    async with (
        RawServer(ok()) as server,
        _http_client(transport, timeout=None) as http,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, http_client=http, timeout=7.0) as client,
    ):
        await client.get("/foo", cast_to=object)
        await client.get("/foo", cast_to=object, timeout=3.0)
    assert [header(r, "x-stainless-read-timeout") for r in server.requests] == ["7.0", "3.0"]


@pytest.mark.parametrize("given", [False, True], ids=["no timeout given", "httpx's default given"])
async def test_an_httpx_client_with_httpxs_default_timeout_gets_the_sdks(given: bool) -> None:
    async with (
        RawServer(ok()) as server,
        httpx.AsyncClient(timeout=5.0) if given else httpx.AsyncClient() as http,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, http_client=http) as client,
    ):
        answer = await client.get("/foo", cast_to=httpx.Response)
    assert httpx.Timeout(**answer.request.extensions["timeout"]) == DEFAULT_TIMEOUT


async def test_a_copy_with_another_http_client_takes_that_clients_timeout(transport: str) -> None:
    async with (
        RawServer(ok()) as server,
        _http_client(transport, timeout=90.0) as first,
        _http_client(transport, timeout=45.0) as second,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, http_client=first) as client,
    ):
        await client.copy(http_client=second).get("/foo", cast_to=object)
        await client.copy().get("/foo", cast_to=object)
    assert [header(r, "x-stainless-read-timeout") for r in server.requests] == ["45.0", "90.0"]


def test_a_sync_http_client_is_refused_with_type_error() -> None:
    with httpx.Client() as http, pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncMicroDC(api_key=API_KEY, base_url="http://127.0.0.1:9", http_client=cast(Any, http))


# ---------------------------------------------------------------- headers


async def test_default_headers_are_sent_and_can_replace_a_platform_header(transport: str) -> None:
    headers = {"X-Foo": "bar", "X-Stainless-Lang": "my-overriding-header"}
    async with wired(transport, ok(), default_headers=headers) as (client, server):
        await client.get("/foo", cast_to=object)
    (request,) = server.requests
    assert (header(request, "X-Foo"), header(request, "X-Stainless-Lang")) == ("bar", "my-overriding-header")


async def test_authorization_can_be_replaced_or_omitted_for_a_call(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.get("/foo", cast_to=object)
        await client.get("/foo", cast_to=object, extra_headers={"authorization": "Bearer custom"})
        await client.get("/foo", cast_to=object, extra_headers={"Authorization": omit})
    assert [header(r, "Authorization") for r in server.requests] == [f"Bearer {API_KEY}", "Bearer custom", None]


def test_an_api_key_that_is_not_a_string_is_refused_with_type_error() -> None:
    # openai-python also takes a callable that provides the key; here it is a string.
    async def provider() -> str:
        return "key"

    with pytest.raises(TypeError, match="api_key must be a str"):
        AsyncMicroDC(api_key=cast(Any, provider), base_url="http://127.0.0.1:9")


def test_a_client_without_an_api_key_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICRODC_API_KEY", raising=False)
    with pytest.raises(MicroDCError, match="MICRODC_API_KEY"):
        AsyncMicroDC(base_url="http://127.0.0.1:9")


async def test_extra_headers_are_sent_and_beat_default_headers(transport: str) -> None:
    async with wired(transport, ok(), default_headers={"X-Bar": "true"}) as (client, server):
        await client.post("/foo", cast_to=object, extra_headers={"X-Foo": "Foo", "X-Bar": "false"})
    (request,) = server.requests
    assert (header(request, "X-Foo"), header(request, "X-Bar")) == ("Foo", "false")


# ---------------------------------------------------------------- query strings


async def test_default_query_is_sent_and_a_calls_query_overrides_it(transport: str) -> None:
    async with wired(transport, ok(), default_query={"query_param": "bar"}) as (client, server):
        await client.get("/foo", cast_to=object)
        await client.get("/foo", cast_to=object, query={"foo": "baz", "query_param": "overridden"})
    assert [r.target for r in server.requests] == ["/foo?query_param=bar", "/foo?query_param=overridden&foo=baz"]


async def test_a_query_in_the_path_is_kept_and_extended(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.get("/foo?beta=true", cast_to=object)
        await client.get("/foo?beta=true", cast_to=object, query={"limit": "10", "page": "abc"})
        await client.get("/files/a%2Fb?beta=true", cast_to=object, query={"limit": "10"})
    targets = [r.target for r in server.requests]
    assert targets == ["/foo?beta=true", "/foo?beta=true&limit=10&page=abc", "/files/a%2Fb?beta=true&limit=10"]


async def test_extra_query_merges_with_the_query_and_wins_a_clash(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.post("/foo", cast_to=object, extra_query={"my_query_param": "Foo"})
        await client.post("/foo", cast_to=object, query={"bar": "1"}, extra_query={"foo": "2"})
        await client.post("/foo", cast_to=object, query={"foo": "1"}, extra_query={"foo": "2"})
    assert [r.target for r in server.requests] == ["/foo?my_query_param=Foo", "/foo?bar=1&foo=2", "/foo?foo=2"]


# ---------------------------------------------------------------- bodies


async def test_extra_body_merges_into_the_json_body_and_wins_a_clash(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.post("/foo", cast_to=object, body={"foo": "bar"}, extra_body={"baz": False})
        await client.post("/foo", cast_to=object, extra_body={"baz": False})
        await client.post("/foo", cast_to=object, body={"foo": "bar", "baz": True}, extra_body={"baz": None})
    bodies = [body_json(r) for r in server.requests]
    assert bodies == [{"foo": "bar", "baz": False}, {"baz": False}, {"foo": "bar", "baz": None}]


async def test_a_multipart_body_sends_a_list_as_repeated_bracket_parts(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.post("/foo", cast_to=object, body={"array": ["foo", "bar"]}, files={"foo.txt": b"hello world"})
    (request,) = server.requests
    boundary = request.headers["content-type"].split("boundary=")[1]
    assert request.body.split(b"\r\n") == [
        f"--{boundary}".encode(),
        b'Content-Disposition: form-data; name="array[]"',
        b"",
        b"foo",
        f"--{boundary}".encode(),
        b'Content-Disposition: form-data; name="array[]"',
        b"",
        b"bar",
        f"--{boundary}".encode(),
        b'Content-Disposition: form-data; name="foo.txt"; filename="upload"',
        b"Content-Type: application/octet-stream",
        b"",
        b"hello world",
        f"--{boundary}--".encode(),
        b"",
    ]


async def test_a_multipart_body_uses_its_own_boundary_whatever_content_type_the_call_gives(transport: str) -> None:
    given = {"Content-Type": "multipart/form-data; boundary=6b7ba517decee4a450543ea6ae821c82"}
    async with wired(transport, ok()) as (client, server):
        await client.post("/foo", cast_to=object, body={"a": "b"}, files={"f": b"x"}, extra_headers=given)
    (request,) = server.requests
    boundary = request.headers["content-type"].split("boundary=")[1]
    assert boundary != "6b7ba517decee4a450543ea6ae821c82"
    assert request.body.startswith(f"--{boundary}\r\n".encode())


async def test_raw_bytes_are_sent_as_the_body_with_the_callers_content_type(transport: str) -> None:
    data = b"Hello, this is a test file."
    async with wired(transport, ok()) as (client, server):
        answer = await client.post(
            "/upload", content=data, cast_to=httpx.Response, extra_headers={"Content-Type": "application/octet-stream"}
        )
        await client.post("/upload", content=data, cast_to=object)
    assert answer.request.headers["Content-Type"] == "application/octet-stream"
    assert [(r.body, header(r, "content-type")) for r in server.requests] == [(data, "application/octet-stream")] * 2


async def test_an_async_iterable_body_is_read_only_while_it_is_sent(transport: str) -> None:
    read: List[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            read.append(n)
            yield b"part %d;" % n

    async with wired(transport, ok()) as (client, server):
        body = chunks()
        assert read == []
        await client.post("/upload", content=body, cast_to=object, extra_headers={"Content-Type": "text/plain"})
    assert read == [0, 1, 2]
    assert (server.requests[0].body, header(server.requests[0], "content-type")) == (
        b"part 0;part 1;part 2;",
        "text/plain",
    )


async def test_raw_bytes_given_as_a_json_body_raise_type_error_saying_to_use_content() -> None:
    # openai-python sends them (deprecated); here `body` is always JSON.
    client = AsyncMicroDC(api_key=API_KEY, base_url="http://127.0.0.1:9")
    with pytest.raises(TypeError, match="content="):
        await client.post("/upload", body=b"raw", cast_to=object)
    await client.close()


# ---------------------------------------------------------------- parsing


class Name(BaseModel):
    name: str


class Foo(BaseModel):
    foo: str


class IntFoo(BaseModel):
    foo: int


async def test_a_union_cast_picks_the_variant_that_fits(transport: str) -> None:
    async with wired(transport, ok({"foo": "bar"})) as (client, _):
        answer = await client.get("/foo", cast_to=cast(Any, Union[Name, Foo]))
    assert isinstance(answer, Foo)
    assert answer.foo == "bar"


async def test_a_union_of_one_field_with_two_types_picks_by_the_values_type(transport: str) -> None:
    async with wired(transport, ok({"foo": "bar"}), ok({"foo": 1})) as (client, _):
        text = await client.get("/foo", cast_to=cast(Any, Union[IntFoo, Foo]))
        number = await client.get("/foo", cast_to=cast(Any, Union[IntFoo, Foo]))
    assert (type(text), text.foo) == (Foo, "bar")
    assert (type(number), number.foo) == (IntFoo, 1)


async def test_a_json_answer_with_another_content_type_is_parsed(transport: str) -> None:
    raw = response(200, b'{"foo": 2}', headers={"content-type": "application/text"})
    async with wired(transport, send(raw)) as (client, _):
        answer = await client.get("/foo", cast_to=IntFoo)
    assert (type(answer), answer.foo) == (IntFoo, 2)


async def test_a_strict_client_raises_validation_error_for_an_answer_off_the_schema(transport: str) -> None:
    async with wired(transport, ok({"foo": {"invalid": True}}), _strict_response_validation=True) as (client, _):
        with pytest.raises(APIResponseValidationError, match="does not match the schema") as info:
            await client.get("/foo", cast_to=Foo)
    # pydantic's error is in the message (redacted) but not chained: it quotes the input,
    # which may hold a download token (openai-python chains it as __cause__).
    assert "foo" in str(info.value)
    assert info.value.__cause__ is None


async def test_a_text_answer_for_a_model_raises_validation_error_even_leniently(transport: str) -> None:
    # JSON-only answers: openai-python returns the text itself when not strict.
    raw = response(200, b"my-custom-format", headers={"content-type": "text/plain"})
    async with wired(transport, send(raw)) as (client, _):
        with pytest.raises(APIResponseValidationError, match="not valid JSON"):
            await client.get("/foo", cast_to=Name)


async def test_sse_cls_makes_the_answer_an_async_stream(transport: str) -> None:
    async with wired(transport, ok({"foo": "bar"})) as (client, _):
        stream = await client.post("/foo", cast_to=Name, sse_cls=AsyncStream[Name])
        assert isinstance(stream, AsyncStream)
        await stream.close()


def test_max_retries_none_is_refused_with_type_error() -> None:
    with pytest.raises(TypeError, match="max_retries"):
        AsyncMicroDC(api_key=API_KEY, base_url="http://127.0.0.1:9", max_retries=cast(Any, None))


# ---------------------------------------------------------------- the base URL


async def test_the_base_url_can_be_assigned_and_copies_made_before_keep_theirs(transport: str) -> None:
    async with RawServer(ok()) as other, wired(transport, ok()) as (client, server):
        other_url, url = other.url, server.url
        before = client.copy()
        client.base_url = other_url + "/from_setter"
        assert client.base_url == other_url + "/from_setter/"
        await client.get("/foo", cast_to=object)
        await before.get("/foo", cast_to=object)
        client.base_url = httpx.URL(url)
        await client.get("/bar", cast_to=object)
    assert [r.target for r in other.requests] == ["/from_setter/foo"]
    assert [r.target for r in server.requests] == ["/foo", "/bar"]
    assert header(other.requests[0], "host") == other_url.removeprefix("http://")


def test_a_base_url_from_the_environment_gets_a_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_BASE_URL", "http://localhost:5000/from/env")
    assert AsyncMicroDC(api_key=API_KEY).base_url == "http://localhost:5000/from/env/"


@pytest.mark.parametrize("base_path", ["/custom/path/", "/custom/path"])
async def test_a_path_is_joined_under_the_base_urls_path(transport: str, base_path: str) -> None:
    async with wired(transport, ok()) as (client, server):
        url = server.url
        client.base_url = url + base_path
        answer = await client.post("/foo", cast_to=httpx.Response, body={"foo": "bar"})
    assert answer.request.url == url + "/custom/path/foo"
    assert server.requests[0].target == "/custom/path/foo"


async def test_a_full_url_as_the_path_is_sent_there(transport: str) -> None:
    async with RawServer(ok()) as other, wired(transport, ok()) as (client, server):
        await client.post(other.url + "/foo", cast_to=object, body={"foo": "bar"})
    assert ([r.target for r in other.requests], server.requests) == (["/foo"], [])


# ---------------------------------------------------------------- lifecycle


async def test_dropping_a_copy_leaves_the_client_open(transport: str) -> None:
    async with wired(transport, ok()) as (client, _):
        copied = client.copy()
        del copied
        assert not client.is_closed()
        await client.get("/foo", cast_to=object)


async def test_async_with_closes_the_client_when_the_block_ends(transport: str) -> None:
    async with http_client_for(transport) as http:
        client = AsyncMicroDC(api_key=API_KEY, base_url="http://127.0.0.1:9", http_client=http)
        async with client as entered:
            assert entered is client
            assert not client.is_closed()
        assert client.is_closed()


# ---------------------------------------------------------------- retries


class Retries:
    """The ``on_retry`` records of a client: the delay of each retry."""

    def __init__(self) -> None:
        self.seen: List[RetryInfo] = []

    def hooks(self) -> Hooks:
        return Hooks(on_retry=self.seen.append)

    @property
    def delays(self) -> List[float]:
        return [info.delay for info in self.seen]


def _http_date(seconds_from_now: float) -> str:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(when, usegmt=True)


BACKOFF = (0.375, 0.5)  # 0.5 s less up to 25 % jitter, the first retry's wait without a usable hint


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("20", 20, 20),
        ("0", *BACKOFF),
        ("-10", *BACKOFF),
        ("60", 60, 60),
        ("61", *BACKOFF),  # above 60 s the server's hint is not followed (openai-python: up to 120 s)
        ("120", *BACKOFF),
        ("in 20 s, as an HTTP date", 17, 20),
        ("10 s ago, as an HTTP date", *BACKOFF),
        ("in 62 s, as an HTTP date", *BACKOFF),  # HTTP dates are whole seconds
        ("99999999999999999999999999999999999", *BACKOFF),
        ("inf", *BACKOFF),
        ("nan", *BACKOFF),
        ("Zun, 29 Sep 2023 16:26:27 GMT", *BACKOFF),
        ("Fri, 29 Sep 100000 16:26:57 GMT", *BACKOFF),
        ("", *BACKOFF),
    ],
)
async def test_retry_after_sets_the_wait_when_it_is_a_usable_hint(
    transport: str, retry_after: str, low: float, high: float
) -> None:
    if retry_after.endswith("as an HTTP date"):
        seconds = int(retry_after.split()[1 if retry_after.startswith("in") else 0])
        retry_after = _http_date(seconds if retry_after.startswith("in") else -seconds)
    retries = Retries()
    answers = (status(429, headers={"retry-after": retry_after}), ok())
    async with wired(transport, *answers, hooks=retries.hooks()) as (client, server):
        await client.get("/foo", cast_to=object)
    assert len(server.requests) == 2
    (delay,) = retries.delays
    assert low <= delay <= high


async def test_backoff_doubles_per_retry_up_to_eight_seconds(transport: str) -> None:
    retries = Retries()
    async with wired(transport, status(500), hooks=retries.hooks(), max_retries=6) as (client, _):
        with pytest.raises(APIStatusError):
            await client.get("/foo", cast_to=object)
    for delay, full in zip(retries.delays, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0], strict=True):
        assert full * 0.75 <= delay <= full


async def test_a_retry_after_above_sixty_seconds_is_retried_after_the_sdks_backoff(transport: str) -> None:
    # openai-python does not retry at all when Retry-After is above its maximum.
    retries = Retries()
    answers = (status(429, headers={"retry-after": "121"}), ok({"ok": True}))
    async with wired(transport, *answers, hooks=retries.hooks()) as (client, server):
        assert await client.get("/foo", cast_to=object) == {"ok": True}
    assert len(server.requests) == 2
    assert BACKOFF[0] <= retries.delays[0] <= BACKOFF[1]


async def test_an_invalid_retry_after_date_does_not_hide_the_status_error(transport: str) -> None:
    answer = status(400, headers={"retry-after": "Fri, 29 Sep 100000 16:26:57 GMT"})
    async with wired(transport, answer) as (client, server):
        with pytest.raises(APIStatusError) as info:
            await client.get("/foo", cast_to=httpx.Response)
    assert info.value.status_code == 400
    assert len(server.requests) == 1


@pytest.mark.parametrize("failure", ["timeout", "status"])
async def test_a_streamed_call_that_fails_after_retries_leaves_no_connection_taken(
    transport: str, failure: str
) -> None:
    first = hang() if failure == "timeout" else status(500)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with (
        RawServer(first, first, ok({"after": True})) as server,
        _http_client(transport, limits=limits, timeout=httpx.Timeout(5.0, read=0.5)) as http,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, http_client=http, max_retries=1) as client,
    ):
        with pytest.raises(APITimeoutError if failure == "timeout" else APIStatusError):
            async with client.jobs.with_streaming_response.retrieve("job_1"):
                pass
        # One connection in the pool: the next call gets it only if the failed ones gave it back.
        answer = await client.get("/after", cast_to=object, timeout=httpx.Timeout(30.0, pool=10.0))
    assert answer == {"after": True}
    assert len(server.requests) == 3


FAILURES = {"status": status(500), "dropped connection": close_without_answer()}


@pytest.mark.parametrize("failures", [0, 2, 4])
@pytest.mark.parametrize("failure", list(FAILURES))
async def test_retries_taken_and_the_retry_count_header_count_the_failed_attempts(
    transport: str, failures: int, failure: str
) -> None:
    answers = [FAILURES[failure]] * failures + [ok()]
    async with wired(transport, *answers, max_retries=4) as (client, server):
        raw = await client.jobs.with_raw_response.retrieve("job_1")
    assert raw.retries_taken == failures
    assert raw.http_request.headers["x-stainless-retry-count"] == str(failures)
    assert [header(r, "x-stainless-retry-count") for r in server.requests] == [str(n) for n in range(failures + 1)]


@pytest.mark.parametrize("failures", [0, 2, 4])
async def test_the_retry_count_header_can_be_omitted(transport: str, failures: int) -> None:
    answers = [status(500)] * failures + [ok()]
    async with wired(transport, *answers, max_retries=4) as (client, server):
        raw = await client.jobs.with_raw_response.retrieve("job_1", extra_headers={"x-stainless-retry-count": omit})
    assert raw.http_request.headers.get_list("x-stainless-retry-count") == []
    assert [header(r, "x-stainless-retry-count") for r in server.requests] == [None] * (failures + 1)


@pytest.mark.parametrize("failures", [0, 2, 4])
async def test_the_retry_count_header_can_be_overwritten(transport: str, failures: int) -> None:
    answers = [status(500)] * failures + [ok()]
    async with wired(transport, *answers, max_retries=4) as (client, server):
        raw = await client.jobs.with_raw_response.retrieve("job_1", extra_headers={"X-Stainless-Retry-Count": "42"})
    assert raw.http_request.headers.get_list("x-stainless-retry-count") == ["42"]
    assert [header(r, "x-stainless-retry-count") for r in server.requests] == ["42"] * (failures + 1)


@pytest.mark.parametrize("failures", [0, 2, 4])
async def test_a_streamed_response_reports_the_retries_it_took(transport: str, failures: int) -> None:
    answers = [status(500)] * failures + [ok()]
    async with (
        wired(transport, *answers, max_retries=4) as (client, _),
        client.jobs.with_streaming_response.retrieve("job_1") as streamed,
    ):
        assert streamed.retries_taken == failures
        assert streamed.http_request.headers["x-stainless-retry-count"] == str(failures)


class _Broken(httpx.AsyncBaseTransport):
    """A caller's transport with a bug: it raises something that is not an httpx error."""

    def __init__(self) -> None:
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:  # noqa: ARG002
        self.calls += 1
        raise RuntimeError("oops")


async def test_an_exception_that_is_not_a_transport_error_is_not_retried() -> None:
    # openai-python retries any exception; here only connection errors and timeouts are (a bug surfaces at once).
    broken = _Broken()
    async with httpx.AsyncClient(transport=broken) as http:
        client = AsyncMicroDC(api_key=API_KEY, base_url="http://127.0.0.1:9", http_client=http)
        with pytest.raises(RuntimeError, match="oops"):
            await client.get("/foo", cast_to=object)
    assert broken.calls == 1


# ---------------------------------------------------------------- platform and HTTP clients


async def test_every_request_says_which_platform_sent_it(transport: str) -> None:
    async with wired(transport, ok()) as (client, server):
        await client.get("/foo", cast_to=object)
    (request,) = server.requests
    assert header(request, "x-stainless-lang") == "python"
    assert header(request, "x-stainless-async") == "async:asyncio"
    assert all(header(request, f"x-stainless-{name}") for name in ("os", "arch", "runtime", "runtime-version"))


async def test_the_proxy_environment_variables_are_followed(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    async with serve_http() as (proxy_origin, proxy_seen), RawServer(ok({"direct": True})) as direct:
        monkeypatch.setenv("HTTP_PROXY", proxy_origin)
        monkeypatch.setenv("NO_PROXY", "localhost, 127.0.0.1")
        async with _http_client(transport) as http:
            client = AsyncMicroDC(api_key=API_KEY, base_url="http://api.microdc.test", http_client=http)
            proxied = await client.get("/via-proxy", cast_to=object)
            assert await client.get(direct.url + "/direct", cast_to=object) == {"direct": True}
    assert cast(Any, proxied)["line"] == "GET http://api.microdc.test/via-proxy HTTP/1.1"
    assert len(proxy_seen.requests) == 1
    assert [r.target for r in direct.requests] == ["/direct"]


async def test_the_default_http_client_takes_httpxs_client_arguments() -> None:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    async with DefaultAsyncHttpxClient(verify=True, cert=None, trust_env=True, http1=True, http2=False, limits=limits):
        pass


async def test_redirects_are_followed(transport: str) -> None:
    redirect = send(response(302, headers={"location": "/redirected"}))
    async with wired(transport, redirect, ok({"status": "ok"})) as (client, server):
        answer = await client.post("/redirect", body={"key": "value"}, cast_to=httpx.Response)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert [(r.method, r.target) for r in server.requests] == [("POST", "/redirect"), ("GET", "/redirected")]


async def test_an_http_client_that_does_not_follow_redirects_gets_the_redirect_as_a_status_error(
    transport: str,
) -> None:
    # There is no per-call `follow_redirects` option (openai-python has one): the HTTP client decides.
    redirect = send(response(302, headers={"location": "/redirected"}))
    async with (
        RawServer(redirect) as server,
        _http_client(transport, follow_redirects=False) as http,
        AsyncMicroDC(api_key=API_KEY, base_url=server.url, http_client=http) as client,
    ):
        with pytest.raises(APIStatusError) as info:
            await client.post("/redirect", body={"key": "value"}, cast_to=httpx.Response)
    assert info.value.status_code == 302
    assert info.value.response.headers["location"] == "/redirected"
    assert len(server.requests) == 1
