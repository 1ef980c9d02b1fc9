"""``Metrics``: after a mixed run its snapshot equals what the server saw."""

from __future__ import annotations

import re
import json
import math
from typing import Any, Dict, List, Tuple, Counter as CounterT, ClassVar, Optional, Awaitable
from collections import Counter

import httpx
import pytest

from microdc import APIError, AsyncMicroDC
from microdc.lib.metrics import Metrics

from ..conftest import API_KEY, BASE_URL

pytestmark = pytest.mark.usefixtures("no_retry_delays")


def job(job_id: str, model: str, usage: Optional[Tuple[int, int, float]]) -> Dict[str, Any]:
    return {
        "id": job_id,
        "object": "job",
        "type": "llm_complete",
        "model": model,
        "status": "completed" if usage else "queued",
        "usage": None
        if usage is None
        else {
            "input_tokens": usage[0],
            "output_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
            "cost_usd": usage[2],
        },
    }


JOBS = {
    "job_1": job("job_1", "echo-1", (10, 5, 0.0015)),
    "job_2": job("job_2", "echo-2", (3, 4, 0.0007)),
    "job_3": job("job_3", "echo-1", (1, 1, 0.0001)),
    "job_4": job("job_4", "echo-1", None),
}


class Server:
    """A ``MockTransport`` handler with a few routes, tallying every request it sees."""

    ROUTES: ClassVar[List[Tuple[str, str, str]]] = [
        ("GET", r"/api/v1/jobs", "GET /api/v1/jobs"),
        ("POST", r"/api/v1/jobs/submit", "POST /api/v1/jobs/submit"),
        ("GET", r"/api/v1/jobs/[^/]+/status", "GET /api/v1/jobs/{job_id}/status"),
        ("GET", r"/api/v1/jobs/[^/]+", "GET /api/v1/jobs/{job_id}"),
    ]

    def __init__(self) -> None:
        self.requests = 0
        self.retries = 0
        self.by_route: CounterT[str] = Counter()
        self.by_status: CounterT[int] = Counter()
        self.usage_seen: Dict[str, Dict[str, Any]] = {}
        self.submits = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.retries += request.headers["x-stainless-retry-count"] != "0"
        path = request.url.path
        route = next(
            name for method, pattern, name in self.ROUTES if method == request.method and re.fullmatch(pattern, path)
        )
        self.by_route[route] += 1
        status, body = self.answer(route, path)
        self.by_status[status] += 1
        if status < 300:
            for item in body.get("data", [body]):
                if item.get("object") == "job" and item.get("usage"):
                    self.usage_seen[item["id"]] = item
        return httpx.Response(status, json=body, headers={"x-request-id": f"req_{self.requests}"})

    def answer(self, route: str, path: str) -> Tuple[int, Dict[str, Any]]:
        job_id = path.split("/")[4] if path.count("/") >= 4 else ""
        if route == "POST /api/v1/jobs/submit":
            self.submits += 1
            return (
                (503, {"error": {"type": "server_error", "code": "busy"}})
                if self.submits == 1
                else (201, JOBS["job_2"])
            )
        if route == "GET /api/v1/jobs":
            return 200, {"object": "list", "data": [JOBS["job_1"], JOBS["job_3"], JOBS["job_4"]], "has_more": False}
        if job_id == "job_down":
            raise httpx.ConnectError("refused")
        if job_id not in JOBS:
            return 404, {"error": {"type": "not_found_error", "code": "not_found"}}
        if route.endswith("/status"):
            return 200, {"id": job_id, "object": "job.status", "status": "completed"}
        return 200, JOBS[job_id]


def client_for(server: Server, **kwargs: Any) -> AsyncMicroDC:
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return AsyncMicroDC(api_key=API_KEY, base_url=BASE_URL, http_client=http_client, **kwargs)


async def test_metrics_after_a_mixed_run_equal_what_the_server_saw() -> None:
    server, metrics = Server(), Metrics()
    errors: CounterT[str] = Counter()
    async with client_for(server, max_retries=1, hooks=metrics) as client:
        calls: List[Awaitable[object]] = [
            client.jobs.retrieve("job_1"),
            client.jobs.retrieve("job_1"),  # polled again: its usage counts once
            client.jobs.create(type="llm_complete", model="echo-2", prompt="hi"),  # 503, then 201
            client.jobs.retrieve("job_404"),  # NotFoundError
            client.jobs.retrieve("job_down"),  # connection refused twice
            client.jobs.list(),  # a page: job_1 again, job_3, and job_4 (not finished, no usage)
            client.jobs.retrieve_status("job_3"),
        ]
        for call in calls:
            try:
                await call
            except APIError as exc:
                errors[type(exc).__name__] += 1

    snap = metrics.snapshot()
    assert snap["requests"] == server.requests == 9
    assert snap["requests_by_route"] == dict(server.by_route)
    assert snap["responses_by_status"] == dict(server.by_status) == {200: 4, 503: 1, 201: 1, 404: 1}
    assert snap["retries"] == server.retries == 2
    assert snap["retries_by_reason"] == {"HTTP 503": 1, "APIConnectionError": 1}
    assert snap["errors_by_class"] == dict(errors) == {"NotFoundError": 1, "APIConnectionError": 1}
    assert snap["errors"] == 2
    latency = snap["latency"]
    assert latency["count"] == sum(server.by_status.values()) == sum(latency["buckets"].values())
    assert list(latency["buckets"])[-1] == math.inf
    assert latency["sum"] >= 0

    expected_tokens: Dict[str, Dict[str, int]] = {}
    expected_cost: Dict[str, float] = {}
    for item in server.usage_seen.values():
        tokens = expected_tokens.setdefault(item["model"], {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        for key in tokens:
            tokens[key] += item["usage"][key]
        expected_cost[item["model"]] = expected_cost.get(item["model"], 0.0) + item["usage"]["cost_usd"]
    assert snap["tokens_by_model"] == expected_tokens
    assert snap["tokens_by_model"]["echo-1"] == {"input_tokens": 11, "output_tokens": 6, "total_tokens": 17}
    assert snap["cost_usd_by_model"] == pytest.approx(expected_cost)
    json.dumps(snap)  # plain data


async def test_snapshot_is_a_copy_and_reset_clears() -> None:
    metrics = Metrics()
    server = Server()
    async with client_for(server, hooks=metrics) as client:
        await client.jobs.retrieve("job_1")
        before = metrics.snapshot()
        await client.jobs.retrieve("job_3")
    assert before["requests"] == 1
    assert metrics.snapshot()["requests"] == 2
    metrics.reset()
    assert metrics.snapshot()["requests"] == 0
    assert metrics.snapshot()["tokens_by_model"] == {}


def test_custom_buckets_end_with_infinity() -> None:
    buckets = Metrics(buckets=[1.0, 0.1]).snapshot()["latency"]["buckets"]
    assert list(buckets) == [0.1, 1.0, math.inf]
