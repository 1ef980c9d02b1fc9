"""jobs.submit_many against the embedded fake: order, concurrency, resume, cost limit, state file, progress."""

from __future__ import annotations

import os
import json
import asyncio
from typing import Any, Dict, List, Tuple, Iterator, AsyncIterator
from pathlib import Path

import httpx
import pytest

from microdc import LLMChat, LLMComplete, AsyncMicroDC, MicroDCError, NotFoundError, AuthenticationError
from microdc.testing import IN_PROCESS_BASE_URL, Faults, FakeMicroDC
from microdc.lib.batch import BatchItem, BatchProgress, BatchStateError, submit_many
from microdc.lib.retry import disable_retry_delays
from microdc.testing._state import RecordedRequest

SUBMIT = "/api/v1/jobs/submit"
POLL = 0.05  # seconds between list rounds: the fake's jobs take JOB_DURATION
JOB_DURATION = 0.05


def complete(i: int, **extra: Any) -> Dict[str, Any]:
    return {
        "type": "llm_complete",
        "model": "echo-1",
        "prompt": f"prompt number {i:05d}",
        "max_tokens": 16,
        "metadata": {"i": str(i)},
        **extra,
    }


def submissions(fake: FakeMicroDC) -> List[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path == SUBMIT]


def created(fake: FakeMicroDC) -> List[RecordedRequest]:
    """Submissions that made a job (not a replay of an earlier answer)."""
    return [r for r in submissions(fake) if r.status == 201 and not r.replayed]


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests on, remembering how many submissions were in flight at most."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.most_in_flight = 0
        self.answered = 0
        self._waiting: List[Tuple[int, asyncio.Event]] = []

    async def reached(self, count: int) -> None:
        """Return once ``count`` submissions have been answered."""
        event = asyncio.Event()
        self._waiting.append((count, event))
        if self.answered >= count:
            event.set()
        await event.wait()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != SUBMIT:
            return await self.inner.handle_async_request(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let the other submitters start theirs
            response = await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
        self.answered += 1
        for count, event in self._waiting:
            if self.answered >= count:
                event.set()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(autouse=True)
def _no_retry_delays() -> Iterator[None]:
    with disable_retry_delays():
        yield


@pytest.fixture
def fake() -> FakeMicroDC:
    return FakeMicroDC(job_duration=JOB_DURATION, seed=7)


@pytest.fixture
def transport(fake: FakeMicroDC) -> CountingTransport:
    return CountingTransport(fake.transport())


@pytest.fixture
async def client(fake: FakeMicroDC, transport: CountingTransport) -> AsyncIterator[AsyncMicroDC]:
    async with fake.client(http_client=httpx.AsyncClient(transport=transport)) as client:
        yield client


# --- 500 jobs -----------------------------------------------------------------------------


def _mixed_inputs(n: int) -> List[Any]:
    """Completions (dicts), chats (builders) and embeddings; every 50th input fails on the fake."""
    inputs: List[Any] = []
    for i in range(n):
        fail = " [fail]" if i % 50 == 7 else ""
        if i % 3 == 0:
            inputs.append(complete(i, prompt=f"prompt {i}{fail}"))
        elif i % 3 == 1:
            inputs.append(LLMChat("echo-1", max_tokens=16).set_system("Be brief.").add_user_message(f"chat {i}{fail}"))
        else:
            inputs.append({"type": "llm_embed", "model": "embed-1", "texts": [f"text {i}{fail}", "more"]})
    return inputs


async def test_500_jobs_end_terminal_in_input_order(
    client: AsyncMicroDC, fake: FakeMicroDC, transport: CountingTransport
) -> None:
    calls: List[BatchProgress] = []
    result = await client.jobs.submit_many(
        _mixed_inputs(500), concurrency=16, poll_interval=POLL, on_progress=calls.append
    )

    assert len(result) == 500
    assert [item.index for item in result] == list(range(500))
    for i, item in enumerate(result):
        assert item.status == ("failed" if i % 50 == 7 else "completed"), (i, item)
        assert item.job is not None
        assert item.job.status == item.status
        assert item.job.metadata == ({"i": str(i)} if i % 3 == 0 else {})
        result_type = ("llm_complete", "llm_chat", "llm_embed")[i % 3]
        assert item.job.type == result_type
        if item.status == "completed":
            assert item.job.result is not None
            assert item.job.result.type == result_type
    first = result[0].job
    assert first is not None
    assert first.result is not None
    assert first.result.type == "llm_complete"
    assert first.result.text == "echo: prompt 0"
    assert result.counts["completed"] == 490
    assert result.counts["failed"] == 10
    assert result.spent_usd == pytest.approx(sum(item.cost_usd for item in result))
    assert result.spent_usd > 0

    assert len(fake.jobs) == 500
    assert len(created(fake)) == 500
    assert 1 < transport.most_in_flight <= 16
    # Waiting goes through the list endpoint, at most 100 ids a request.
    lists = [r for r in fake.requests if r.method == "GET" and r.path == "/api/v1/jobs"]
    assert lists
    assert all(len(r.params["ids"][0].split(",")) <= 100 for r in lists)
    assert not [r for r in fake.requests if r.path.endswith(("/events", "/status"))]

    # Progress: rarely (at most ~4 a second) and a final call with everything settled.
    final = calls[-1]
    assert final.done
    assert not any(call.done for call in calls[:-1])
    assert (final.total, final.finished, final.pending, final.submitted) == (500, 500, 0, 0)
    assert final.spent_usd == pytest.approx(result.spent_usd)
    assert final.rate > 0
    assert final.elapsed > 0
    assert len(calls) <= final.elapsed / 0.25 + 3
    assert [call.finished for call in calls] == sorted(call.finished for call in calls)


async def test_async_on_progress_is_awaited(client: AsyncMicroDC) -> None:
    seen: List[BatchProgress] = []

    async def on_progress(progress: BatchProgress) -> None:
        await asyncio.sleep(0)
        seen.append(progress)

    await client.jobs.submit_many([complete(i) for i in range(3)], poll_interval=POLL, on_progress=on_progress)
    assert seen[0].pending == 3
    assert seen[-1].done
    assert seen[-1].completed == 3


# --- resume -------------------------------------------------------------------------------


async def test_a_cancelled_run_resumes_from_its_state_file_without_submitting_twice(
    client: AsyncMicroDC, fake: FakeMicroDC, transport: CountingTransport, tmp_path: Path
) -> None:
    state = tmp_path / "batch.json"
    inputs = [complete(i) for i in range(500)]
    first = asyncio.ensure_future(client.jobs.submit_many(inputs, concurrency=16, state_file=state, poll_interval=POLL))
    await transport.reached(250)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    made_before = len(created(fake))
    saved = json.loads(state.read_text())
    assert 0 < len(saved["items"]) <= made_before < 500
    requests_before = len(fake.requests)

    result = await client.jobs.submit_many(inputs, concurrency=16, state_file=state, poll_interval=POLL)

    assert result.batch_id == saved["batch_id"]
    assert [item.status for item in result] == ["completed"] * 500
    assert len(fake.jobs) == 500
    made = created(fake)
    assert len(made) == 500
    assert len({r.idempotency_key for r in made}) == 500
    assert sorted(job["metadata"]["i"] for job in fake.jobs.values()) == sorted(str(i) for i in range(500))
    assert {item.job_id for item in result} == set(fake.jobs)
    # The re-run submitted each input the state did not record, once, and no other.
    rerun = [r for r in fake.requests[requests_before:] if r.method == "POST" and r.path == SUBMIT]
    unrecorded = [item.idempotency_key for item in result if str(item.index) not in saved["items"]]
    assert sorted(str(r.idempotency_key) for r in rerun) == sorted(str(key) for key in unrecorded)
    # Those the first run had made but not yet recorded came back as replays, not new jobs.
    assert sum(r.replayed for r in rerun) == made_before - len(saved["items"])
    # The state file now holds every result and the spend.
    final = json.loads(state.read_text())
    assert len(final["items"]) == 500
    assert {item["status"] for item in final["items"].values()} == {"completed"}
    assert final["spent_usd"] == pytest.approx(result.spent_usd)


async def test_a_finished_batch_rerun_with_its_state_asks_nothing_new(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "batch.json"
    inputs = [complete(i) for i in range(5)]
    first = await client.jobs.submit_many(inputs, state_file=state, poll_interval=POLL)
    before = len(fake.requests)
    again = await client.jobs.submit_many(inputs, state_file=state, poll_interval=POLL)
    assert [item.job_id for item in again] == [item.job_id for item in first]
    assert [item.status for item in again] == ["completed"] * 5
    assert again.spent_usd == pytest.approx(first.spent_usd)
    assert [job and job.result for job in again.jobs] == [job and job.result for job in first.jobs]
    new = fake.requests[before:]
    assert [(r.method, r.path) for r in new] == [("GET", "/api/v1/jobs")]  # one list request fetches them back


async def test_wait_false_returns_submitted_jobs_and_a_rerun_waits_for_them(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "batch.json"
    inputs = [complete(i) for i in range(10)]
    fake.job_duration = 0.3
    submitted = await client.jobs.submit_many(inputs, state_file=state, wait=False)
    assert [item.status for item in submitted] == ["submitted"] * 10
    assert all(item.job is not None and item.job.status == "queued" for item in submitted)
    result = await client.jobs.submit_many(inputs, state_file=state, poll_interval=POLL)
    assert [item.status for item in result] == ["completed"] * 10
    assert len(fake.jobs) == 10


async def test_keys_are_stable_for_a_batch_id_so_the_server_replays(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    inputs = [complete(i) for i in range(3)]
    first = await client.jobs.submit_many(inputs, batch_id="nightly-42", poll_interval=POLL)
    second = await client.jobs.submit_many(inputs, batch_id="nightly-42", poll_interval=POLL)
    assert [item.job_id for item in second] == [item.job_id for item in first]
    assert str(first[1].idempotency_key).startswith("nightly-42-1-")
    assert len(fake.jobs) == 3
    other = await client.jobs.submit_many(inputs, poll_interval=POLL)  # a new batch: new jobs
    assert len(fake.jobs) == 6
    assert other.batch_id.startswith("batch_")


async def test_lost_answers_are_retried_without_duplicates(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    fake.faults = Faults(seed=3, lost_answer_rate=0.2, paths=[SUBMIT], methods=["POST"])
    result = await client.jobs.submit_many([complete(i) for i in range(100)], poll_interval=POLL)
    assert result.counts["completed"] == 100
    assert len(fake.jobs) == 100
    assert any(r.fault == "lost_answer" for r in fake.requests)


# --- cost limit ---------------------------------------------------------------------------


async def _estimate(client: AsyncMicroDC, params: Dict[str, Any]) -> float:
    return (await client.jobs.estimate_cost(params)).worst_case_usd


@pytest.mark.parametrize("wait", [True, False])
async def test_a_cost_limit_stops_submitting_and_skips_the_rest(
    client: AsyncMicroDC, fake: FakeMicroDC, wait: bool
) -> None:
    inputs = [complete(i) for i in range(500)]
    estimate = await _estimate(client, inputs[0])
    limit = 100 * estimate + estimate / 2  # room for 100 jobs at their worst
    fake.reset_requests()

    result = await client.jobs.submit_many(inputs, concurrency=16, cost_limit_usd=limit, wait=wait, poll_interval=POLL)

    statuses = [item.status for item in result]
    ran = 500 - statuses.count("skipped_budget")
    # A prefix of the inputs ran; everything after it was skipped, never submitted.
    assert statuses[ran:] == ["skipped_budget"] * (500 - ran)
    assert all(item.job is None and item.job_id is None for item in result[ran:])
    assert len(fake.jobs) == ran
    if wait:
        assert set(statuses[:ran]) == {"completed"}
        # Actual costs come in under the estimates, which makes room for more than 100.
        assert 100 <= ran < 500
        assert result.spent_usd <= limit
        assert result.spent_usd == pytest.approx(sum(job["usage"]["cost_usd"] for job in fake.jobs.values()))
    else:
        # Nothing finishes while submitting, so the estimates decide: exactly 100.
        assert ran == 100
        assert set(statuses[:ran]) == {"submitted"}
    model_lookups = [r for r in fake.requests if r.path == "/api/v1/models/echo-1"]
    assert model_lookups == []  # fetched once per model and client: by the estimate above, not again


async def test_a_zero_budget_submits_nothing(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    result = await client.jobs.submit_many([complete(i) for i in range(5)], cost_limit_usd=0)
    assert result.counts["skipped_budget"] == 5
    assert not submissions(fake)


# --- bad inputs and errors ------------------------------------------------------------------


async def test_bad_inputs_come_back_as_errors_and_the_rest_run(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    inputs: List[Any] = [
        complete(0),
        LLMComplete("echo-1"),  # no prompt: validate() fails
        complete(2, model="no-such-model"),
        complete(3, idempotency_key="mine"),
        complete(4, temperature=9),  # past openapi.yml's limit: refused before it is sent
        complete(5),
    ]
    result = await client.jobs.submit_many(inputs, poll_interval=POLL)
    assert [item.status for item in result] == ["completed", "error", "error", "error", "error", "completed"]
    assert isinstance(result[1].error, ValueError)
    assert "prompt" in str(result[1].error)
    assert isinstance(result[2].error, MicroDCError)
    assert isinstance(result[3].error, ValueError)
    assert "idempotency_key" in str(result[3].error)
    assert isinstance(result[4].error, ValueError)
    assert "temperature" in str(result[4].error)
    assert len(fake.jobs) == 2


async def test_an_unknown_model_under_a_cost_limit_is_an_error_asked_once(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    inputs = [complete(i, model="nope-1") for i in range(5)]
    result = await client.jobs.submit_many(inputs, cost_limit_usd=1.0)
    assert {item.status for item in result} == {"error"}
    assert all(isinstance(item.error, NotFoundError) for item in result)
    assert len([r for r in fake.requests if r.path == "/api/v1/models/nope-1"]) == 1
    assert not submissions(fake)


async def test_something_that_is_not_a_job_is_a_type_error(client: AsyncMicroDC) -> None:
    with pytest.raises(TypeError, match="input 1 is a str"):
        await client.jobs.submit_many([complete(0), "prompt"])  # type: ignore[list-item]


async def test_a_refused_api_key_raises_and_stops(fake: FakeMicroDC, tmp_path: Path) -> None:
    state = tmp_path / "batch.json"
    async with fake.client(api_key="wrong") as client:
        with pytest.raises(AuthenticationError):
            await client.jobs.submit_many([complete(i) for i in range(50)], state_file=state)
    assert len(submissions(fake)) < 50
    assert json.loads(state.read_text())["items"] == {}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"concurrency": 0}, "concurrency"), ({"cost_limit_usd": -1.0}, "cost_limit_usd"), ({"poll_interval": 0}, "poll")],
)
async def test_bad_arguments_raise_value_error(client: AsyncMicroDC, kwargs: Dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        await client.jobs.submit_many([complete(0)], **kwargs)


# --- the state file -----------------------------------------------------------------------

CORRUPT = {
    "not json": b'{"format": "microdc.batch", "version": 1, ',
    "empty": b"",
    "not utf-8": b"\xff\xfe\x00garbage",
    "a list": b"[]",
    "another format": b'{"format": "something else", "version": 1}',
    "a future version": b'{"format": "microdc.batch", "version": 99, "batch_id": "b", "items": {}}',
    "a bad item": b'{"format": "microdc.batch", "version": 1, "batch_id": "b", "items": {"0": {"job_id": 3}}}',
    "a bad status": (
        b'{"format": "microdc.batch", "version": 1, "batch_id": "b",'
        b' "items": {"0": {"params_hash": "x", "job_id": "job_1", "status": "lost"}}}'
    ),
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
async def test_a_corrupt_state_file_is_a_clear_error_and_left_untouched(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path, content: bytes
) -> None:
    state = tmp_path / "batch.json"
    state.write_bytes(content)
    with pytest.raises(BatchStateError) as caught:
        await client.jobs.submit_many([complete(0)], state_file=state)
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, MicroDCError)
    assert str(state) in str(error)
    assert "left untouched" in str(error)
    assert error.path == state
    assert state.read_bytes() == content
    assert os.listdir(tmp_path) == ["batch.json"]  # no temp file left behind
    assert not fake.requests


async def test_a_state_file_for_other_inputs_or_another_batch_is_refused(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "batch.json"
    inputs = [complete(i) for i in range(3)]
    await client.jobs.submit_many(inputs, state_file=state, batch_id="one", poll_interval=POLL)
    content = state.read_bytes()
    changed = [*inputs[:1], complete(1, prompt="something else"), inputs[2]]
    with pytest.raises(BatchStateError, match="input 1 differs"):
        await client.jobs.submit_many(changed, state_file=state)
    with pytest.raises(BatchStateError, match="only 2 input"):
        await client.jobs.submit_many(inputs[:2], state_file=state)
    with pytest.raises(BatchStateError, match="'two'"):
        await client.jobs.submit_many(inputs, state_file=state, batch_id="two")
    assert state.read_bytes() == content
    # More inputs than before is fine: the new ones are submitted.
    more = await client.jobs.submit_many([*inputs, complete(3)], state_file=state, poll_interval=POLL)
    assert [item.status for item in more] == ["completed"] * 4
    assert len(fake.jobs) == 4


async def test_the_state_file_is_written_before_anything_is_submitted(client: AsyncMicroDC, tmp_path: Path) -> None:
    state = tmp_path / "batch.json"
    seen: List[Dict[str, Any]] = []

    def on_progress(progress: BatchProgress) -> None:
        if not seen and progress.pending:
            seen.append(json.loads(state.read_text()))

    await client.jobs.submit_many(
        [complete(0)], state_file=state, on_progress=on_progress, batch_id="early", poll_interval=POLL
    )
    assert seen == [{**seen[0], "batch_id": "early", "items": {}}]
    assert seen[0]["format"] == "microdc.batch"


def test_batch_item_is_plain_data() -> None:
    item = BatchItem(index=0, status="completed")
    assert item.ok
    assert item.job is None
    assert type(item).__module__ == "microdc.lib.batch"


async def test_the_function_takes_the_plain_generated_resource(fake: FakeMicroDC) -> None:
    from microdc.resources.jobs import AsyncJobsResource

    async with AsyncMicroDC(
        api_key=fake.api_key,
        base_url=IN_PROCESS_BASE_URL,
        http_client=httpx.AsyncClient(transport=fake.transport()),
    ) as client:
        result = await submit_many(AsyncJobsResource(client), [complete(0)], poll_interval=POLL)
    assert result[0].status == "completed"
