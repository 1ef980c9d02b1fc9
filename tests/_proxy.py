"""A small forward proxy on 127.0.0.1 for transport tests: HTTP forwarding and CONNECT tunnels.

``async with serve_proxy() as (url, seen):`` yields the proxy's URL and a
:class:`ProxySeen` listing each request it handled (``"GET http://127.0.0.1:8000/x"``
or ``"CONNECT 127.0.0.1:8443"``) with its headers. It forwards only to 127.0.0.1 and
``localhost`` (anything else gets a 403), so a test can never reach past the loopback
interface through it. Every connection, tunnel and upstream socket is closed when
the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from typing import Set, Dict, List, Tuple, Optional, AsyncGenerator
from dataclasses import field, dataclass

__all__ = ["ProxySeen", "serve_proxy"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost"})
_MAX_HEAD = 64 * 1024


@dataclass
class ProxySeen:
    """What the proxy handled: ``"METHOD target"`` per request, and each request's headers (names lower-cased)."""

    requests: List[str] = field(default_factory=lambda: [])
    headers: List[Dict[str, str]] = field(default_factory=lambda: [])


async def _read_head(reader: asyncio.StreamReader) -> Optional[Tuple[str, Dict[str, str], bytes]]:
    """A request or response head: its first line, its headers, and the raw bytes."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    return lines[0], headers, raw


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.write_eof()


class _Proxy:
    def __init__(self) -> None:
        self.seen = ProxySeen()
        self.writers: Set[asyncio.StreamWriter] = set()

    async def _open(self, port: int) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.writers.add(writer)
        return reader, writer

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while (head := await _read_head(reader)) is not None:
                line, headers, _ = head
                method, target, _ = line.split(" ", 2)
                self.seen.requests.append(f"{method} {target}")
                self.seen.headers.append(headers)
                if method == "CONNECT":
                    await self._tunnel(target, reader, writer)
                    return
                if not await self._forward(method, target, headers, reader, writer):
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _tunnel(self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, _, port = target.rpartition(":")
        if host not in _LOOPBACK:
            writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            return
        up_reader, up_writer = await self._open(int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _forward(
        self,
        method: str,
        target: str,
        headers: Dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Send one absolute-form request on to its origin and relay the answer; True: keep the connection."""
        url = urllib.parse.urlsplit(target)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if url.hostname not in _LOOPBACK or url.port is None:
            writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            return True
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        kept = {name: value for name, value in headers.items() if not name.startswith("proxy-")}
        kept.update({"connection": "close", "via": "1.1 test-proxy"})
        up_reader, up_writer = await self._open(url.port)
        try:
            lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in kept.items())]
            up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await up_writer.drain()
            answer = await _read_head(up_reader)
            if answer is None:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                return False
            _, answer_headers, raw = answer
            writer.write(raw)
            length = answer_headers.get("content-length")
            if length is None:  # delimited by the end of the connection
                await _pipe(up_reader, writer)
                return False
            writer.write(await up_reader.readexactly(int(length)))
            await writer.drain()
            return True
        finally:
            up_writer.close()


@contextlib.asynccontextmanager
async def serve_proxy() -> AsyncGenerator[Tuple[str, ProxySeen], None]:
    """A forward proxy on 127.0.0.1: yields its URL and what it handled."""
    proxy = _Proxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, limit=_MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", proxy.seen
    finally:
        server.close()
        for writer in list(proxy.writers):
            writer.close()
        for writer in list(proxy.writers):
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        await server.wait_closed()
