"""Shared by the examples: a client for MICRODC_BASE_URL, or for an embedded fake MicroDC.

With ``MICRODC_BASE_URL`` (and ``MICRODC_API_KEY``) set, the examples talk to that
service. Without it they start ``microdc.testing.FakeMicroDC`` on a loopback port
(``pip install 'microdc[testing]'``) and talk to it over real HTTP.
"""

from __future__ import annotations

import os
import contextlib
from typing import Any, Dict, AsyncGenerator

from microdc import AsyncMicroDC


@contextlib.asynccontextmanager
async def service() -> AsyncGenerator[Dict[str, Any], None]:
    """The ``AsyncMicroDC`` arguments for the service to use: none (the environment's), or an embedded fake's."""
    if os.environ.get("MICRODC_BASE_URL"):
        yield {}
        return

    from microdc.testing import FakeMicroDC

    fake = FakeMicroDC(api_key="example-key", job_duration=0.5, seed=7)
    async with fake.serve(port=0) as base_url:
        print(f"(no MICRODC_BASE_URL: using an embedded fake MicroDC at {base_url})")
        yield {"api_key": "example-key", "base_url": base_url}


@contextlib.asynccontextmanager
async def connect() -> AsyncGenerator[AsyncMicroDC, None]:
    """A client for :func:`service`, closed on exit."""
    async with service() as options, AsyncMicroDC(**options) as client:
        yield client
