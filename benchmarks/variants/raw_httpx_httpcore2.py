"""Raw httpx over httpcore2: the ``raw_httpx`` loop on ``httpx.AsyncClient(transport=...)`` with the
SDK's :class:`~microdc._transport.Httpcore2Transport`, so the transport's own cost is visible apart
from the SDK's (compare with ``raw_httpx``, on httpx's own httpcore 1.0 transport)."""

from __future__ import annotations

import httpx

from .base import API_KEY
from .raw_httpx import RawHttpx


class RawHttpxHttpcore2(RawHttpx):
    async def open(self, base_url: str) -> None:
        from microdc._transport import Httpcore2Transport

        # httpx's default limits (100 connections, 20 kept alive), as in raw_httpx.
        transport = Httpcore2Transport(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        self.client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60.0, transport=transport
        )
