"""``Telemetry``'s OpenTelemetry metrics, read back through the SDK's in-memory metric reader, against
microdc.testing over loopback on both transports, in virtual time."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from microdc import JobFailedError, APIConnectionError, InternalServerError
from microdc.testing import Faults
from microdc.lib.otel import Telemetry
from microdc.lib.otel._semconv import TOKEN_BUCKETS, HTTP_DURATION_BUCKETS, GENAI_DURATION_BUCKETS

from ._served import Otel, otel, served, sum_points, histogram_points
from .._transports import transport

__all__ = ["otel", "transport"]  # fixtures, imported for pytest


def telemetry(otel: Otel) -> Telemetry:
    return Telemetry(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)


async def test_each_attempt_is_an_http_client_request_duration(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        s.fake.faults = Faults(seed=3, error_rate=1.0, paths=["/api/v1/models"])
        with pytest.raises(InternalServerError):
            await s.client.models.list()  # 1 + 3 retries (the default), every one a 5xx
        s.fake.faults = Faults()
        await s.client.models.list()
        port = int(str(s.client.base_url.port))

    metric = otel.metric("http.client.request.duration")
    assert metric.unit == "s"
    points = histogram_points(otel, "http.client.request.duration")
    by_status: Dict[Any, int] = {}
    for point in points:
        attrs = dict(point.attributes or {})
        assert tuple(point.explicit_bounds) == HTTP_DURATION_BUCKETS
        assert attrs["http.request.method"] == "GET"
        assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", port)
        status = attrs["http.response.status_code"]
        assert isinstance(status, int)
        if status >= 400:
            assert attrs["error.type"] == str(status)
        else:
            assert "error.type" not in attrs
        by_status[status] = by_status.get(status, 0) + point.count
    assert by_status[200] == 1
    assert sum(count for status, count in by_status.items() if status >= 500) == 4
    assert all(point.sum >= 0 for point in points)


async def test_an_attempt_without_an_answer_is_recorded_with_its_error_type(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        s.fake.faults = Faults(seed=3, reset_rate=1.0, paths=["/api/v1/models"])
        with pytest.raises(APIConnectionError):
            await s.client.models.list()

    points = histogram_points(otel, "http.client.request.duration")
    (point,) = points
    attrs = dict(point.attributes or {})
    assert attrs["error.type"] == "microdc.APIConnectionError"
    assert "http.response.status_code" not in attrs
    assert point.count == 4  # each attempt (1 + 3 retries), none answered


async def test_operations_record_their_duration_and_token_usage(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        await s.client.jobs.ask("one", model="echo-1")
        conv = s.client.jobs.conversation("echo-1")
        await conv.send("two")
        charged = [job["usage"] for job in s.fake.jobs.values()]

    duration = otel.metric("gen_ai.client.operation.duration")
    assert duration.unit == "s"
    operations: List[str] = []
    for point in histogram_points(otel, "gen_ai.client.operation.duration"):
        attrs = dict(point.attributes or {})
        assert tuple(point.explicit_bounds) == GENAI_DURATION_BUCKETS
        assert attrs["gen_ai.provider.name"] == "microdc"
        assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == "echo-1"
        assert attrs["server.address"] == "127.0.0.1"
        assert "error.type" not in attrs
        assert point.sum > 0  # virtual seconds: the jobs ran for the fake's job_duration
        operations.extend([str(attrs["gen_ai.operation.name"])] * point.count)
    assert sorted(operations) == ["chat", "text_completion"]

    usage = otel.metric("gen_ai.client.token.usage")
    assert usage.unit == "{token}"
    totals = {"input": 0, "output": 0}
    for point in histogram_points(otel, "gen_ai.client.token.usage"):
        attrs = dict(point.attributes or {})
        assert tuple(point.explicit_bounds) == tuple(float(b) for b in TOKEN_BUCKETS)
        totals[str(attrs["gen_ai.token.type"])] += int(point.sum)
    assert totals == {
        "input": sum(u["input_tokens"] for u in charged),
        "output": sum(u["output_tokens"] for u in charged),
    }


async def test_a_failed_operation_records_its_error_type(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        with pytest.raises(JobFailedError, match=r"model_error"):
            await s.client.jobs.ask("[fail] me", model="echo-1")

    (point,) = histogram_points(otel, "gen_ai.client.operation.duration")
    assert dict(point.attributes or {})["error.type"] == "model_error"


async def test_job_cost_counts_every_terminal_job_seen_once(otel: Otel, transport: str) -> None:
    async with served(transport, telemetry(otel)) as s:
        ids = [
            (await s.client.jobs.create(type="llm_complete", model="echo-1", prompt=f"job {i}")).id for i in range(2)
        ]
        ids.append((await s.client.jobs.create(type="llm_embed", model="embed-1", texts=["x"])).id)
        seen = [job.id async for job in s.client.jobs.as_completed(ids)]  # seen on list pages
        for job_id in ids:  # and again, one by one: not counted twice
            await s.client.jobs.retrieve(job_id)
        charged: Dict[str, float] = {}
        for job in s.fake.jobs.values():
            charged[job["model"]] = charged.get(job["model"], 0.0) + job["usage"]["cost_usd"]

    assert sorted(seen) == sorted(ids)
    metric = otel.metric("microdc.job.cost")
    assert metric.unit == "USD"
    points = sum_points(otel, "microdc.job.cost")
    by_model = {dict(p.attributes or {})["gen_ai.request.model"]: p.value for p in points}
    assert by_model == pytest.approx(charged)
    types = {str(dict(p.attributes or {})["microdc.job.type"]) for p in points}
    assert types == {"llm_complete", "llm_embed"}
