"""TLS on both transports: what ``verify=`` takes, when ``SSL_CERT_FILE``/``SSL_CERT_DIR`` are read,
and what a certificate that does not verify does to a call (against a real TLS server on 127.0.0.1,
with a throwaway CA from trustme)."""

from __future__ import annotations

import os
import ssl
from typing import Any, List, Callable
from pathlib import Path

import httpx
import pytest
import trustme

from microdc import RetryPolicy, AsyncMicroDC, APIConnectionError
from microdc.lib.hooks import Hooks, RequestInfo
from microdc.lib.retry import disable_retry_delays

from ._certs import trusting
from ._loopback import serve_http
from ._transports import http_client_for, build_http_client

pytestmark = pytest.mark.usefixtures("clean_network_env")

VERIFY_FORMS: List[Callable[[trustme.CA, str], Any]] = [
    lambda _ca, ca_file: ca_file,
    lambda _ca, ca_file: Path(ca_file),
    lambda ca, _ca_file: trusting(ca),
]


async def _status(http: httpx.AsyncClient, url: str) -> int:
    async with http:
        return (await http.get(url)).status_code


@pytest.mark.parametrize("form", VERIFY_FORMS, ids=["str-path", "pathlib-path", "ssl-context"])
async def test_verify_takes_a_path_or_an_ssl_context(
    transport: str, form: Callable[[trustme.CA, str], Any], ca: trustme.CA, ca_file: str, server_ssl: ssl.SSLContext
) -> None:
    async with serve_http(server_ssl) as (origin, _):
        assert await _status(build_http_client(transport, verify=form(ca, ca_file)), f"{origin}/v") == 200


async def test_verify_takes_a_directory_of_hashed_certificates(
    transport: str, ca_dir: str, server_ssl: ssl.SSLContext
) -> None:
    async with serve_http(server_ssl) as (origin, _):
        assert await _status(build_http_client(transport, verify=ca_dir), f"{origin}/dir") == 200


async def test_verify_false_skips_verification(transport: str, server_ssl: ssl.SSLContext) -> None:
    async with serve_http(server_ssl) as (origin, _):
        assert await _status(build_http_client(transport, verify=False), f"{origin}/insecure") == 200


async def test_default_trusts_certifi_not_a_private_ca(transport: str, server_ssl: ssl.SSLContext) -> None:
    async with serve_http(server_ssl) as (origin, _), build_http_client(transport) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"{origin}/default")


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
async def test_ssl_cert_variables_are_read_when_the_client_is_built(
    transport: str,
    variable: str,
    request: pytest.FixtureRequest,
    server_ssl: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    location: str = request.getfixturevalue("ca_file" if variable == "SSL_CERT_FILE" else "ca_dir")
    async with serve_http(server_ssl) as (origin, _):
        built_before = build_http_client(transport)
        monkeypatch.setenv(variable, location)  # after import, and after the first client was built
        built_after = build_http_client(transport)
        ignoring = build_http_client(transport, trust_env=False)
        assert await _status(built_after, f"{origin}/after") == 200
        async with built_before, ignoring:
            for http in (built_before, ignoring):
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await http.get(f"{origin}/not-trusted")


@pytest.mark.parametrize(
    ("verify", "error", "says"),
    [
        ("no-such-ca.pem", ValueError, "no such file or directory"),
        ("not-pem", ValueError, "could not be loaded as CA certificates"),
        (42, TypeError, "verify= must be a path to a PEM file"),
    ],
)
def test_bad_verify_is_rejected_when_the_client_is_built(
    transport: str, verify: object, error: type[Exception], says: str, tmp_path: Path
) -> None:
    if verify == "not-pem":
        verify = tmp_path / "not.pem"
        verify.write_text("this is no certificate")
    with pytest.raises(error, match=says):
        build_http_client(transport, verify=verify)


def test_bad_ssl_cert_file_is_rejected_when_the_client_is_built(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", os.fspath(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match=r"SSL_CERT_FILE=.*missing\.pem.*could not be loaded"):
        build_http_client(transport)


async def test_certificate_failure_is_not_retried_and_says_how_to_trust_a_private_ca(
    transport: str, server_ssl: ssl.SSLContext
) -> None:
    attempts: List[RequestInfo] = []
    asked: List[object] = []

    def retry_anyway(outcome: object) -> bool:
        asked.append(outcome)
        return True  # cannot override: no retry can mend a certificate

    async with serve_http(server_ssl) as (origin, _), http_client_for(transport) as http:
        client = AsyncMicroDC(
            api_key="k",
            base_url=origin,
            http_client=http,
            retry=RetryPolicy(max_retries=3, retry_if=retry_anyway),
            hooks=Hooks(on_request=attempts.append),
        )
        with disable_retry_delays(), pytest.raises(APIConnectionError) as info:
            await client.get("/x", cast_to=object)
        await client.close()
    error = info.value
    assert error.retryable is False
    assert len(attempts) == 1
    assert len(asked) == 1
    assert "could not be verified" in error.message
    assert "verify=" in error.message
    assert "SSL_CERT_FILE" in error.message
