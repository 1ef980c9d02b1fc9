"""What the conversation and budget tests share: the fake served on loopback, and a way to wait for it."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Callable, AsyncIterator
from dataclasses import dataclass

import anyio
import anyio.lowlevel

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC
from microdc.lib.retry import disable_retry_delays

SUBMIT = "/api/v1/jobs/submit"
EVENTS = ["/api/v1/jobs/*/events"]


@dataclass
class Served:
    fake: FakeMicroDC
    client: AsyncMicroDC

    def submissions(self) -> List[Dict[str, Any]]:
        """The bodies of every job submitted, in order."""
        return [json.loads(r.body) for r in self.fake.requests if r.method == "POST" and r.path == SUBMIT]

    def count(self, method: str, suffix: str = "") -> int:
        return sum(1 for r in self.fake.requests if r.method == method and r.path.endswith(suffix))


async def serve(fake: FakeMicroDC) -> AsyncIterator[Served]:
    """``fake`` on a loopback port, a client for it, and instant retry delays."""
    with disable_retry_delays():
        async with fake.serve(port=0) as base_url, AsyncMicroDC(api_key="test", base_url=base_url) as client:
            yield Served(fake, client)


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run (I/O included) until ``condition()`` holds; at most 10 s."""
    with anyio.fail_after(10):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def advance_when_streaming(served: Served, seconds: float) -> None:
    """Once the first event stream is open, move the fake's manual clock forward."""
    await until(lambda: served.count("GET", "/events") == 1)
    served.fake.advance(seconds)
