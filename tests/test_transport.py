"""``DefaultAsyncHttpxClient`` over httpcore2: each httpx option it keeps, against real loopback servers.

What both transports share is tested over both: TLS (``verify``, ``SSL_CERT_FILE``)
in ``test_tls.py``, proxies in ``test_proxies.py``.
"""

from __future__ import annotations

import os
import ssl
import sys
import json
import socket
import tempfile
import subprocess
from typing import Any, Dict, List, Type
from pathlib import Path

import httpx
import pytest
import trustme
import httpcore2

from microdc import AsyncMicroDC, APIConnectionError, DefaultAsyncHttpxClient
from microdc._transport import Httpcore2Transport, map_exception

from ._certs import trusting
from ._loopback import serve_h2, free_port, serve_http, serve_unix

pytestmark = pytest.mark.usefixtures("clean_network_env")


# ---------------------------------------------------------------- which transport


def test_default_client_sends_through_httpcore2() -> None:
    client = DefaultAsyncHttpxClient()
    transport = client._transport_for_url(httpx.URL("http://127.0.0.1/"))
    assert isinstance(transport, Httpcore2Transport)
    assert isinstance(transport.pool, httpcore2.AsyncConnectionPool)


def test_callers_transport_is_used_as_given() -> None:
    mine = httpx.MockTransport(lambda _request: httpx.Response(204))
    client = DefaultAsyncHttpxClient(transport=mine)
    assert client._transport_for_url(httpx.URL("http://127.0.0.1/")) is mine


async def test_sdk_default_client_round_trip_over_loopback() -> None:
    async with serve_http() as (origin, seen), AsyncMicroDC(api_key="k", base_url=origin) as client:
        answer = await client.get("/api/v1/models", cast_to=Dict[str, Any])
    assert answer["line"] == "GET /api/v1/models HTTP/1.1"
    assert seen.requests[0]["headers"]["authorization"] == "Bearer k"


# ---------------------------------------------------------------- TLS


async def test_tls_client_certificate_from_cert(ca: trustme.CA, server_ssl: ssl.SSLContext, tmp_path: Path) -> None:
    server_ssl.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server_ssl)  # pyright: ignore[reportUnknownMemberType]
    chain = tmp_path / "client.pem"
    ca.issue_cert("client.example").private_key_and_cert_chain_pem.write_to_path(str(chain))
    async with serve_http(server_ssl) as (origin, _):
        with pytest.warns(DeprecationWarning, match="cert"):  # httpx deprecates `cert=`, and still honours it
            client = DefaultAsyncHttpxClient(verify=trusting(ca), cert=str(chain))
        async with client:
            assert (await client.get(origin + "/mtls")).status_code == 200
        async with DefaultAsyncHttpxClient(verify=trusting(ca)) as client:
            with pytest.raises(httpx.TransportError):  # the server ends the handshake: no client certificate
                await client.get(origin + "/mtls")


async def test_http2_negotiated_with_http2_true(ca: trustme.CA, server_ssl: ssl.SSLContext) -> None:
    async with serve_h2(server_ssl) as (origin, seen), DefaultAsyncHttpxClient(verify=trusting(ca), http2=True) as c:
        response = await c.get(origin + "/h2")
    assert response.http_version == "HTTP/2"
    assert seen.requests[0]["headers"][":path"] == "/h2"


# ---------------------------------------------------------------- mounts


async def test_mounts_are_used_as_given() -> None:
    mine = httpx.MockTransport(lambda request: httpx.Response(200, json={"mounted": str(request.url)}))
    async with DefaultAsyncHttpxClient(mounts={"http://mounted.test": mine}) as client:
        response = await client.get("http://mounted.test/x")
    assert response.json() == {"mounted": "http://mounted.test/x"}


# ---------------------------------------------------------------- connection options


async def test_uds_connects_over_a_unix_socket() -> None:
    with tempfile.TemporaryDirectory() as directory:  # short path: Unix socket paths are limited to ~100 bytes
        path = os.path.join(directory, "s")
        async with serve_unix(path) as seen, DefaultAsyncHttpxClient(uds=path) as client:
            response = await client.get("http://api.microdc.test/unix")
    assert response.json()["line"] == "GET /unix HTTP/1.1"
    assert seen.requests[0]["headers"]["host"] == "api.microdc.test"


async def test_local_address_is_the_source_of_the_connection() -> None:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not a local address here")
    async with serve_http() as (origin, seen), DefaultAsyncHttpxClient(local_address="127.0.0.2") as client:
        await client.get(origin + "/from")
    assert seen.peers[0][0] == "127.0.0.2"


@pytest.mark.parametrize("retries", [0, 2])
async def test_retries_reconnects_on_connect_errors(retries: int) -> None:
    events: List[str] = []

    async def trace(name: str, info: Dict[str, Any]) -> None:  # noqa: ARG001
        events.append(name)

    async with DefaultAsyncHttpxClient(retries=retries) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{free_port()}/", extensions={"trace": trace})
    assert events.count("connection.connect_tcp.started") == retries + 1
    assert events.count("connection.retry.started") == retries


async def test_socket_options_are_set_on_the_socket() -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for given, expected in ((options, 1), (None, 0)):
        async with (
            serve_http() as (origin, _),
            DefaultAsyncHttpxClient(socket_options=given) as client,
            client.stream("GET", origin + "/sock") as response,
        ):
            sock = response.extensions["network_stream"].get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == expected


async def test_limits_cap_the_pool() -> None:
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=2)
    client = DefaultAsyncHttpxClient(limits=limits)
    transport = client._transport_for_url(httpx.URL("http://127.0.0.1/"))
    assert isinstance(transport, Httpcore2Transport)
    assert transport.pool._max_connections == 3
    assert transport.pool._max_keepalive_connections == 2
    await client.aclose()


# ---------------------------------------------------------------- exceptions

EXCEPTIONS: List[tuple[Type[Exception], Type[httpx.HTTPError]]] = [
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore2.ProtocolError, httpx.ProtocolError),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
]


@pytest.mark.parametrize(("raised", "expected"), EXCEPTIONS)
def test_httpcore2_exceptions_map_to_httpx_classes(raised: Type[Exception], expected: Type[httpx.HTTPError]) -> None:
    mapped = map_exception(raised("boom"))
    assert type(mapped) is expected
    assert str(mapped) == "boom"


def test_subclass_of_an_httpcore2_exception_maps_to_the_most_specific_class() -> None:
    class Custom(httpcore2.ReadTimeout):
        pass

    assert type(map_exception(Custom("x"))) is httpx.ReadTimeout
    assert map_exception(ValueError("not ours")) is None


async def test_refused_connection_raises_httpx_connect_error() -> None:
    async with DefaultAsyncHttpxClient() as client:
        with pytest.raises(httpx.ConnectError) as info:
            await client.get(f"http://127.0.0.1:{free_port()}/")
    assert isinstance(info.value.__cause__, httpcore2.ConnectError)
    assert info.value.request.url.path == "/"


async def test_body_cut_short_raises_httpx_remote_protocol_error() -> None:
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + json.dumps({"a": 1}).encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with DefaultAsyncHttpxClient() as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(f"http://127.0.0.1:{port}/short")
    finally:
        server.close()
        await server.wait_closed()


async def test_sdk_maps_transport_failures_to_api_connection_error() -> None:
    async with AsyncMicroDC(api_key="k", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get("/x", cast_to=object)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_import_microdc_loads_neither_httpcore2_nor_asyncio() -> None:
    code = "import sys, microdc; print(sorted(m for m in ('httpcore2', 'asyncio', 'h2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
