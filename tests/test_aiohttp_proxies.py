"""``DefaultAioHttpClient`` and the proxy environment: ``NO_PROXY`` read as httpx reads it,
``proxy=`` and ``trust_env=False`` winning over the environment (the wire itself:
``tests/peers/test_client_like_openai.py::test_the_proxy_environment_variables_are_followed``)."""

from __future__ import annotations

import httpx
import pytest

from microdc import DefaultAioHttpClient

pytest.importorskip("aiohttp")

from microdc._aiohttp import AioHttpClient, _no_proxy_matches


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("*", "http://anything.test/", True),
        ("microdc.test", "http://microdc.test/", True),
        ("microdc.test", "http://api.microdc.test/", True),
        (".microdc.test", "http://api.microdc.test/", True),
        ("microdc.test", "http://notmicrodc.test/", False),
        ("other.test, api.microdc.test", "http://api.microdc.test/x", True),
        ("10.0.0.0/8", "http://10.1.2.3/", True),
        ("10.0.0.0/8", "http://11.1.2.3/", False),
        ("127.0.0.1", "http://127.0.0.1:8000/", True),
        ("api.microdc.test:8080", "http://api.microdc.test:8080/", True),
        ("api.microdc.test:8080", "http://api.microdc.test/", False),
        ("http://api.microdc.test", "http://api.microdc.test/", True),
        ("", "http://api.microdc.test/", False),
    ],
)
def test_no_proxy_names_hosts_parent_domains_addresses_and_networks(no_proxy: str, url: str, bypassed: bool) -> None:
    assert _no_proxy_matches(no_proxy, httpx.URL(url)) is bypassed


@pytest.mark.parametrize("kwargs", [{"proxy": "http://127.0.0.1:3128"}, {"trust_env": False}])
def test_an_explicit_proxy_or_trust_env_false_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object]
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    client = DefaultAioHttpClient(**kwargs)
    assert isinstance(client, AioHttpClient)
    assert client._env_proxies == {}
