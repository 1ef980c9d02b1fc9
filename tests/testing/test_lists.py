"""``GET /api/v1/jobs`` and ``GET /api/v1/files``: cursor pages, newest first, every
filter, and the 400s for bad query parameters."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import httpx
import pytest

from microdc.testing import FakeMicroDC

from .conftest import submit, assert_error

JOBS = "/api/v1/jobs"


async def _all_pages(
    http: httpx.AsyncClient, url: str, params: Dict[str, Any], max_pages: int = 50
) -> List[Dict[str, Any]]:
    items: List[Dict[str, Any]] = []
    cursor: Optional[str] = None
    for _ in range(max_pages):
        query = {**params, **({"after": cursor} if cursor else {})}
        page = (await http.get(url, params=query)).json()
        assert page["object"] == "list"
        items.extend(page["data"])
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return items
        assert page["next_cursor"] == page["data"][-1]["id"]
        cursor = page["next_cursor"]
    raise AssertionError("more pages than expected")


async def test_250_jobs_page_newest_first_without_loss_or_repeat(http: httpx.AsyncClient) -> None:
    created = [(await submit(http, prompt=f"job {i}"))["id"] for i in range(250)]

    first = (await http.get(JOBS)).json()
    everything = await _all_pages(http, JOBS, {"limit": 100})

    assert len(first["data"]) == 20
    assert first["has_more"] is True
    assert [job["id"] for job in everything] == created[::-1]
    assert [len(page) for page in (everything[:100], everything[100:200], everything[200:])] == [100, 100, 50]


async def test_pages_are_stable_while_jobs_are_created(local: httpx.AsyncClient) -> None:
    created = [(await submit(local))["id"] for _ in range(30)]

    first = (await local.get(JOBS, params={"limit": 10})).json()
    newcomers = [(await submit(local))["id"] for _ in range(5)]
    rest = await _all_pages(local, JOBS, {"limit": 10, "after": first["next_cursor"]})

    ids = [job["id"] for job in first["data"]] + [job["id"] for job in rest]
    assert ids == created[::-1]
    assert not set(newcomers) & set(ids)
    assert [job["id"] for job in (await local.get(JOBS, params={"limit": 5})).json()["data"]] == newcomers[::-1]


async def test_filters_by_status_type_acknowledged_and_ids(http: httpx.AsyncClient, fake: FakeMicroDC) -> None:
    done_a = await submit(http)
    done_b = await submit(http, type="llm_embed", model="embed-1", texts=["x"], prompt=None)
    failed = await submit(http, prompt="[fail]")
    fake.advance(10)
    running = await submit(http)
    fake.advance(3)
    queued = await submit(http)
    cancelled = await submit(http)
    await http.delete(f"{JOBS}/{cancelled['id']}")
    await http.post(f"{JOBS}/{done_a['id']}/acknowledge")

    async def ids(**params: Any) -> List[str]:
        return [job["id"] for job in await _all_pages(http, JOBS, {"limit": 2, **params})]

    assert await ids(status="queued") == [queued["id"]]
    assert await ids(status="running") == [running["id"]]
    assert await ids(status="completed,failed") == [failed["id"], done_b["id"], done_a["id"]]
    assert await ids(status=["cancelled", "queued"]) == [cancelled["id"], queued["id"]]
    assert await ids(type="llm_embed") == [done_b["id"]]
    assert await ids(acknowledged="true") == [done_a["id"]]
    assert await ids(acknowledged="false", status="completed") == [done_b["id"]]
    assert await ids(ids=f"{done_a['id']},{queued['id']},job_unknown") == [queued["id"], done_a["id"]]
    assert await ids(ids=done_a["id"], status="running") == []


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"limit": 0}, "invalid_parameter", "limit"),
        ({"limit": 101}, "invalid_parameter", "limit"),
        ({"limit": "ten"}, "invalid_parameter", "limit"),
        ({"status": "done"}, "invalid_parameter", "status"),
        ({"type": "llm_magic"}, "invalid_parameter", "type"),
        ({"acknowledged": "maybe"}, "invalid_parameter", "acknowledged"),
        ({"ids": ",".join(f"job_{i}" for i in range(101))}, "invalid_parameter", "ids"),
        ({"after": "job_unknown"}, "invalid_cursor", "after"),
        # An empty value is not "no value": openapi.yml rejects each of these.
        ({"limit": ""}, "invalid_parameter", "limit"),
        ({"type": ""}, "invalid_parameter", "type"),
        ({"status": ""}, "invalid_parameter", "status"),
        ({"status": "completed,"}, "invalid_parameter", "status"),
        ({"acknowledged": ""}, "invalid_parameter", "acknowledged"),
        ({"acknowledged": "1"}, "invalid_parameter", "acknowledged"),
        ({"ids": ""}, "invalid_parameter", "ids"),
        ({"after": ""}, "invalid_parameter", "after"),
        ({"limit": "1.0"}, "invalid_parameter", "limit"),
        ({"limit": ["5", "6"]}, "invalid_parameter", "limit"),
    ],
)
async def test_bad_list_parameters_get_400(
    http: httpx.AsyncClient, params: Dict[str, Any], code: str, param: str
) -> None:
    assert_error(await http.get(JOBS, params=params), 400, code, param)


async def test_a_hundred_ids_are_fine(local: httpx.AsyncClient) -> None:
    job = await submit(local)
    ids = [job["id"]] + [f"job_{i}" for i in range(99)]

    page = (await local.get(JOBS, params={"ids": ",".join(ids)})).json()

    assert [item["id"] for item in page["data"]] == [job["id"]]


async def _upload(http: httpx.AsyncClient, name: str) -> Dict[str, Any]:
    response = await http.post("/api/files/upload", files={"file": (name, name.encode(), "text/plain")})
    assert response.status_code == 201, response.text
    body: Dict[str, Any] = response.json()
    return body


async def test_files_page_newest_first_and_a_deleted_cursor_still_works(http: httpx.AsyncClient) -> None:
    uploaded = [(await _upload(http, f"f{i}.txt"))["id"] for i in range(7)]

    first = (await http.get("/api/v1/files", params={"limit": 3})).json()
    await http.delete(f"/api/v1/files/{first['next_cursor']}")
    rest = await _all_pages(http, "/api/v1/files", {"limit": 3, "after": first["next_cursor"]})

    assert [f["id"] for f in first["data"]] == uploaded[:3:-1]
    assert [f["id"] for f in rest] == uploaded[3::-1]
    assert len(await _all_pages(http, "/api/v1/files", {"limit": 100})) == 6
    assert_error(await http.get("/api/v1/files", params={"after": "file_nope"}), 400, "invalid_cursor", "after")
    assert_error(
        await http.get("/api/v1/files", params={"after": uploaded[0].replace("file_", "job_")}),
        400,
        "invalid_cursor",
        "after",
    )
    assert_error(await http.get("/api/v1/files", params={"limit": 0}), 400, "invalid_parameter", "limit")


@pytest.mark.parametrize("query", ["limit=&after=", "limit=", "after=", "limit=x"])
async def test_bad_file_list_parameters_get_400(local: httpx.AsyncClient, query: str) -> None:
    response = await local.get(f"/api/v1/files?{query}")

    assert_error(response, 400, "invalid_parameter", query.split("=")[0])


async def test_repeated_list_values_are_one_list(local: httpx.AsyncClient) -> None:
    first, second = await submit(local), await submit(local)

    page = (await local.get(f"{JOBS}?ids={first['id']}&ids={second['id']}")).json()

    assert [job["id"] for job in page["data"]] == [second["id"], first["id"]]
