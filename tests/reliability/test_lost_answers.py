"""Lost answers: 1,000 submissions through a fake that loses 20 % of its answers after
committing them (and fails another 10 % with 5xx or 429) create exactly 1,000 jobs.

Each call's retries resend its ``Idempotency-Key``, so a submission whose answer was
lost is answered by the server's replay instead of creating a second job. The run
goes over a real loopback socket (``fake.serve()``), 64 calls at a time, once for
the whole module; each test checks one property of it.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Dict, List, Tuple, Counter as CounterType, Callable, Awaitable
from pathlib import Path
from collections import Counter
from dataclasses import field, dataclass

import anyio
import pytest

from microdc import AsyncMicroDC
from microdc._retry import disable_retry_delays
from microdc.testing import Faults, FakeMicroDC, RecordedRequest

from .conftest import API_KEY, Served

CALLS = 1_000
CONCURRENCY = 64
MAX_RETRIES = 6
SUBMIT_PATH = "/api/v1/jobs/submit"
FAULTS = Faults(
    seed=20240601,
    lost_answer_rate=0.20,
    error_rate=0.05,
    rate_limit_rate=0.05,
    paths=[SUBMIT_PATH],
    methods=["POST"],
)
RUN_TIME_LIMIT = 120.0


@dataclass
class LostAnswersRun:
    job_ids: List[str] = field(default_factory=list[str])
    """The id each call returned, in call order."""
    call_of_job: Dict[str, str] = field(default_factory=dict[str, str])
    """Job id -> the ``call`` metadata the returned job carries."""
    held: Dict[str, Dict[str, object]] = field(default_factory=dict[str, Dict[str, object]])
    """What the fake holds afterwards."""
    submissions: List[RecordedRequest] = field(default_factory=list[RecordedRequest])


@pytest.fixture(scope="module")
def run() -> LostAnswersRun:
    async def main() -> LostAnswersRun:
        result = LostAnswersRun()
        fake = FakeMicroDC(api_key=API_KEY, job_duration=60.0, seed=3, faults=FAULTS)
        with disable_retry_delays():
            async with (
                fake.serve(port=0) as base_url,
                AsyncMicroDC(api_key=API_KEY, base_url=base_url, max_retries=MAX_RETRIES) as client,
            ):
                limit = asyncio.Semaphore(CONCURRENCY)

                async def submit(n: int) -> str:
                    async with limit:
                        job = await client.jobs.create(
                            type="llm_complete", model="echo-1", prompt=f"prompt {n}", metadata={"call": str(n)}
                        )
                    result.call_of_job[job.id] = job.metadata["call"]
                    return job.id

                with anyio.fail_after(RUN_TIME_LIMIT):
                    result.job_ids = list(await asyncio.gather(*(submit(n) for n in range(CALLS))))
        result.held = fake.jobs
        result.submissions = [r for r in fake.requests if r.path == SUBMIT_PATH]
        return result

    return asyncio.run(main())


def _faults(run: LostAnswersRun) -> CounterType[str]:
    return Counter(r.fault for r in run.submissions if r.fault is not None)


def test_every_call_returns_a_job(run: LostAnswersRun) -> None:
    assert len(run.job_ids) == CALLS
    assert all(job_id.startswith("job_") for job_id in run.job_ids)


def test_the_fake_holds_exactly_one_job_per_call(run: LostAnswersRun) -> None:
    assert len(run.held) == CALLS
    assert set(run.held) == set(run.job_ids)


def test_no_two_calls_got_the_same_job(run: LostAnswersRun) -> None:
    assert len(set(run.job_ids)) == CALLS


def test_each_call_got_the_job_it_submitted(run: LostAnswersRun) -> None:
    assert [run.call_of_job[job_id] for job_id in run.job_ids] == [str(n) for n in range(CALLS)]


def test_about_a_fifth_of_the_answers_were_lost(run: LostAnswersRun) -> None:
    lost = _faults(run)["lost_answer"]
    assert 0.15 * CALLS <= lost <= 0.30 * CALLS


def test_about_a_tenth_of_the_submissions_got_a_5xx_or_429(run: LostAnswersRun) -> None:
    faults = _faults(run)
    assert faults["error"] > 0
    assert faults["rate_limit"] > 0
    assert 0.05 * CALLS <= faults["error"] + faults["rate_limit"] <= 0.20 * CALLS


def test_every_lost_answer_was_replayed_to_the_retry(run: LostAnswersRun) -> None:
    by_key: Dict[str, List[RecordedRequest]] = {}
    for request in run.submissions:
        assert request.idempotency_key is not None
        by_key.setdefault(request.idempotency_key, []).append(request)
    assert len(by_key) == CALLS  # one key per call, resent on each of its retries
    for attempts in by_key.values():
        lost = [n for n, attempt in enumerate(attempts) if attempt.fault == "lost_answer"]
        if lost:
            assert attempts[-1].replayed, "the answer that reached the client was the stored one"
        assert len({attempt.body for attempt in attempts}) == 1
        assert [attempt.headers["x-stainless-retry-count"] for attempt in attempts] == [
            str(n) for n in range(len(attempts))
        ]


# ------------------------------------------------------------- every other mutation


Mutation = Callable[[AsyncMicroDC, Path], Awaitable[object]]


async def _upload_bytes(client: AsyncMicroDC, _tmp: Path) -> object:
    return await client.files.upload(file=b"some bytes")


async def _upload_path(client: AsyncMicroDC, tmp: Path) -> object:
    path = tmp / "notes.txt"
    path.write_bytes(b"a file on disk")
    return await client.files.upload(file=path)


async def _upload_file_object(client: AsyncMicroDC, tmp: Path) -> object:
    path = tmp / "notes.txt"
    path.write_bytes(b"an open file")
    with path.open("rb") as handle:
        return await client.files.upload(file=handle)


async def _upload_tuple(client: AsyncMicroDC, _tmp: Path) -> object:
    return await client.files.upload(file=("notes.txt", b"a tuple", "text/plain"))


async def _cancel(client: AsyncMicroDC, _tmp: Path) -> object:
    job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="to cancel")
    return await client.jobs.cancel(job.id)


async def _download_token(client: AsyncMicroDC, _tmp: Path) -> object:
    uploaded = await client.files.upload(file=b"shared")
    return await client.files.create_download_token(uploaded.id)


async def _delete(client: AsyncMicroDC, _tmp: Path) -> object:
    uploaded = await client.files.upload(file=b"doomed")
    return await client.files.delete(uploaded.id)


MUTATIONS: Dict[str, Tuple[Mutation, str]] = {
    "upload_bytes": (_upload_bytes, "/api/files/upload"),
    "upload_path": (_upload_path, "/api/files/upload"),
    "upload_file_object": (_upload_file_object, "/api/files/upload"),
    "upload_tuple": (_upload_tuple, "/api/files/upload"),
    "cancel": (_cancel, "/api/v1/jobs/*"),
    "create_download_token": (_download_token, "/api/v1/files/*/create-download-token"),
    "delete_file": (_delete, "/api/v1/files/*"),
}


@pytest.mark.usefixtures("no_retry_delays")
@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_a_mutation_whose_answer_was_lost_is_replayed_not_repeated(
    name: str, served: Served, tmp_path: Path
) -> None:
    mutation, path = MUTATIONS[name]
    method = "DELETE" if name in ("cancel", "delete_file") else "POST"
    served.fake.faults = Faults(lost_answer_rate=1.0, max_faults=1, paths=[path], methods=[method])
    async with served.client(max_retries=2) as client:
        with anyio.fail_after(20):
            result = await mutation(client, tmp_path)
    hit = [r for r in served.fake.requests if r.method == method and fnmatch.fnmatchcase(r.path, path)]
    assert [(r.fault, r.replayed) for r in hit] == [("lost_answer", False), (None, True)]
    assert hit[0].idempotency_key == hit[1].idempotency_key
    assert hit[0].body == hit[1].body
    assert result is not None
    if name.startswith("upload"):
        assert len(served.fake.files) == 1
