"""The batch state file: SQLite, one row per input, its lock, every BatchStateError, a crash mid-save."""

from __future__ import annotations

import os
import sys
import json
import signal
import sqlite3
import subprocess
from typing import Any, Dict, List, Iterator, AsyncIterator
from pathlib import Path

import anyio
import pytest

from microdc import AsyncMicroDC, MicroDCError
from microdc.testing import FakeMicroDC
from microdc.lib.batch import BatchProgress, BatchStateError
from microdc.lib.retry import disable_retry_delays
from microdc.lib.batch._state import APPLICATION_ID, SCHEMA_VERSION, BatchState

POLL = 0.05


def complete(i: int, **extra: Any) -> Dict[str, Any]:
    return {"type": "llm_complete", "model": "echo-1", "prompt": f"p{i}", "max_tokens": 8, **extra}


def query(state: Path, sql: str) -> List[Any]:
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.fixture(autouse=True)
def _no_retry_delays() -> Iterator[None]:
    with disable_retry_delays():
        yield


@pytest.fixture
def fake() -> FakeMicroDC:
    return FakeMicroDC(job_duration=0.02, seed=11)


@pytest.fixture
async def client(fake: FakeMicroDC) -> AsyncIterator[AsyncMicroDC]:
    async with fake.client() as client:
        yield client


async def test_the_state_is_an_sqlite_database_with_one_row_per_input(client: AsyncMicroDC, tmp_path: Path) -> None:
    state = tmp_path / "run.sqlite3"
    inputs: List[Any] = [complete(0), complete(1, prompt="x [fail]"), "not a job", complete(3)]
    result = await client.jobs.submit_many(inputs, state_file=state, batch_id="b-1", poll_interval=POLL)
    assert os.listdir(tmp_path) == ["run.sqlite3"]  # the WAL was folded back in at close
    assert query(state, "PRAGMA application_id") == [(APPLICATION_ID,)]
    assert query(state, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(state, "PRAGMA journal_mode") == [("wal",)]
    assert dict(query(state, "SELECT key, value FROM meta"))["batch_id"] == "b-1"
    recorded = query(state, "SELECT idx, status, job_id, cost_usd FROM items ORDER BY idx")
    assert [(i, s) for i, s, _, _ in recorded] == [(0, "completed"), (1, "failed"), (2, "error"), (3, "completed")]
    assert [j for _, _, j, _ in recorded] == [item.job_id for item in result]
    assert sum(c for _, _, _, c in recorded) == pytest.approx(result.spent_usd)


async def test_the_batch_id_is_on_disk_before_anything_is_submitted(client: AsyncMicroDC, tmp_path: Path) -> None:
    state = tmp_path / "run.sqlite3"
    seen: List[Any] = []

    def on_progress(progress: BatchProgress) -> None:
        if not seen and progress.pending:
            seen.append(os.path.getsize(state))

    await client.jobs.submit_many([complete(0)], state_file=state, on_progress=on_progress, poll_interval=POLL)
    assert seen
    assert seen[0] > 0


NOT_A_STATE = {
    "text": b"hello, not a database\n",
    "empty": b"",
    "old json state": b'{"format": "microdc.batch", "version": 1, "batch_id": "b", "items": {}}',
}


def _other_sqlite(path: Path, *, app_id: int = 0, version: int = 0) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.execute(f"PRAGMA application_id = {app_id}")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


@pytest.mark.parametrize("kind", [*NOT_A_STATE, "another sqlite database", "a future schema version"])
async def test_a_file_that_is_not_a_state_is_refused_and_left_untouched(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path, kind: str
) -> None:
    state = tmp_path / "run.sqlite3"
    if kind in NOT_A_STATE:
        state.write_bytes(NOT_A_STATE[kind])
    elif kind == "another sqlite database":
        _other_sqlite(state)
    else:
        _other_sqlite(state, app_id=APPLICATION_ID, version=SCHEMA_VERSION + 1)
    content = state.read_bytes()
    with pytest.raises(BatchStateError) as caught:
        await client.jobs.submit_many([complete(0)], state_file=state)
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, MicroDCError)
    assert str(state) in str(error)
    assert "left untouched" in str(error)
    assert error.path == state
    assert state.read_bytes() == content
    assert os.listdir(tmp_path) == ["run.sqlite3"]
    assert not fake.requests


async def test_another_batch_or_changed_inputs_are_refused_and_the_file_left_untouched(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "run.sqlite3"
    inputs = [complete(i) for i in range(3)]
    await client.jobs.submit_many(inputs, state_file=state, batch_id="one", poll_interval=POLL)
    content = state.read_bytes()
    requests = len(fake.requests)
    with pytest.raises(BatchStateError, match="'two'"):
        await client.jobs.submit_many(inputs, state_file=state, batch_id="two")
    changed = [inputs[0], complete(1, prompt="something else"), inputs[2]]
    with pytest.raises(BatchStateError, match="input 1 differs"):
        await client.jobs.submit_many(changed, state_file=state)
    with pytest.raises(BatchStateError, match="only 2 input"):
        await client.jobs.submit_many(inputs[:2], state_file=state)
    assert state.read_bytes() == content
    assert not [r for r in fake.requests[requests:] if r.method == "POST"]
    # More inputs than before is fine: the new ones are submitted.
    more = await client.jobs.submit_many([*inputs, complete(3)], state_file=state, poll_interval=POLL)
    assert [item.status for item in more] == ["completed"] * 4
    assert len(fake.jobs) == 4


async def test_a_state_in_use_by_another_run_in_this_process_is_refused(
    client: AsyncMicroDC, fake: FakeMicroDC, tmp_path: Path
) -> None:
    state = tmp_path / "run.sqlite3"
    fake.job_duration = 60.0
    async with client.jobs.batch([complete(0)], state_file=state, poll_interval=POLL) as first:
        with pytest.raises(BatchStateError, match="in use"):
            await client.jobs.batch([complete(0)], state_file=state).wait()
        await first.cancel(remote=True)
    assert (await client.jobs.batch([complete(0)], state_file=state, wait=False).wait()).total == 1  # free again


HOLD_LOCK = """
import sys, time
from microdc.lib.batch._state import BatchState
state = BatchState.open(sys.argv[1], None)
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def locked_state(tmp_path: Path) -> Iterator[Path]:
    """A state file another process holds open (and so locked) until the test ends."""
    state = tmp_path / "run.sqlite3"
    BatchState.open(state, "shared").close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield state
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


async def test_a_state_in_use_by_another_process_is_refused(client: AsyncMicroDC, locked_state: Path) -> None:
    with pytest.raises(BatchStateError, match="in use by another run") as caught:
        await client.jobs.submit_many([complete(0)], state_file=locked_state)
    assert str(locked_state) in str(caught.value)


# --- a crash in the middle of a save -------------------------------------------------------

CRASH_MID_SAVE = """
import os, sys, json, asyncio
from microdc import AsyncMicroDC
from microdc.lib.batch import _state

real_write = _state.BatchState.write
saves = 0

def write(self, rows):
    global saves
    saves += 1
    if saves == 2:  # the second save dies half-way through its transaction
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[: len(rows) // 2])
        os._exit(17)
    real_write(self, rows)

_state.BatchState.write = write

async def inputs():
    jobs = [json.loads(line) for line in open(sys.argv[2])]
    for index, job in enumerate(jobs):
        if index == len(jobs) // 2:  # the first half is saved (within 30 s) before the second is read
            for _ in range(3000):
                if saves:
                    break
                await asyncio.sleep(0.01)
        yield job

async def main():
    async with AsyncMicroDC(api_key="k", base_url=sys.argv[1]) as client:
        await client.jobs.batch(inputs(), state_file=sys.argv[3], batch_id="crash", wait=False, concurrency=8).wait()

asyncio.run(main())
"""


async def test_a_crash_in_the_middle_of_a_save_resumes_without_duplicates(fake_process: str, tmp_path: Path) -> None:
    state, source = tmp_path / "run.sqlite3", tmp_path / "inputs.jsonl"
    inputs = [{**complete(i), "metadata": {"i": str(i)}} for i in range(1200)]
    source.write_text("".join(json.dumps(job) + "\n" for job in inputs))
    with anyio.fail_after(300):
        crashed = await anyio.run_process(
            [sys.executable, "-c", CRASH_MID_SAVE, fake_process, str(source), str(state)], check=False
        )
    assert crashed.returncode == 17, crashed.stderr.decode()
    saved = query(state, "SELECT count(*) FROM items")[0][0]  # the first save only: the second never committed
    assert 0 < saved <= 600

    async with AsyncMicroDC(api_key="k", base_url=fake_process) as client:
        async with client.jobs.batch(inputs, state_file=state, wait=False, concurrency=8) as run:
            odd = [item async for item in run if item.status != "submitted"]
        summary = run.summary()
        assert odd == []
        assert summary.batch_id == "crash"
        assert summary.counts["submitted"] == 1200
        jobs = [job async for job in client.jobs.list(limit=100)]
    assert len(jobs) == 1200  # none twice: the unrecorded ones were replayed under their keys
    assert sorted(int(job.metadata["i"]) for job in jobs) == list(range(1200))
    assert query(state, "SELECT count(*), count(DISTINCT job_id) FROM items") == [(1200, 1200)]
