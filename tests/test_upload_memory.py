"""A 1 GiB upload from a path streams: it adds well under 64 MiB of memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import httpx

from microdc import AsyncMicroDC

GIB = 1024 * 1024 * 1024
LIMIT = 64 * 1024 * 1024


class _CountingSink(httpx.AsyncBaseTransport):
    """Reads each request body as it streams, keeping only its size."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            self.received += len(chunk)
        return httpx.Response(200, json={"ok": True}, request=request)


async def test_a_1_gib_path_upload_adds_under_64_mib(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    with path.open("wb") as handle:  # sparse: no disk space used
        handle.truncate(GIB)
    sink = _CountingSink()
    async with AsyncMicroDC(
        api_key="k", base_url="http://upload.test", http_client=httpx.AsyncClient(transport=sink)
    ) as client:
        tracemalloc.start()
        try:
            await client.post("/api/files/upload", cast_to=object, files={"file": path})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sink.received > GIB
    assert peak < LIMIT
