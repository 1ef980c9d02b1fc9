"""The structured-output tests run against the fake served on a loopback socket, over each transport."""

from __future__ import annotations

import json
from typing import Any, Dict, List, AsyncIterator

import pytest

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC
from microdc.lib.retry import disable_retry_delays

from ..._transports import transport, served_client

__all__ = ["submissions", "transport"]

SUBMIT = "/api/v1/jobs/submit"


@pytest.fixture
def fake() -> FakeMicroDC:
    """Jobs end the moment they are submitted; set ``fake.faults`` to spoil replies."""
    return FakeMicroDC(job_duration=0, seed=21)


@pytest.fixture
async def client(fake: FakeMicroDC, transport: str) -> AsyncIterator[AsyncMicroDC]:
    """A client of ``fake`` over loopback, through ``transport``, with instant retry delays."""
    with disable_retry_delays():
        async with served_client(fake, transport) as client:
            yield client


def submissions(fake: FakeMicroDC) -> List[Dict[str, Any]]:
    """The body of every job submission the fake received, in order."""
    return [json.loads(r.body) for r in fake.requests if r.method == "POST" and r.path == SUBMIT]
