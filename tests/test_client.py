"""``AsyncMicroDC``: construction, URLs and query strings, copies, closing, event loops."""

from __future__ import annotations

import asyncio
from typing import Optional

import httpx
import respx
import pytest

from microdc import NOT_GIVEN, AsyncMicroDC, MicroDCError, DefaultAsyncHttpxClient
from microdc._http_clients import HttpClientPool

from .conftest import API_KEY, BASE_URL, Recorder, reply, make_client

# ---------------------------------------------------------------- construction


def test_api_key_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_API_KEY", "env-key")
    client = AsyncMicroDC(base_url=BASE_URL)
    assert client.api_key == "env-key"
    assert client.auth_headers == {"Authorization": "Bearer env-key"}


def test_base_url_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_BASE_URL", "http://env.example:9000")
    client = AsyncMicroDC(api_key=API_KEY)
    assert str(client.base_url) == "http://env.example:9000/"


def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_API_KEY", "env-key")
    monkeypatch.setenv("MICRODC_BASE_URL", "http://env.example")
    client = AsyncMicroDC(api_key="arg-key", base_url="http://arg.example")
    assert client.api_key == "arg-key"
    assert str(client.base_url) == "http://arg.example/"


def test_missing_api_key_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICRODC_API_KEY", raising=False)
    with pytest.raises(MicroDCError, match="MICRODC_API_KEY") as info:
        AsyncMicroDC(base_url=BASE_URL)
    assert "api_key=" in str(info.value)


def test_empty_api_key_in_environment_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRODC_API_KEY", "")
    with pytest.raises(MicroDCError, match="MICRODC_API_KEY"):
        AsyncMicroDC(base_url=BASE_URL)


def test_missing_base_url_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICRODC_BASE_URL", raising=False)
    with pytest.raises(MicroDCError, match="MICRODC_BASE_URL") as info:
        AsyncMicroDC(api_key=API_KEY)
    assert "base_url=" in str(info.value)


def test_base_url_without_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="http://"):
        AsyncMicroDC(api_key=API_KEY, base_url="api.example.com")


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL, max_retries=-1)


def test_http_client_must_be_an_httpx_async_client() -> None:
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL, http_client=object())  # type: ignore[arg-type]


def test_defaults_are_three_retries_and_sixty_second_timeout() -> None:
    client = AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)
    assert client.max_retries == 3
    assert client.timeout == httpx.Timeout(60.0, connect=5.0)


def test_repr_does_not_show_the_api_key() -> None:
    client = AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)
    assert API_KEY not in repr(client)
    assert BASE_URL in repr(client)


# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("base_url", "path", "expected"),
    [
        ("http://h.test", "/api/v1/jobs", "http://h.test/api/v1/jobs"),
        ("http://h.test/", "/api/v1/jobs", "http://h.test/api/v1/jobs"),
        ("http://h.test", "api/v1/jobs", "http://h.test/api/v1/jobs"),
        ("http://h.test/base", "/api/v1/jobs", "http://h.test/base/api/v1/jobs"),
        ("http://h.test/base/", "/api/v1/jobs", "http://h.test/base/api/v1/jobs"),
        ("http://h.test/base/", "api/v1/jobs", "http://h.test/base/api/v1/jobs"),
        ("http://h.test/base", "http://other.test/x", "http://other.test/x"),
    ],
)
async def test_url_joining(base_url: str, path: str, expected: str) -> None:
    recorder = Recorder()
    async with make_client(recorder, base_url=base_url) as client:
        await client.get(path, cast_to=object)
    assert str(recorder.last.url) == expected


async def test_query_arrays_are_comma_joined() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.get("/jobs", cast_to=object, query={"status": ["queued", "running"]})
    assert recorder.last.url.params.get_list("status") == ["queued,running"]


async def test_query_booleans_are_lowercase() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.get("/jobs", cast_to=object, query={"acknowledged": True, "normalize": False})
    assert recorder.last.url.params["acknowledged"] == "true"
    assert recorder.last.url.params["normalize"] == "false"


async def test_query_none_and_not_given_are_left_out() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.get("/jobs", cast_to=object, query={"after": None, "limit": NOT_GIVEN, "type": "llm_chat"})
    assert dict(recorder.last.url.params) == {"type": "llm_chat"}


async def test_default_query_and_extra_query_are_merged() -> None:
    recorder = Recorder()
    async with make_client(recorder, default_query={"team": "a", "limit": 5}) as client:
        await client.get("/jobs", cast_to=object, query={"limit": 10}, extra_query={"debug": True})
    assert dict(recorder.last.url.params) == {"team": "a", "limit": "10", "debug": "true"}


async def test_extra_body_is_merged_into_json_body() -> None:
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.post("/jobs", cast_to=object, body={"a": 1}, extra_body={"b": 2})
    assert recorder.last.read() == b'{"a":1,"b":2}'


# ---------------------------------------------------------------- copies


async def test_copy_shares_the_connection_pool() -> None:
    async with make_client() as client:
        copy = client.copy(max_retries=7)
        assert copy._client is client._client
        assert copy.max_retries == 7
        assert client.max_retries == 3


async def test_with_options_merges_default_headers() -> None:
    recorder = Recorder()
    async with make_client(recorder, default_headers={"X-A": "1", "X-B": "1"}) as client:
        await client.with_options(default_headers={"X-B": "2", "X-C": "3"}).get("/x", cast_to=object)
    headers = recorder.last.headers
    assert (headers["X-A"], headers["X-B"], headers["X-C"]) == ("1", "2", "3")


async def test_copy_set_default_headers_replaces_them() -> None:
    recorder = Recorder()
    async with make_client(recorder, default_headers={"X-A": "1"}) as client:
        await client.copy(set_default_headers={"X-C": "3"}).get("/x", cast_to=object)
    assert "X-A" not in recorder.last.headers
    assert recorder.last.headers["X-C"] == "3"


async def test_copy_refuses_both_header_forms() -> None:
    async with make_client() as client:
        with pytest.raises(ValueError, match="not both"):
            client.copy(default_headers={"a": "1"}, set_default_headers={"b": "2"})


async def test_copy_keeps_api_key_and_base_url() -> None:
    recorder = Recorder()
    async with make_client(recorder, base_url="http://h.test/base") as client:
        await client.copy(timeout=5.0).get("/x", cast_to=object)
    assert str(recorder.last.url) == "http://h.test/base/x"
    assert recorder.last.headers["Authorization"] == f"Bearer {API_KEY}"
    assert float(recorder.last.headers["x-stainless-read-timeout"]) == 5.0


async def test_copy_with_its_own_http_client_gets_its_own_pool() -> None:
    async with make_client() as client:
        other = httpx.AsyncClient(transport=httpx.MockTransport(Recorder()))
        copy = client.copy(http_client=other)
        assert copy._client is other
        assert client._client is not other
        await other.aclose()


# ---------------------------------------------------------------- closing


async def test_close_twice_is_fine() -> None:
    client = make_client()
    await client.close()
    await client.close()
    assert client.is_closed()


async def test_closed_client_refuses_requests_clearly() -> None:
    recorder = Recorder()
    client = make_client(recorder)
    await client.close()
    with pytest.raises(MicroDCError, match="closed"):
        await client.get("/x", cast_to=object)
    assert recorder.requests == []


async def test_async_with_closes_the_client() -> None:
    async with make_client() as client:
        assert not client.is_closed()
    assert client.is_closed()


async def test_close_leaves_the_callers_http_client_open() -> None:
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(Recorder()))
    async with AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL, http_client=http_client):
        pass
    assert not http_client.is_closed
    await http_client.aclose()


async def test_close_closes_the_pool_the_client_made() -> None:
    client = AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)
    http_client = client._client
    assert isinstance(http_client, DefaultAsyncHttpxClient)
    await client.close()
    assert http_client.is_closed


async def test_closing_a_copy_closes_the_shared_pool() -> None:
    client = make_client()
    await client.copy().close()
    assert client.is_closed()


# ---------------------------------------------------------------- event loops


def test_own_pool_works_from_a_second_event_loop() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=True, using="httpx") as mock:
        route = mock.get("/x").mock(return_value=httpx.Response(200, json={"n": 1}))
        client = AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL)

        async def call() -> tuple[object, Optional[httpx.AsyncClient]]:
            return await client.get("/x", cast_to=object), client._pool.client

        first_answer, first_pool = asyncio.run(call())
        second_answer, second_pool = asyncio.run(call())
        assert first_answer == second_answer == {"n": 1}
        assert first_pool is not None
        assert second_pool is not None
        assert second_pool is not first_pool
        assert first_pool.is_closed  # closed when its loop shut down
        assert route.call_count == 2
        asyncio.run(client.close())


def test_callers_http_client_on_a_second_event_loop_raises_before_sending() -> None:
    recorder = Recorder(reply(200, {}))
    client = make_client(recorder)

    async def call() -> object:
        return await client.get("/x", cast_to=object)

    asyncio.run(call())
    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(call())
    assert len(recorder.requests) == 1


def test_pool_made_outside_a_loop_binds_to_the_first_loop() -> None:
    made: list[httpx.AsyncClient] = []

    def factory() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient(transport=httpx.MockTransport(Recorder())))
        return made[-1]

    pool = HttpClientPool(None, factory)

    async def get() -> httpx.AsyncClient:
        return pool.get()

    async def get_twice() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return pool.get(), pool.get()

    first, again = asyncio.run(get_twice())
    assert first is again
    assert asyncio.run(get()) is not first
    assert len(made) == 2


def test_the_constructor_has_no_private_pool_parameter() -> None:
    import inspect

    parameters = inspect.signature(AsyncMicroDC).parameters
    assert "_pool" not in parameters
    assert list(parameters) == [
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "retry",
        "default_headers",
        "default_query",
        "http_client",
        "hooks",
        "rate_limit",
        "_strict_response_validation",
    ]
