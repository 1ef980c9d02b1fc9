"""Raw httpx: ``httpx.AsyncClient`` + ``Job.model_validate(resp.json())`` (the baseline)."""

from __future__ import annotations

from typing import Any, Dict, Optional

import httpx

from .base import API_KEY, Variant, SSELines
from ..models import CREATE_BODY, Job


class RawHttpx(Variant):
    def __init__(self) -> None:
        self.client: Optional[httpx.AsyncClient] = None

    async def open(self, base_url: str) -> None:
        # httpx's defaults (100 connections, 20 kept alive), as a user would have them.
        self.client = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60.0)

    def _client(self) -> httpx.AsyncClient:
        assert self.client is not None
        return self.client

    async def get(self, job_id: str) -> Job:
        resp = await self._client().get(f"/api/v1/jobs/{job_id}")
        resp.raise_for_status()
        return Job.model_validate(resp.json())

    async def create(self) -> Job:
        resp = await self._client().post("/api/v1/jobs/submit", json=CREATE_BODY)
        resp.raise_for_status()
        return Job.model_validate(resp.json())

    async def paginate(self, limit: int, max_items: int) -> int:
        client = self._client()
        params: Dict[str, Any] = {"limit": limit}
        seen = 0
        while seen < max_items:
            resp = await client.get("/api/v1/jobs", params=params)
            resp.raise_for_status()
            body = resp.json()
            jobs = [Job.model_validate(item) for item in body["data"]]
            seen += len(jobs)
            if not body["has_more"]:
                break
            params = {"limit": limit, "after": body["next_cursor"]}
        return seen

    async def stream(self, job_id: str) -> int:
        count = 0
        parser = SSELines()
        async with self._client().stream("GET", f"/api/v1/jobs/{job_id}/events") as resp:
            resp.raise_for_status()
            async for line in resp.aiter_lines():
                count += parser.parse(line)
        return count

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
