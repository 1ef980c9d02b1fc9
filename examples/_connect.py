"""Shared by the examples: a client for MICRODC_BASE_URL, or for an embedded fake MicroDC.

With ``MICRODC_BASE_URL`` (and ``MICRODC_API_KEY``) set, the examples talk to that
service. Without it they start ``microdc.testing.FakeMicroDC`` on a loopback port
(``pip install 'microdc[testing]'``) and talk to it over real HTTP.
"""

from __future__ import annotations

import os
import contextlib
from typing import AsyncIterator

from microdc import AsyncMicroDC


@contextlib.asynccontextmanager
async def connect() -> AsyncIterator[AsyncMicroDC]:
    if os.environ.get("MICRODC_BASE_URL"):
        async with AsyncMicroDC() as client:
            yield client
        return

    from microdc.testing import FakeMicroDC

    fake = FakeMicroDC(api_key="example-key", job_duration=0.5, seed=7)
    async with fake.serve(port=0) as base_url:
        print(f"(no MICRODC_BASE_URL: using an embedded fake MicroDC at {base_url})")
        async with AsyncMicroDC(api_key="example-key", base_url=base_url) as client:
            yield client
