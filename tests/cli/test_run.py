"""``microdc jobs run FILE.jsonl``: results file, summary, resume with --state, exit codes."""

from __future__ import annotations

import sys
import json
import time
import signal
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
            job = {"type": "llm_chat", "model": "echo-1", "messages": [{"role": "user", "content": f"chat {i}{fail}"}]}
        lines.append(json.dumps(job))
        if i == 3:
            lines.append("")  # blank lines are skipped
    path.write_text("\n".join(lines) + "\n")


def _recorded(state: Path) -> int:
    """Inputs the state file records (0 while it does not exist yet)."""
    try:
        return len(json.loads(state.read_text())["items"])
    except FileNotFoundError:
        return 0


def count_jobs(microdc: Runner) -> int:
    return len(json.loads(microdc("--json", "jobs", "list", "--all").stdout))


def test_run_200_jobs_into_a_results_file_then_resume_from_the_state(microdc: Runner, tmp_path: Path) -> None:
    source, results, state = tmp_path / "jobs.jsonl", tmp_path / "results.jsonl", tmp_path / "state.json"
    write_jobs(source, 200)
    before = count_jobs(microdc)

    ran = microdc(
        "jobs", "run", str(source), "--concurrency", "16", "--cost-limit", "1", "--state", str(state),
        "--output", str(results), "--poll-interval", "0.1",
    )  # fmt: skip

    assert ran.code == 0, ran.stderr
    lines = results.read_text().splitlines()
    assert len(lines) == 200
    rows = [json.loads(line) for line in lines]
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
    saved = json.loads(state.read_text())
    assert len(saved["items"]) == 200
    assert count_jobs(microdc) == before + 200

    again = microdc("jobs", "run", str(source), "--state", str(state), "-o", str(results), "--json", "--no-progress")
    assert again.code == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["batch_id"] == saved["batch_id"]
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
    assert [row["status"] for row in rows] == ["completed"] * 3
    assert "3 completed" in ran.stderr


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


def test_a_malformed_file_or_state_is_refused(microdc: Runner, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    source.write_text('{"type": "llm_complete", "model": "echo-1", "prompt": "x"}\n{oops\n')
    malformed = microdc("jobs", "run", str(source))
    assert malformed.code == 2
    assert "line 2 is not valid JSON" in malformed.stderr

    write_jobs(source, 2)
    state = tmp_path / "state.json"
    state.write_text("{ half a state")
    corrupt = microdc("jobs", "run", str(source), "--state", str(state))
    assert corrupt.code == 1
    assert "Cannot resume from batch state file" in corrupt.stderr
    assert "Traceback" not in corrupt.stderr
    assert state.read_text() == "{ half a state"


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_saves_the_state_and_a_rerun_submits_nothing_twice(slow_server: Server, tmp_path: Path) -> None:
    microdc = Runner(slow_server, tmp_path)
    source, state = tmp_path / "jobs.jsonl", tmp_path / "state.json"
    job = {"type": "llm_complete", "model": "echo-1", "max_tokens": 16}
    source.write_text("".join(json.dumps({**job, "prompt": f"p{i:03d}"}) + "\n" for i in range(100)))
    # Each job costs at most (1 input + 16 output tokens) at $0.5/$1.5 per million: $0.0000245.
    # A $0.0005 limit fits 20 of them; the jobs take a minute, so the run then waits, mid-way.
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
    deadline = time.monotonic() + 30
    while _recorded(state) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert out == ""
    assert f"same --state {state}) to resume" in err
    assert _recorded(state) == 20
    assert count_jobs(microdc) == before + 20

    rerun = microdc("jobs", "run", str(source), "--state", str(state), "--no-wait", "--no-progress")
    assert rerun.code == 0, rerun.stderr
    assert [json.loads(line)["status"] for line in rerun.stdout.splitlines()] == ["submitted"] * 100
    assert count_jobs(microdc) == before + 100  # the 20 were not submitted again
