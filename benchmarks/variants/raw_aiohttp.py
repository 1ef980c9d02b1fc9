"""Raw aiohttp: ``aiohttp.ClientSession`` + ``Job.model_validate(await resp.json())``."""

from __future__ import annotations

from typing import Any, Dict, Optional

import aiohttp

from .base import API_KEY, Variant, SSELines
from ..models import CREATE_BODY, Job


class RawAiohttp(Variant):
    def __init__(self) -> None:
        self.session: Optional[aiohttp.ClientSession] = None

    async def open(self, base_url: str) -> None:
        # aiohttp's defaults (100 connections), as a user would have them.
        self.session = aiohttp.ClientSession(
            base_url=base_url,
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=aiohttp.ClientTimeout(total=60.0),
        )

    def _session(self) -> aiohttp.ClientSession:
        assert self.session is not None
        return self.session

    async def get(self, job_id: str) -> Job:
        async with self._session().get(f"/api/v1/jobs/{job_id}") as resp:
            resp.raise_for_status()
            return Job.model_validate(await resp.json())

    async def create(self) -> Job:
        async with self._session().post("/api/v1/jobs/submit", json=CREATE_BODY) as resp:
            resp.raise_for_status()
            return Job.model_validate(await resp.json())

    async def paginate(self, limit: int, max_items: int) -> int:
        session = self._session()
        params: Dict[str, Any] = {"limit": limit}
        seen = 0
        while seen < max_items:
            async with session.get("/api/v1/jobs", params=params) as resp:
                resp.raise_for_status()
                body = await resp.json()
            jobs = [Job.model_validate(item) for item in body["data"]]
            seen += len(jobs)
            if not body["has_more"]:
                break
            params = {"limit": limit, "after": body["next_cursor"]}
        return seen

    async def stream(self, job_id: str) -> int:
        count = 0
        parser = SSELines()
        async with self._session().get(f"/api/v1/jobs/{job_id}/events") as resp:
            resp.raise_for_status()
            async for raw in resp.content:
                count += parser.parse(raw.decode().rstrip("\r\n"))
        return count

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
