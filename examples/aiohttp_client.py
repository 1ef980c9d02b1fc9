"""aiohttp underneath: ``DefaultAioHttpClient``, opened and closed with the client.

uv run python examples/aiohttp_client.py      (needs ``pip install 'microdc[aiohttp]'``)

An ``http_client`` you pass is yours: ``AsyncMicroDC`` uses it as given and leaves
it open when it closes (so several clients can share it). ``async with`` both, the
HTTP client first, so each is closed once and nothing is left open ("Unclosed
client session" / "Unclosed connector" from aiohttp).
"""

from __future__ import annotations

import asyncio

from microdc import AsyncMicroDC, DefaultAioHttpClient
from _connect import service


async def main() -> None:
    async with service() as options:  # {} with MICRODC_BASE_URL set, else an embedded fake's address and key
        async with DefaultAioHttpClient() as http, AsyncMicroDC(http_client=http, **options) as client:
            models = [model.id async for model in client.models.list()]
            print(f"models over aiohttp: {', '.join(models)}")

            job = await client.jobs.create_and_wait(
                type="llm_complete", model="echo-1", prompt="Hello from aiohttp", wait_timeout=60
            )
            print(f"{job.id}: {job.status}")

            # A second client (another API key, say) can share the same connections.
            async with AsyncMicroDC(http_client=http, **options) as other:
                status = await other.jobs.retrieve_status(job.id)
                print(f"the same job through a second client: {status.status}")
            print(f"after the second client closed, the HTTP client is still open: {not http.is_closed}")
        print(f"after the `async with`, it is closed: {http.is_closed}")


if __name__ == "__main__":
    asyncio.run(main())
