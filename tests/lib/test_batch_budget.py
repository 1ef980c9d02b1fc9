"""A batch's cost limit is never passed, whatever the inputs look like (property-based, in-process fake)."""

from __future__ import annotations

import math
import asyncio
from typing import Any, Dict, List

from hypothesis import HealthCheck, given, settings, strategies as st

from microdc.testing import FakeMicroDC
from microdc.lib.retry import disable_retry_delays

from .test_cost import _jobs  # one-letter words, long words, CJK, emoji, chat histories, documents


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    jobs=st.lists(_jobs, min_size=1, max_size=8),
    fraction=st.floats(min_value=0.0, max_value=1.2),
    concurrency=st.integers(min_value=1, max_value=4),
    wait=st.booleans(),
)
def test_a_batch_never_spends_past_its_cost_limit(
    jobs: List[Dict[str, Any]], fraction: float, concurrency: int, wait: bool
) -> None:
    async def run() -> None:
        fake = FakeMicroDC(job_duration=0, seed=3)
        async with fake.client() as client:
            inputs: List[Dict[str, Any]] = []
            worst = 0.0
            for job in jobs:
                params = dict(job)
                upload = params.pop("upload", None)
                if isinstance(upload, str):
                    uploaded = await client.files.upload(file=("doc.txt", upload.encode()), purpose="document")
                    params["file_tokens"] = [uploaded.token]
                worst += (await client.jobs.estimate_cost(params)).worst_case_usd
                inputs.append(params)
            limit = worst * fraction
            result = await client.jobs.submit_many(
                inputs, cost_limit_usd=limit, concurrency=concurrency, wait=wait, poll_interval=0.01
            )
            if wait:  # what the finished jobs cost, by the SDK's count
                assert result.spent_usd <= limit
            views: List[Dict[str, Any]] = []
            for _ in range(1000):  # let every job the server has end, then add up what it charged
                views = list(fake.jobs.values())
                if all(view["status"] in ("completed", "failed", "cancelled") for view in views):
                    break
                await asyncio.sleep(0)
            charged = math.fsum(view["usage"]["cost_usd"] for view in views if view["usage"])
            assert charged <= limit, (charged, limit)
            ran = [item for item in result if item.status != "skipped_budget"]
            assert len(views) == len(ran)
            if fraction >= 1.01:  # everything fits at its worst: nothing is skipped
                assert len(ran) == len(inputs)

    with disable_retry_delays():
        asyncio.run(run())
