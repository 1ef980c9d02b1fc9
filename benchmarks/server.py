"""A small, fast loopback MicroDC server for the benchmarks (raw asyncio protocol).

Run as ``python -m benchmarks.server [--port 0]``: it binds 127.0.0.1, prints
``LISTENING <port>`` on stdout once it accepts connections, and serves until
SIGTERM/SIGINT, until its parent process goes away, or ``--max-seconds`` pass.

Routes (HTTP/1.1, keep-alive; every answer carries ``x-request-id``):

* ``GET  /api/v1/jobs/{id}``        a completed llm_chat Job (same bytes every time)
* ``POST /api/v1/jobs/submit``      201 and a queued Job
* ``GET  /api/v1/jobs?limit&after`` cursor pages over 10,000 jobs, newest first
* ``GET  /api/v1/jobs/{id}/events`` SSE: N ``job.output.delta`` events, then
  ``job.completed`` with the Job; N comes from an id ``job_sse_<N>`` (else 100)
* ``GET  /__bench/stats``           connections accepted and requests answered so far

It does as little per request as possible (bodies are cached bytes), so the
client under test, not the server, is what the numbers describe.
"""

from __future__ import annotations

import os
import sys
import signal
import asyncio
import argparse
import contextlib
from typing import Dict, List, Tuple, Optional
from urllib.parse import parse_qs

from . import payloads

_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024
_MAX_SSE_EVENTS = 1_000_000
_PAGE_CACHE_MAX = 4096
_SSE_PREBUILT = (100, 200, 500, 2_000, 10_000)  # the runner's stream sizes, built before serving
_REASONS = {200: b"OK", 201: b"Created", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed"}
_JOBS = b"/api/v1/jobs"
_JOBS_SLASH = b"/api/v1/jobs/"
_SUBMIT = b"/api/v1/jobs/submit"
_EVENTS = b"/events"
_STATS = b"/__bench/stats"  # for the harness: connections accepted and requests answered so far


def _error(code: str, message: str) -> bytes:
    return payloads.dumps({"error": {"type": "invalid_request_error", "code": code, "message": message, "param": None}})


class App:
    """Routing and cached bodies, shared by every connection."""

    def __init__(self, list_size: int = payloads.LIST_SIZE) -> None:
        self.request_count = 0
        self.connection_count = 0
        self.job_body = payloads.completed_job_bytes()
        self.created_body = payloads.queued_job_bytes()
        self.jobs = payloads.list_jobs(list_size)
        self.index_of = {j["id"]: i for i, j in enumerate(self.jobs)}
        self._pages: Dict[Tuple[int, int], bytes] = {}
        self._sse: Dict[int, bytes] = {}
        for count in _SSE_PREBUILT:
            self.sse_body(count)

    def head(self, status: int, content_type: bytes, length: int) -> bytes:
        self.request_count += 1
        return b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nx-request-id: req_%012d\r\n\r\n" % (
            status,
            _REASONS.get(status, b"OK"),
            content_type,
            length,
            self.request_count,
        )

    def json(self, status: int, body: bytes) -> List[bytes]:
        return [self.head(status, b"application/json", len(body)), body]

    def respond(self, method: bytes, target: bytes) -> List[bytes]:
        path, _, query = target.partition(b"?")
        if method == b"GET":
            if path == _JOBS:
                return self.list_page(query)
            if path.startswith(_JOBS_SLASH):
                rest = path[len(_JOBS_SLASH) :]
                if rest.endswith(_EVENTS) and rest.count(b"/") == 1:
                    return self.events(rest[: -len(_EVENTS)].decode("ascii", "replace"))
                if rest and b"/" not in rest:
                    return self.json(200, self.job_body)
            if path == _STATS:
                stats = {"connections": self.connection_count, "requests": self.request_count}
                return self.json(200, payloads.dumps(stats))
        elif method == b"POST" and path == _SUBMIT:
            return self.json(201, self.created_body)
        return self.json(404, _error("not_found", f"No route for {method.decode()} {path.decode('latin-1')}"))

    def list_page(self, query: bytes) -> List[bytes]:
        params = parse_qs(query.decode("latin-1"))
        try:
            limit = int(params.get("limit", ["20"])[0])
        except ValueError:
            return self.json(400, _error("invalid_limit", "limit must be an integer"))
        if not 1 <= limit <= 100:
            return self.json(400, _error("invalid_limit", "limit must be between 1 and 100"))
        start = 0
        after = params.get("after", [""])[0]
        if after:
            pos = self.index_of.get(after)
            if pos is None:
                return self.json(400, _error("invalid_cursor", f"Unknown cursor {after!r}"))
            start = pos + 1
        key = (start, limit)
        body = self._pages.get(key)
        if body is None:
            if len(self._pages) >= _PAGE_CACHE_MAX:
                self._pages.clear()
            data = self.jobs[start : start + limit]
            body = self._pages[key] = payloads.page_bytes(data, has_more=start + limit < len(self.jobs))
        return self.json(200, body)

    def events(self, job_id: str) -> List[bytes]:
        count = 100
        if job_id.startswith("job_sse_") and job_id[8:].isdigit():
            count = min(int(job_id[8:]), _MAX_SSE_EVENTS)
        body = self.sse_body(count)
        self.request_count += 1
        head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\nx-request-id: req_%012d\r\n\r\n" % self.request_count
        )
        return [head, body]

    def sse_body(self, count: int) -> bytes:
        """The chunked body of a stream of ``count`` deltas (cached; the job id is the one that names it)."""
        body = self._sse.get(count)
        if body is None:
            framed: List[bytes] = []
            for chunk in payloads.sse_body_chunks(f"job_sse_{count}", count):
                framed.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            framed.append(b"0\r\n\r\n")
            body = self._sse[count] = b"".join(framed)
        return body


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and Content-Length request bodies; enough for the clients under test."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.app.connection_count += 1

    def connection_lost(self, exc: Optional[Exception]) -> None:  # noqa: ARG002
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while self.transport is not None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    self.transport.close()
                return
            head = bytes(buf[:end])
            lower = head.lower()
            length = 0
            i = lower.find(b"\r\ncontent-length:")
            if i >= 0:
                j = lower.find(b"\r\n", i + 2)
                try:
                    length = int(head[i + 17 : j if j >= 0 else len(head)])
                except ValueError:
                    length = -1
            if not 0 <= length <= _MAX_BODY:
                self.transport.close()
                return
            total = end + 4 + length
            if len(buf) < total:
                return
            del buf[:total]
            line = head.split(b"\r\n", 1)[0].split(b" ")
            if len(line) != 3:
                self.transport.close()
                return
            self.transport.writelines(self.app.respond(line[0], line[1]))
            if b"\r\nconnection: close" in lower:
                self.transport.close()
                return


async def serve(host: str, port: int, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    app = App()
    server = await loop.create_server(lambda: HttpProtocol(app), host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"LISTENING {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    deadline = loop.time() + max_seconds
    # Bounded: ends on a signal, when the parent is gone, or at the deadline.
    while not stop.is_set() and loop.time() < deadline and os.getppid() == parent:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    # Not wait_closed(): since 3.12 it waits for clients' keep-alive connections.
    server.close()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="A small, fast loopback MicroDC server for the benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("benchmarks.server only binds loopback addresses")
    asyncio.run(serve(args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
