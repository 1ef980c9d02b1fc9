"""The microdc SDK through its public API, on its default httpx client or on aiohttp.

Written against PRODUCT.md section 2 only; while the SDK (or one of these methods)
is not there yet, :meth:`MicroDC.open` raises :class:`Unavailable` and the runner
reports the variant as unavailable.
"""

from __future__ import annotations

from typing import Any, Optional

from .base import API_KEY, Variant, Unavailable
from ..models import CREATE_BODY

_NEEDED = ("retrieve", "create", "list", "events")


class MicroDC(Variant):
    def __init__(self, *, aiohttp: bool = False) -> None:
        self.use_aiohttp = aiohttp
        self.client: Any = None
        self.http_client: Any = None

    async def open(self, base_url: str) -> None:
        try:
            import microdc
        except ImportError as exc:
            raise Unavailable(f"import microdc failed: {exc}") from exc
        if not hasattr(microdc, "AsyncMicroDC"):
            raise Unavailable("microdc.AsyncMicroDC is missing")
        if self.use_aiohttp:
            factory = getattr(microdc, "DefaultAioHttpClient", None)
            if factory is None:
                raise Unavailable("microdc.DefaultAioHttpClient is missing")
            try:
                self.http_client = factory()
            except (ImportError, RuntimeError) as exc:
                raise Unavailable(f"DefaultAioHttpClient(): {exc}") from exc
        self.client = microdc.AsyncMicroDC(api_key=API_KEY, base_url=base_url, http_client=self.http_client)
        jobs = getattr(self.client, "jobs", None)
        if jobs is None:
            raise Unavailable("AsyncMicroDC has no `jobs` resource yet")
        missing = [name for name in _NEEDED if not hasattr(jobs, name)]
        if missing:
            raise Unavailable(f"client.jobs lacks {', '.join(missing)}")

    async def get(self, job_id: str) -> Any:
        return await self.client.jobs.retrieve(job_id)

    async def create(self) -> Any:
        return await self.client.jobs.create(
            type=CREATE_BODY["type"], model=CREATE_BODY["model"], messages=CREATE_BODY["messages"]
        )

    async def paginate(self, limit: int, max_items: int) -> int:
        seen = 0
        async for _job in self.client.jobs.list(limit=limit):
            seen += 1
            if seen >= max_items:
                break
        return seen

    async def stream(self, job_id: str) -> int:
        count = 0
        async for _event in await self.client.jobs.events(job_id):
            count += 1
        return count

    async def close(self) -> None:
        client: Optional[Any] = self.client
        if client is not None:
            await client.close()
        if self.http_client is not None:
            await self.http_client.aclose()


class MicroDCAiohttp(MicroDC):
    def __init__(self) -> None:
        super().__init__(aiohttp=True)
