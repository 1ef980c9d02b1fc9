"""jobs.batch and jobs.submit_many against the in-process fake: order, laziness, progress, cancel,
shards, resume, the cost limit and bad inputs. (The state file's own rules: test_batch_state.py.)"""

from __future__ import annotations

import json
import asyncio
import sqlite3
import dataclasses
from typing import Any, Dict, List, Tuple, Iterator, AsyncIterator
from pathlib import Path

import httpx
import pytest
import pydantic

from microdc import LLMChat, LLMComplete, AsyncMicroDC, MicroDCError, NotFoundError, AuthenticationError
from microdc.testing import IN_PROCESS_BASE_URL, Faults, FakeMicroDC
from microdc.lib.batch import BatchArgs, BatchItem, BatchOptions, BatchProgress, submit_many
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


def rows(state: Path) -> Dict[int, Tuple[str, str]]:
    """``{index: (status, job_id)}`` as the state file records them."""
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        found = {int(i): (str(s), str(j)) for i, s, j in db.execute("SELECT idx, status, job_id FROM items")}
    db.close()
    return found


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


# --- submit_many: batch collected in input order -------------------------------------------


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
        assert item.job.type == ("llm_complete", "llm_chat", "llm_embed")[i % 3]
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


# --- batch: streaming ----------------------------------------------------------------------


async def test_batch_yields_each_input_once_in_completion_order(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    # Odd inputs take longer: they come out after the even ones submitted with them.
    fake.job_duration = lambda body: 2.0 if int(body["metadata"]["i"]) % 2 else 0.01
    async with client.jobs.batch([complete(i) for i in range(40)], concurrency=40, poll_interval=POLL) as run:
        items = [item async for item in run]
        progress = run.progress
    assert sorted(item.index for item in items) == list(range(40))
    assert {item.status for item in items} == {"completed"}
    assert [item.index % 2 for item in items] == [0] * 20 + [1] * 20  # the quick ones first
    assert progress.done
    assert progress.completed == 40
    assert progress.total == 40
    assert all(item.job is not None and item.job.id == item.job_id for item in items)


async def test_inputs_are_pulled_as_the_run_goes(client: AsyncMicroDC, transport: CountingTransport) -> None:
    pulled = 0

    def inputs() -> Iterator[Dict[str, Any]]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield complete(i)

    async with client.jobs.batch(inputs(), concurrency=4, wait=False) as run:
        seen = 0
        async for _item in run:
            seen += 1
            # Never far ahead of what was submitted: the submitters in flight, as many queued, one read.
            assert pulled <= transport.answered + 4 + 4 + 1
            if seen == 50:
                break
    assert pulled < 100


async def test_async_iterable_inputs_and_defaults(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    async def inputs() -> AsyncIterator[Dict[str, Any]]:
        for i in range(5):
            yield {"prompt": f"p{i}", "metadata": {"i": str(i)}}

    defaults = {"type": "llm_complete", "model": "echo-1", "max_tokens": 8, "metadata": {"run": "x"}}
    summary = await client.jobs.batch(inputs(), defaults=defaults, poll_interval=POLL).wait()
    assert summary.counts["completed"] == 5
    assert summary.ok
    jobs = sorted(fake.jobs.values(), key=lambda job: job["metadata"]["i"])
    assert [job["metadata"] for job in jobs] == [{"i": str(i)} for i in range(5)]  # the input's own key wins
    assert {job["type"] for job in jobs} == {"llm_complete"}


async def test_wait_returns_a_summary(client: AsyncMicroDC) -> None:
    inputs: List[Any] = [complete(0), complete(1, prompt="x [fail]"), "not a job"]
    summary = await client.jobs.batch(inputs, poll_interval=POLL, batch_id="sum").wait()
    assert summary.batch_id == "sum"
    assert (summary.counts["completed"], summary.counts["failed"], summary.counts["error"]) == (1, 1, 1)
    assert summary.total == 3
    assert not summary.ok
    assert summary.spent_usd > 0


async def test_iterating_outside_the_block_says_how(client: AsyncMicroDC) -> None:
    run = client.jobs.batch([complete(0)])
    with pytest.raises(RuntimeError, match=r"async with client\.jobs\.batch"):
        await run.__anext__()


# --- cancel --------------------------------------------------------------------------------


async def test_cancel_remote_cancels_the_batch_jobs_on_the_server(
    client: AsyncMicroDC, fake: FakeMicroDC, transport: CountingTransport, tmp_path: Path
) -> None:
    fake.job_duration = 60.0
    state = tmp_path / "state.sqlite3"
    async with client.jobs.batch(
        [complete(i) for i in range(200)], concurrency=8, state_file=state, poll_interval=POLL
    ) as run:
        await transport.reached(30)
        await run.cancel(remote=True)
        items = [item async for item in run]
        summary = run.summary()
    made = len(fake.jobs)
    assert 30 <= made < 200  # it stopped submitting
    assert {job["status"] for job in fake.jobs.values()} == {"cancelled"}
    assert len(items) == made
    assert {item.status for item in items} == {"cancelled"}
    assert summary.cancelled_run
    assert summary.counts["cancelled"] == made
    assert {status for status, _ in rows(state).values()} == {"cancelled"}
    assert len(rows(state)) == made


async def test_cancel_without_remote_leaves_jobs_running_and_a_rerun_resumes(
    client: AsyncMicroDC, fake: FakeMicroDC, transport: CountingTransport, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    inputs = [complete(i) for i in range(100)]
    async with client.jobs.batch(inputs, concurrency=8, state_file=state, wait=False) as run:
        await transport.reached(20)
        await run.cancel()
    recorded = rows(state)
    assert 20 <= len(recorded) == len(fake.jobs) < 100  # every job made is recorded
    assert {status for status, _ in recorded.values()} == {"submitted"}
    assert {job["status"] for job in fake.jobs.values()} <= {"queued", "running", "completed"}
    before = len(submissions(fake))
    result = await client.jobs.submit_many(inputs, state_file=state, poll_interval=POLL)
    assert [item.status for item in result] == ["completed"] * 100
    assert len(fake.jobs) == 100
    assert len(submissions(fake)) - before == 100 - len(recorded)  # nothing recorded was sent again


class GatedTransport(httpx.AsyncBaseTransport):
    """Holds every submission until ``gate`` is set."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.waiting = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == SUBMIT:
            self.waiting += 1
            await self.gate.wait()
        return await self.inner.handle_async_request(request)


async def test_cancel_sends_only_the_submissions_already_in_flight(fake: FakeMicroDC) -> None:
    gated = GatedTransport(fake.transport())
    async with fake.client(http_client=httpx.AsyncClient(transport=gated)) as client:
        run = client.jobs.batch([complete(i) for i in range(100)], concurrency=3, wait=False)
        async with run:
            for _ in range(10_000):
                if gated.waiting == 3:
                    break
                await asyncio.sleep(0)
            cancelling = asyncio.ensure_future(run.cancel())
            await asyncio.sleep(0)
            gated.gate.set()
            await cancelling
            items = [item async for item in run]
    # The three in flight finished; the inputs queued behind them were not sent.
    assert [item.status for item in items] == ["submitted"] * 3
    assert len(submissions(fake)) == 3


async def test_leaving_the_block_early_stops_the_run(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    async with client.jobs.batch([complete(i) for i in range(500)], concurrency=4, wait=False) as run:
        async for _item in run:
            break
    made = len(fake.jobs)
    assert run.progress.done  # the block ended once the run had stopped
    for _ in range(100):  # nothing left running submits anything more
        await asyncio.sleep(0)
    assert len(fake.jobs) == made < 20


# --- shards --------------------------------------------------------------------------------


async def test_shards_take_every_nth_input_with_the_keys_of_a_single_run(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    inputs = [complete(i) for i in range(30)]
    keys: List[str] = []
    for i in range(3):
        result = await client.jobs.submit_many(
            inputs, shard=(i, 3), batch_id="sharded", state_file=tmp_path / f"s{i}.sqlite3", poll_interval=POLL
        )
        assert [item.index for item in result] == list(range(i, 30, 3))
        keys += [str(item.idempotency_key) for item in result]
    assert len(fake.jobs) == 30
    single = await client.jobs.submit_many(inputs, batch_id="sharded", poll_interval=POLL)
    assert sorted(keys) == sorted(str(item.idempotency_key) for item in single)
    assert len(fake.jobs) == 30  # the single run was answered by replays: same keys, same jobs


@pytest.mark.parametrize("shard", [(3, 3), (-1, 2), (0, 0), ("0", 2), (0, 1, 2)])
def test_a_bad_shard_is_a_value_error(client: AsyncMicroDC, shard: Any) -> None:
    with pytest.raises(ValueError, match="shard"):
        client.jobs.batch([complete(0)], shard=shard)


async def test_a_shard_needs_a_batch_id(client: AsyncMicroDC) -> None:
    with pytest.raises(ValueError, match="batch_id"):
        await client.jobs.batch([complete(0)], shard=(0, 2)).wait()


# --- resume --------------------------------------------------------------------------------


async def test_a_cancelled_run_resumes_from_its_state_file_without_submitting_twice(
    client: AsyncMicroDC, fake: FakeMicroDC, transport: CountingTransport, tmp_path: Path
) -> None:
    state = tmp_path / "batch.sqlite3"
    inputs = [complete(i) for i in range(500)]
    first = asyncio.ensure_future(client.jobs.submit_many(inputs, concurrency=16, state_file=state, poll_interval=POLL))
    await transport.reached(250)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    made_before = len(created(fake))
    saved = rows(state)
    assert 0 < len(saved) <= made_before < 500
    requests_before = len(fake.requests)

    result = await client.jobs.submit_many(inputs, concurrency=16, state_file=state, poll_interval=POLL)

    assert [item.status for item in result] == ["completed"] * 500
    assert len(fake.jobs) == 500
    made = created(fake)
    assert len(made) == 500
    assert len({r.idempotency_key for r in made}) == 500
    assert {item.job_id for item in result} == set(fake.jobs)
    # The re-run submitted each input the state did not record, once, and no other.
    rerun = [r for r in fake.requests[requests_before:] if r.method == "POST" and r.path == SUBMIT]
    unrecorded = [item.idempotency_key for item in result if item.index not in saved]
    assert sorted(str(r.idempotency_key) for r in rerun) == sorted(str(key) for key in unrecorded)
    # Those the first run had made but not yet recorded came back as replays, not new jobs.
    assert sum(r.replayed for r in rerun) == made_before - len(saved)
    final = rows(state)
    assert len(final) == 500
    assert {status for status, _ in final.values()} == {"completed"}


async def test_a_finished_batch_rerun_with_its_state_asks_nothing_new(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "batch.sqlite3"
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
    state = tmp_path / "batch.sqlite3"
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


# --- bad inputs and errors ------------------------------------------------------------------


async def test_bad_inputs_come_back_as_errors_and_the_rest_run(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    inputs: List[Any] = [
        complete(0),
        LLMComplete("echo-1"),  # no prompt: validate() fails
        complete(2, model="no-such-model"),
        complete(3, idempotency_key="mine"),
        complete(4, temperature=9),  # past openapi.yml's limit: refused before it is sent
        "a prompt, not a job",
        complete(6),
    ]
    result = await client.jobs.submit_many(inputs, poll_interval=POLL)
    assert [item.status for item in result] == ["completed", "error", "error", "error", "error", "error", "completed"]
    assert isinstance(result[1].error, ValueError)
    assert "prompt" in str(result[1].error)
    assert isinstance(result[2].error, MicroDCError)
    assert isinstance(result[3].error, ValueError)
    assert "idempotency_key" in str(result[3].error)
    assert isinstance(result[4].error, ValueError)
    assert "temperature" in str(result[4].error)
    assert isinstance(result[5].error, TypeError)
    assert "input 5 is a str" in str(result[5].error)
    assert len(fake.jobs) == 2


async def test_a_failing_input_iterator_stops_the_run_saves_and_raises(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "batch.sqlite3"

    def inputs() -> Iterator[Dict[str, Any]]:
        for i in range(10):
            yield complete(i)
        raise OSError("the input file went away")

    with pytest.raises(OSError, match="went away"):
        await client.jobs.submit_many(inputs(), state_file=state, wait=False)
    assert len(fake.jobs) == 10
    assert sorted(rows(state)) == list(range(10))  # every job made is on disk


async def test_a_refused_api_key_raises_and_stops(fake: FakeMicroDC, tmp_path: Path) -> None:
    state = tmp_path / "batch.sqlite3"
    async with fake.client(api_key="wrong") as client:
        with pytest.raises(AuthenticationError):
            await client.jobs.submit_many([complete(i) for i in range(50)], state_file=state)
    assert len(submissions(fake)) < 50
    assert rows(state) == {}


BAD_OPTIONS: List[Tuple[Dict[str, Any], str]] = [
    ({"concurrency": 0}, "concurrency"),
    ({"cost_limit_usd": -1.0}, "cost_limit_usd"),
    ({"cost_limit_usd": float("inf")}, "cost_limit_usd"),
    ({"poll_interval": 0}, "poll"),
    ({"batch_id": "no spaces"}, "batch_id"),
    ({"defaults": {"idempotency_key": "k"}}, "idempotency_key"),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_OPTIONS)
async def test_bad_arguments_raise_value_error(
    client: AsyncMicroDC, fake: FakeMicroDC, kwargs: Dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        await client.jobs.submit_many([complete(0)], **kwargs)
    with pytest.raises(ValueError, match=match):
        client.jobs.batch([complete(0)], **kwargs)  # checked when the run is made, before anything runs
    assert fake.requests == []


def test_batch_options_are_one_frozen_value_with_a_copy_of_the_defaults() -> None:
    defaults = {"type": "llm_complete", "model": "echo-1"}
    options = BatchOptions(concurrency=4, defaults=defaults, shard=[1, 3])  # type: ignore[arg-type]
    defaults["model"] = "changed later"
    assert options.defaults == {"type": "llm_complete", "model": "echo-1"}
    assert options.shard == (1, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.concurrency = 8  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.defaults["model"] = "x"  # type: ignore[index]


def test_batch_options_check_the_response_model_and_max_reasks_once() -> None:
    class Reply(pydantic.BaseModel):
        text: str

    options = BatchOptions(response_model=Reply, max_reasks=2)
    assert (options.response_model, options.max_reasks) == (Reply, 2)
    with pytest.raises(TypeError, match="response_model"):
        BatchOptions(response_model=object())
    with pytest.raises(ValueError, match="max_reasks"):
        BatchOptions(response_model=Reply, max_reasks=-1)
    assert BatchOptions(max_reasks=-1).response_model is None  # no response model: nothing is re-asked


async def test_batch_and_submit_many_take_the_same_options(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    options: BatchArgs = {"concurrency": 2, "batch_id": "same", "poll_interval": POLL, "defaults": {"max_tokens": 8}}
    inputs = [{k: v for k, v in complete(i).items() if k != "max_tokens"} for i in range(3)]
    summary = await client.jobs.batch(inputs, **options).wait()
    result = await client.jobs.submit_many(inputs, **options)
    assert summary.batch_id == result.batch_id == "same"
    assert [item.status for item in result] == ["completed"] * 3
    assert len(created(fake)) == 3  # the second run's keys are the first's: replayed, none made twice
    assert {json.loads(r.body)["max_tokens"] for r in submissions(fake)} == {8}


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


# --- cost limit ---------------------------------------------------------------------------


@pytest.mark.parametrize("wait", [True, False])
async def test_a_cost_limit_is_never_passed_and_the_rest_is_skipped(
    client: AsyncMicroDC, fake: FakeMicroDC, wait: bool
) -> None:
    inputs = [complete(i) for i in range(300)]
    estimate = (await client.jobs.estimate_cost(inputs[0])).worst_case_usd
    limit = 30 * estimate + estimate / 2  # room for 30 jobs at their worst
    fake.reset_requests()

    result = await client.jobs.submit_many(inputs, concurrency=16, cost_limit_usd=limit, wait=wait, poll_interval=POLL)

    statuses = [item.status for item in result]
    ran = 300 - statuses.count("skipped_budget")
    assert all(item.job is None and item.job_id is None for item in result if item.status == "skipped_budget")
    assert len(fake.jobs) == ran
    assert sum(job["usage"]["cost_usd"] or 0 for job in fake.jobs.values() if job["usage"]) <= limit
    if wait:
        assert set(statuses) == {"completed", "skipped_budget"}
        # Actual costs come in under the worst cases, which makes room for more than 30.
        assert 30 < ran < 300
        assert result.spent_usd <= limit
    else:
        # Nothing finishes while submitting, so the worst cases decide: exactly 30.
        assert ran == 30
        assert statuses[:30] == ["submitted"] * 30
    model_lookups = [r for r in fake.requests if r.path == "/api/v1/models/echo-1"]
    assert len(model_lookups) <= 1  # pricing is fetched once per model and client


async def test_a_zero_budget_submits_nothing(client: AsyncMicroDC, fake: FakeMicroDC) -> None:
    result = await client.jobs.submit_many([complete(i) for i in range(5)], cost_limit_usd=0)
    assert result.counts["skipped_budget"] == 5
    assert not submissions(fake)


async def test_an_unknown_model_under_a_cost_limit_is_an_error_asked_once(
    client: AsyncMicroDC, fake: FakeMicroDC
) -> None:
    inputs = [complete(i, model="nope-1") for i in range(5)]
    result = await client.jobs.submit_many(inputs, cost_limit_usd=1.0)
    assert {item.status for item in result} == {"error"}
    assert all(isinstance(item.error, NotFoundError) for item in result)
    assert len([r for r in fake.requests if r.path == "/api/v1/models/nope-1"]) == 1
    assert not submissions(fake)
