"""``fake.serve()`` on a loopback socket, and ``python -m microdc.testing`` as a process."""

from __future__ import annotations

import os
import sys
import signal
import asyncio
from typing import List

import httpx
import pytest

from microdc.testing import FakeMicroDC

from .conftest import AUTH


async def test_serve_listens_on_a_free_loopback_port_and_stops(fake: FakeMicroDC) -> None:
    before = len(asyncio.all_tasks())

    async with fake.serve() as base_url:
        host, _, port = base_url.removeprefix("http://").partition(":")
        assert host == "127.0.0.1"
        assert int(port) > 0
        async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as http:
            response = await http.get("/api/v1/models")
            assert response.status_code == 200
            assert response.headers["x-request-id"].startswith("req_")

    assert len(asyncio.all_tasks()) == before
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{base_url}/api/v1/models")


async def test_serve_ends_open_event_streams_when_it_stops(fake: FakeMicroDC) -> None:
    async with httpx.AsyncClient(headers=AUTH, timeout=5) as http:
        async with fake.serve() as base_url:
            created = (
                await http.post(
                    f"{base_url}/api/v1/jobs/submit", json={"type": "llm_complete", "model": "echo-1", "prompt": "x"}
                )
            ).json()
            received: List[bytes] = []

            async def follow() -> None:
                async with http.stream("GET", f"{base_url}/api/v1/jobs/{created['id']}/events") as response:
                    async for chunk in response.aiter_bytes():
                        received.append(chunk)

            reader = asyncio.ensure_future(follow())
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.01)
        await asyncio.wait_for(reader, 5)

    assert b"job.status" in b"".join(received)
    assert b"job.completed" not in b"".join(received)


async def test_two_servers_of_one_fake_share_its_state(fake: FakeMicroDC) -> None:
    async with fake.serve() as first_url, fake.serve() as second_url:
        assert first_url != second_url
        async with httpx.AsyncClient(headers=AUTH) as http:
            created = await http.post(
                f"{first_url}/api/v1/jobs/submit", json={"type": "llm_complete", "model": "echo-1", "prompt": "x"}
            )
            seen = await http.get(f"{second_url}/api/v1/jobs/{created.json()['id']}")

    assert seen.status_code == 200
    assert seen.json()["id"] == created.json()["id"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_python_m_microdc_testing_serves_until_signalled(signum: int) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "microdc.testing",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--api-key",
        "cli-key",
        "--job-duration",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        base_url = line.decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": "Bearer cli-key"}) as http:
            job = (
                await http.post("/api/v1/jobs/submit", json={"type": "llm_complete", "model": "echo-1", "prompt": "hi"})
            ).json()
            done = (await http.get(f"/api/v1/jobs/{job['id']}")).json()
            unauthorized = await http.get("/api/v1/models", headers={"Authorization": "Bearer test"})
        assert done["status"] == "completed"
        assert done["result"]["text"] == "echo: hi"
        assert unauthorized.status_code == 401

        os.kill(process.pid, signum)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()

    assert process.returncode == 0, stderr.decode()
