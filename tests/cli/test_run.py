"""``microdc jobs run FILE.jsonl``: streamed results, lazy reading, resume with --state, shards, Ctrl-C, exit codes."""

from __future__ import annotations

import sys
import json
import time
import signal
import sqlite3
import subprocess
from typing import Any, Dict, List
from pathlib import Path

import pytest

from .conftest import COMMAND, Runner, Server


def write_jobs(path: Path, count: int) -> None:
    lines: List[str] = []
    for i in range(count):
        fail = " [fail]" if i % 40 == 9 else ""
        if i % 2:
            job: Dict[str, Any] = {
                "type": "llm_complete",
                "model": "echo-1",
                "prompt": f"line {i}{fail}",
                "max_tokens": 16,
            }
        else:
            job = {
                "type": "llm_chat",
                "model": "echo-1",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": f"chat {i}{fail}"}],
            }
        lines.append(json.dumps(job))
        if i == 3:
            lines.append("")  # blank lines are skipped
    path.write_text("\n".join(lines) + "\n")


def recorded(state: Path) -> int:
    """Inputs the state file records (read once the run has let go of it)."""
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
    finally:
        db.close()


def count_jobs(microdc: Runner) -> int:
    return len(json.loads(microdc("--json", "jobs", "list", "--all").stdout))


def test_run_200_jobs_into_a_results_file_then_resume_from_the_state(microdc: Runner, tmp_path: Path) -> None:
    source, results, state = tmp_path / "jobs.jsonl", tmp_path / "results.jsonl", tmp_path / "state.sqlite3"
    write_jobs(source, 200)
    before = count_jobs(microdc)

    ran = microdc(
        "jobs", "run", str(source), "--concurrency", "16", "--cost-limit", "1", "--state", str(state),
        "--output", str(results), "--poll-interval", "0.1",
    )  # fmt: skip

    assert ran.code == 0, ran.stderr
    rows = sorted((json.loads(line) for line in results.read_text().splitlines()), key=lambda row: row["index"])
    assert [row["index"] for row in rows] == list(range(200))
    assert rows[4]["line"] == 6  # the blank line after line 4 is not an input
    for i, row in enumerate(rows):
        assert row["status"] == ("failed" if i % 40 == 9 else "completed"), row
        assert row["job"]["id"] == row["job_id"]
        assert row["error"] is None
    assert rows[1]["job"]["result"]["text"] == "echo: line 1"
    assert rows[0]["job"]["result"]["message"]["content"] == "echo: chat 0"
    assert "195 completed, 5 failed" in ran.stdout
    assert f"results: {results}" in ran.stdout
    assert "200/200 done" in ran.stderr  # the progress, as lines: stderr is not a terminal
    assert "jobs/s" in ran.stderr
    assert "$" in ran.stderr
    assert recorded(state) == 200
    assert count_jobs(microdc) == before + 200

    again = microdc("jobs", "run", str(source), "--state", str(state), "-o", str(results), "--json", "--no-progress")
    assert again.code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["counts"]["completed"] == 195
    assert summary["total"] == 200
    assert again.stderr == ""
    assert count_jobs(microdc) == before + 200  # nothing submitted twice
    assert len(results.read_text().splitlines()) == 200


def test_run_writes_results_to_stdout_without_output(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    write_jobs(source, 3)
    ran = microdc("jobs", "run", str(source), "--poll-interval", "0.1", "--no-progress")
    assert ran.code == 0, ran.stderr
    rows = [json.loads(line) for line in ran.stdout.splitlines()]
    assert sorted(row["index"] for row in rows) == [0, 1, 2]
    assert {row["status"] for row in rows} == {"completed"}
    assert "3 completed" in ran.stderr


def test_the_file_is_read_as_the_run_goes_and_results_written_as_they_come(server: Server, tmp_path: Path) -> None:
    microdc = Runner(server, tmp_path)
    results = tmp_path / "results.jsonl"
    job = {"type": "llm_complete", "model": "echo-1", "max_tokens": 4}
    process = subprocess.Popen(
        [*COMMAND, "jobs", "run", "-", "-o", str(results), "--no-wait", "--no-progress"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=microdc.env(),
    )
    assert process.stdin is not None
    try:
        for i in range(5):
            process.stdin.write(json.dumps({**job, "prompt": f"first {i}"}) + "\n")
        process.stdin.flush()
        deadline = time.monotonic() + 60
        # Results for the first lines are in the file while the input is still open.
        while time.monotonic() < deadline and (not results.exists() or len(results.read_text().splitlines()) < 5):
            time.sleep(0.05)
        written_while_open = len(results.read_text().splitlines())
        still_running = process.poll() is None
        out, err = process.communicate(json.dumps({**job, "prompt": "last"}) + "\n", timeout=60)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    assert (written_while_open, still_running) == (5, True)
    assert process.returncode == 0, err
    assert sorted(json.loads(line)["index"] for line in results.read_text().splitlines()) == list(range(6))
    assert "6 submitted" in out


def test_shards_split_the_file(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    write_jobs(source, 10)
    before = count_jobs(microdc)
    indices: List[int] = []
    for i in range(2):
        out = tmp_path / f"part{i}.jsonl"
        ran = microdc(
            "jobs", "run", str(source), "-o", str(out), "--shard", f"{i}/2", "--batch-id", "cli-shards",
            "--state", str(tmp_path / f"s{i}.sqlite3"), "--no-wait", "--no-progress",
        )  # fmt: skip
        assert ran.code == 0, ran.stderr
        part = [json.loads(line)["index"] for line in out.read_text().splitlines()]
        assert all(index % 2 == i for index in part)
        indices += part
    assert sorted(indices) == list(range(10))
    assert count_jobs(microdc) == before + 10
    bad = microdc("jobs", "run", str(source), "--shard", "2/2")
    assert bad.code == 2
    assert "--shard" in bad.stderr


def test_a_budget_skips_inputs_and_errors_exit_1(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    write_jobs(source, 4)
    skipped = microdc("jobs", "run", str(source), "--cost-limit", "0", "--no-progress")
    assert skipped.code == 0, skipped.stderr
    assert [json.loads(line)["status"] for line in skipped.stdout.splitlines()] == ["skipped_budget"] * 4

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"type": "llm_complete", "model": "no-such-model", "prompt": "x"}) + "\n")
    failed = microdc("jobs", "run", str(bad), "--no-progress")
    assert failed.code == 1
    row = json.loads(failed.stdout)
    assert row["status"] == "error"
    assert row["error"]["type"] in ("NotFoundError", "UnprocessableEntityError", "BadRequestError")
    assert "1 input(s) could not be submitted" in failed.stderr


def test_a_malformed_line_is_its_inputs_error_and_the_run_goes_on(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    good = {"type": "llm_complete", "model": "echo-1", "prompt": "x", "max_tokens": 4}
    source.write_text(f"{json.dumps(good)}\n{{oops\n[1, 2]\n{json.dumps(good)}\n")
    ran = microdc("jobs", "run", str(source), "--no-progress", "--poll-interval", "0.1")
    assert ran.code == 1
    rows = {row["line"]: row for row in map(json.loads, ran.stdout.splitlines())}
    assert (rows[1]["status"], rows[4]["status"]) == ("completed", "completed")
    assert "line 2 is not valid JSON" in rows[2]["error"]["message"]
    assert "line 3 is not a JSON object" in rows[3]["error"]["message"]
    assert "Traceback" not in ran.stderr


def test_a_file_that_is_not_a_state_is_refused_in_one_line(microdc: Runner, tmp_path: Path) -> None:
    source, state = tmp_path / "jobs.jsonl", tmp_path / "state.sqlite3"
    write_jobs(source, 2)
    state.write_text("{ half a state")
    corrupt = microdc("jobs", "run", str(source), "--state", str(state))
    assert corrupt.code == 1
    assert corrupt.stderr == (
        f"Error: Cannot use the state file {state}: it is not an SQLite database, so not a microdc batch state. "
        "It was left untouched; fix it, or pass another --state (one that does not exist starts a new run).\n"
    )
    assert "state_file" not in corrupt.stderr  # the SDK's name for it
    assert state.read_text() == "{ half a state"


def test_a_line_without_type_gets_it_from_its_input_and_a_missing_field_is_named(
    microdc: Runner, tmp_path: Path
) -> None:
    source = tmp_path / "jobs.jsonl"
    lines = [
        {"model": "echo-1", "prompt": "no type given"},
        {"model": "echo-1", "messages": [{"role": "user", "content": "chat without type"}]},
        {"model": "embed-1", "texts": ["one", "two"]},
        {"type": "llm_complete", "model": "echo-1"},
        {"model": "echo-1"},
        {"model": "echo-1", "prompt": "x", "idempotency_key": "mine"},
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ran = microdc("jobs", "run", str(source), "--no-progress", "--poll-interval", "0.1")
    assert ran.code == 1
    rows = {row["line"]: row for row in map(json.loads, ran.stdout.splitlines())}
    assert [rows[n]["job"]["type"] for n in (1, 2, 3)] == ["llm_complete", "llm_chat", "llm_embed"]
    assert rows[1]["job"]["result"]["text"] == "echo: no type given"
    assert rows[4]["error"]["message"] == 'line 4: "prompt" is missing (llm_complete jobs need it)'
    assert rows[5]["error"]["message"] == (
        'line 5: no "type", and none of the inputs that tell it: "prompt" (llm_complete), '
        '"messages" (llm_chat), "texts" (llm_embed), "file_tokens" (document)'
    )
    assert rows[6]["error"]["message"] == (
        'line 6 sets "idempotency_key": jobs run gives each job its own (from the batch id); remove it'
    )
    assert all("create()" not in row["error"]["message"] for row in rows.values() if row["error"])


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_saves_the_state_says_how_to_resume_and_a_rerun_submits_nothing_twice(
    slow_server: Server, tmp_path: Path
) -> None:
    microdc = Runner(slow_server, tmp_path)
    source, state = tmp_path / "jobs.jsonl", tmp_path / "state.sqlite3"
    job = {"type": "llm_complete", "model": "echo-1", "max_tokens": 16}
    source.write_text("".join(json.dumps({**job, "prompt": f"p{i:03d}"}) + "\n" for i in range(100)))
    # Each job costs at most (4 input + 16 output tokens) at $0.5/$1.5 per million: $0.000026.
    # A $0.0005 limit fits 19 of them; the jobs take a minute, so the run then waits, mid-way.
    before = count_jobs(microdc)
    process = subprocess.Popen(
        [*COMMAND, "jobs", "run", str(source), "--state", str(state), "--cost-limit", "0.0005", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=microdc.env(),
        # A shell that started these tests in the background may ignore SIGINT, and
        # the child would inherit that: restore the default so Python turns it into Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while count_jobs(microdc) < before + 19 and time.monotonic() < deadline:
        time.sleep(0.1)
    made = count_jobs(microdc) - before
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert out == ""
    assert f"the state is saved in {state}; resume with: microdc jobs run {source} --state {state}" in err
    assert recorded(state) == made == 19

    rerun = microdc("jobs", "run", str(source), "--state", str(state), "--no-wait", "--no-progress")
    assert rerun.code == 0, rerun.stderr
    assert [json.loads(line)["status"] for line in rerun.stdout.splitlines()] == ["submitted"] * 100
    assert count_jobs(microdc) == before + 100  # the 19 were not submitted again
