"""Files: upload, a document job over it, a download token, and a download without the API key.

uv run python examples/files.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx

from _connect import connect


async def main() -> None:
    async with connect() as client:
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "report.txt"
            source.write_text("Quarterly report\nRevenue grew.\n")

            file = await client.files.upload(file=source)  # streamed from disk
            print(f"uploaded {file.filename}: {file.bytes} bytes, sha256 {file.sha256[:12]}...")

            job = await client.jobs.create_and_wait(
                type="document", model="doc-1", file_tokens=[file.token], instruction="Extract the text"
            )
            print(f"document job {job.id}: {job.status}")

            token = await client.files.create_download_token(file.id, expires_in=600)
            print(f"download token for {token.file_id} expires at {token.expires_at}")

            # The token alone is enough: a plain httpx client with no API key.
            async with httpx.AsyncClient() as anonymous:
                response = await anonymous.get(token.url)
                print(f"downloaded with the token only: HTTP {response.status_code}, {len(response.content)} bytes")

            content = await client.files.content(file.id, token=token.token)
            target = Path(tmp) / "copy.txt"
            await content.write_to_file(target)
            print(f"written to {target.name}: {target.read_text() == source.read_text()}")

            deleted = await client.files.delete(file.id)
            print(f"deleted {deleted.id}: {deleted.deleted}")


if __name__ == "__main__":
    asyncio.run(main())
