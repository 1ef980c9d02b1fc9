"""Proxies on both transports, through a real forward proxy on 127.0.0.1 (``tests/_proxy.py``).

``DefaultAioHttpClient`` reads ``proxy=`` and the environment's ``HTTP_PROXY``/
``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` through httpx's own rules, so each test
runs the same expectations over both transports; the property test pins that both
pick the same proxy for any ``NO_PROXY`` and any URL.
"""

from __future__ import annotations

import ssl
import base64
from typing import Any, Dict, List, Optional

import httpx
import pytest
import trustme
from hypothesis import HealthCheck, given, settings, strategies as st

from microdc import AsyncMicroDC, APIConnectionError
from microdc._transport import Httpcore2Transport

from ._certs import trusting
from ._proxy import serve_proxy
from ._loopback import free_port, serve_http
from ._transports import http_client_for, build_http_client

pytestmark = pytest.mark.usefixtures("clean_network_env")


async def _get(http: httpx.AsyncClient, url: str) -> Dict[str, Any]:
    async with http:
        response = await http.get(url)
    assert response.status_code == 200
    answer: Dict[str, Any] = response.json()
    return answer


async def test_proxy_argument_forwards_plain_http(transport: str) -> None:
    async with serve_http() as (origin, target), serve_proxy() as (proxy, seen):
        answer = await _get(build_http_client(transport, proxy=proxy), f"{origin}/forwarded?q=1")
    assert seen.requests == [f"GET {origin}/forwarded?q=1"]
    assert answer["line"] == "GET /forwarded?q=1 HTTP/1.1"
    assert target.requests[0]["headers"]["via"] == "1.1 test-proxy"


async def test_https_goes_through_a_connect_tunnel(transport: str, ca: trustme.CA, server_ssl: ssl.SSLContext) -> None:
    async with serve_http(server_ssl) as (origin, target), serve_proxy() as (proxy, seen):
        answer = await _get(build_http_client(transport, proxy=proxy, verify=trusting(ca)), f"{origin}/tunnelled")
    assert seen.requests == [f"CONNECT {origin.removeprefix('https://')}"]
    assert answer["line"] == "GET /tunnelled HTTP/1.1"
    assert "via" not in target.requests[0]["headers"]  # the proxy only carried bytes


@pytest.mark.parametrize("secure", [False, True], ids=["forwarded", "tunnelled"])
async def test_proxy_credentials_go_to_the_proxy_only(
    transport: str, secure: bool, ca: trustme.CA, server_ssl: ssl.SSLContext
) -> None:
    async with serve_http(server_ssl if secure else None) as (origin, target), serve_proxy() as (proxy, seen):
        with_credentials = proxy.replace("http://", "http://user:s3cret@")
        await _get(build_http_client(transport, proxy=with_credentials, verify=trusting(ca)), f"{origin}/auth")
    assert seen.headers[0]["proxy-authorization"] == "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert "proxy-authorization" not in target.requests[0]["headers"]


async def test_environment_proxy_per_scheme(
    transport: str, ca: trustme.CA, server_ssl: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        serve_http() as (plain, _),
        serve_http(server_ssl) as (secure, _),
        serve_proxy() as (http_proxy, via_http),
        serve_proxy() as (https_proxy, via_https),
    ):
        monkeypatch.setenv("HTTP_PROXY", http_proxy)
        monkeypatch.setenv("HTTPS_PROXY", https_proxy)
        async with build_http_client(transport, verify=trusting(ca)) as http:
            assert (await http.get(f"{plain}/p")).status_code == 200
            assert (await http.get(f"{secure}/s")).status_code == 200
    assert via_http.requests == [f"GET {plain}/p"]
    assert via_https.requests == [f"CONNECT {secure.removeprefix('https://')}"]


async def test_all_proxy_serves_every_scheme(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve_http() as (origin, _), serve_proxy() as (proxy, seen):
        monkeypatch.setenv("ALL_PROXY", proxy)
        await _get(build_http_client(transport), f"{origin}/all")
    assert seen.requests == [f"GET {origin}/all"]


async def test_no_proxy_hosts_go_direct(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve_http() as (origin, target), serve_proxy() as (proxy, seen):
        port = origin.rsplit(":", 1)[1]
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "example.test, localhost")
        async with build_http_client(transport) as http:
            assert (await http.get(f"http://localhost:{port}/direct")).status_code == 200
            assert (await http.get(f"{origin}/proxied")).status_code == 200
    assert seen.requests == [f"GET {origin}/proxied"]
    assert [r["line"] for r in target.requests] == ["GET /direct HTTP/1.1", "GET /proxied HTTP/1.1"]


async def test_trust_env_false_ignores_the_environment(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve_http() as (origin, _), serve_proxy() as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        await _get(build_http_client(transport, trust_env=False), f"{origin}/no-env")
    assert seen.requests == []


async def test_proxy_argument_wins_over_the_environment(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve_http() as (origin, _), serve_proxy() as (proxy, seen):
        port = origin.rsplit(":", 1)[1]
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing listens there
        monkeypatch.setenv("NO_PROXY", "localhost")  # as in httpx, it narrows only the environment's proxies
        await _get(build_http_client(transport, proxy=proxy), f"http://localhost:{port}/given")
    assert seen.requests == [f"GET http://localhost:{port}/given"]


async def test_dead_proxy_error_names_the_proxy_without_credentials(
    transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:s3cret@{dead}")
    async with (
        http_client_for(transport) as http,
        AsyncMicroDC(
            api_key="k", base_url=f"https://127.0.0.1:{free_port()}", http_client=http, max_retries=0
        ) as client,
    ):
        with pytest.raises(APIConnectionError) as info:
            await client.get("/x", cast_to=object)
    message = info.value.message
    assert f"through the proxy http://{dead}" in message
    assert "s3cret" not in message
    assert "user" not in message


def test_socks_proxy_on_aiohttp_says_to_use_the_httpx_client() -> None:
    pytest.importorskip("aiohttp")
    with pytest.raises(ValueError, match=r"aiohttp speaks to HTTP and HTTPS proxies only.*DefaultAsyncHttpxClient"):
        build_http_client("aiohttp", proxy="socks5://127.0.0.1:1080")


# ---------------------------------------------------------------- the same choice as httpx, for any input

_NO_PROXY_ENTRIES = [
    "localhost",
    "127.0.0.1",
    "::1",
    "example.com",
    ".example.com",
    "sub.example.com",
    "http://example.org",
    "all://*.test",
    "*",
    "",
]
_URLS = [
    "http://example.com/a",
    "https://example.com:8443/b?c=d",
    "http://www.example.com/",
    "http://wwwexample.com/",
    "https://sub.example.com/x",
    "http://example.org/",
    "https://example.org/",
    "http://localhost:8000/",
    "https://127.0.0.1/",
    "http://[::1]:9000/",
    "http://api.microdc.test/",
]


def _aiohttp_choice(http: httpx.AsyncClient, url: str) -> Optional[str]:
    route = http._proxy_for(httpx.URL(url))  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
    return None if route is None else str(route.url)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]


def _httpx_choice(http: httpx.AsyncClient, url: str) -> Optional[str]:
    mounted = http._transport_for_url(httpx.URL(url))
    assert isinstance(mounted, Httpcore2Transport)
    return None if mounted.proxy_url is None else str(mounted.proxy_url)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    no_proxy=st.lists(st.sampled_from(_NO_PROXY_ENTRIES), max_size=4),
    all_proxy=st.booleans(),
    urls=st.lists(st.sampled_from(_URLS), min_size=1, max_size=8),
)
def test_both_transports_pick_the_proxy_httpx_picks(
    no_proxy: List[str], all_proxy: bool, urls: List[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiohttp")
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://secure-proxy:3129")
    if all_proxy:
        monkeypatch.setenv("ALL_PROXY", "http://all-proxy:3130")
    monkeypatch.setenv("NO_PROXY", ",".join(no_proxy))
    # verify=False: no CA bundle to load per example; nothing is sent.
    aiohttp_client = build_http_client("aiohttp", verify=False)
    httpx_client = build_http_client("httpx", verify=False)
    for url in urls + urls:  # the second pass is answered from the aiohttp client's per-origin memo
        assert _aiohttp_choice(aiohttp_client, url) == _httpx_choice(httpx_client, url), url
