"""Raw responses: headers, the request id, retries taken and timing, then the parsed object.

uv run python examples/raw_response.py
"""

from __future__ import annotations

import asyncio

from _connect import connect


async def main() -> None:
    async with connect() as client:
        raw = await client.jobs.with_raw_response.create(type="llm_complete", model="echo-1", prompt="hi")
        print(f"HTTP {raw.status_code}, x-request-id {raw.request_id}, retries taken {raw.retries_taken}")
        job = await raw.parse()
        print(f"created {job.id}; the parsed object knows its request id too: {job._request_id}")

        raw_status = await client.with_raw_response.jobs.retrieve_status(job.id)
        print(f"status call took {raw_status.elapsed.total_seconds() * 1000:.1f} ms")
        print(f"content-type: {raw_status.headers['content-type']}")
        print(f"status: {(await raw_status.parse()).status}")

        async with client.jobs.with_streaming_response.retrieve(job.id) as response:
            body = await response.read()
            print(f"streamed {len(body)} bytes of JSON before parsing")


if __name__ == "__main__":
    asyncio.run(main())
