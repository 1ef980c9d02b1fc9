"""``Metrics().collector()``: registered on a real ``prometheus_client`` registry served on 127.0.0.1,
scraped over HTTP and parsed with ``prometheus_client``'s own parser, after a run against microdc.testing
over loopback on both transports."""

from __future__ import annotations

import math
from typing import Dict, Tuple, Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.metrics_core import Metric

from microdc import NotFoundError
from microdc.testing import Faults
from microdc.lib.metrics import Metrics

from ._served import served
from .._transports import transport

__all__ = ["transport"]  # the fixture, imported for pytest


@pytest.fixture
def registry() -> Iterator[Tuple[CollectorRegistry, str]]:
    """A registry and the ``/metrics`` URL of a real exposition server for it on 127.0.0.1 (stopped after)."""
    registry = CollectorRegistry()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield registry, f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def scrape(url: str) -> Dict[str, Metric]:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    response.raise_for_status()
    return {family.name: family for family in text_string_to_metric_families(response.text)}


async def test_a_scrape_shows_every_family(registry: Tuple[CollectorRegistry, str], transport: str) -> None:
    registered, url = registry
    metrics = Metrics()
    registered.register(metrics.collector())
    async with served(transport, metrics) as s:
        await s.client.jobs.ask("count me", model="echo-1")
        s.fake.faults = Faults(seed=5, error_rate=1.0, error_statuses=[503], paths=["/api/v1/models"], max_faults=1)
        await s.client.models.list()  # a 503, then a retry that succeeds
        s.fake.faults = None
        with pytest.raises(NotFoundError):
            await s.client.jobs.retrieve("job_unknown")
        families = await scrape(url)
        (job,) = s.fake.jobs.values()

    snap = metrics.snapshot()
    requests = {(x.labels["method"], x.labels["route"]): x.value for x in families["microdc_requests"].samples}
    assert families["microdc_requests"].type == "counter"
    assert requests == {tuple(route.split(" ", 1)): float(n) for route, n in snap["requests_by_route"].items()}
    assert requests[("POST", "/api/v1/jobs/submit")] == 1
    retries = {x.labels["reason"]: x.value for x in families["microdc_retries"].samples if x.name.endswith("_total")}
    assert retries == {"HTTP 503": 1.0}
    errors = {x.labels["error"]: x.value for x in families["microdc_errors"].samples if x.name.endswith("_total")}
    assert errors == {"NotFoundError": 1.0}
    statuses = {x.labels["status_code"]: x.value for x in families["microdc_responses"].samples}
    assert statuses["503"] == 1
    assert statuses["404"] == 1

    duration = families["microdc_request_duration_seconds"]
    assert duration.type == "histogram"
    buckets = {float(x.labels["le"]): x.value for x in duration.samples if x.name.endswith("_bucket")}
    assert buckets[math.inf] == snap["latency"]["count"] == sum(snap["responses_by_status"].values())
    counts = list(buckets.values())
    assert counts == sorted(counts)  # cumulative
    assert list(buckets)[:-1] == [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
    (total,) = [x.value for x in duration.samples if x.name.endswith("_sum")]
    assert total == pytest.approx(snap["latency"]["sum"])
    ttfb = families["microdc_time_to_first_byte_seconds"]
    assert ttfb.type == "histogram"
    (ttfb_count,) = [x.value for x in ttfb.samples if x.name.endswith("_count")]
    assert ttfb_count == snap["time_to_first_byte"]["count"]

    tokens = {(x.labels["model"], x.labels["type"]): x.value for x in families["microdc_tokens"].samples}
    assert tokens == {
        ("echo-1", "input"): job["usage"]["input_tokens"],
        ("echo-1", "output"): job["usage"]["output_tokens"],
    }
    (spent,) = [x for x in families["microdc_cost_usd"].samples if x.name.endswith("_total")]
    assert spent.labels["model"] == "echo-1"
    assert spent.value == pytest.approx(job["usage"]["cost_usd"])
