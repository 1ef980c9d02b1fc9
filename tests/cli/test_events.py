"""``microdc jobs events JOB_ID``: every event as it arrives, as lines or JSON Lines, resumable."""

from __future__ import annotations

import sys
import json
import signal
import subprocess
from typing import Any, Dict, List
from pathlib import Path

import pytest

from .conftest import COMMAND, Runner, Server


def submit(microdc: Runner, prompt: str) -> str:
    created = microdc("--json", "jobs", "create", "--model", "echo-1", "--prompt", prompt)
    assert created.code == 0, created.stderr
    job_id: str = json.loads(created.stdout)["id"]
    return job_id


def test_events_as_json_lines_from_the_first_to_the_terminal_one(microdc: Runner) -> None:
    job_id = submit(microdc, "hello there friend")
    result = microdc("jobs", "events", job_id, "--json")
    assert result.code == 0, result.stderr
    events: List[Dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    names = [event["event"] for event in events]
    assert names[0] == "job.status"
    assert names[-1] == "job.completed"
    assert names.count("job.completed") == 1
    deltas = "".join(event["data"]["delta"] for event in events if event["event"] == "job.output.delta")
    assert deltas == "echo: hello there friend"
    assert events[-1]["data"]["result"]["text"] == deltas
    ids = [event["id"] for event in events]
    assert len(set(ids)) == len(ids)
    assert result.stderr == ""


def test_events_for_people_one_line_each_and_resumed_after_an_id(microdc: Runner) -> None:
    job_id = submit(microdc, "hello there")
    whole = microdc("jobs", "events", job_id)
    assert whole.code == 0, whole.stderr
    lines = whole.stdout.splitlines()
    assert lines[0].split()[1:] == ["job.status", "queued", "0%"]
    assert lines[-1].split(maxsplit=2)[1:] == ["job.completed", "completed: echo: hello there"]
    assert any(line.split(maxsplit=2)[1:] == ["job.output.delta", '"echo: "'] for line in lines)

    # After the second event: the rest, and only the rest.
    second_id = lines[1].split()[0]
    rest = microdc("jobs", "events", job_id, "--last-event-id", second_id)
    assert rest.code == 0, rest.stderr
    assert rest.stdout.splitlines() == lines[2:]


def test_events_of_an_unknown_job_is_one_error_line(microdc: Runner) -> None:
    result = microdc("jobs", "events", "job_nope")
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: NotFoundError: ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_says_how_to_resume(slow_server: Server, tmp_path: Path) -> None:
    microdc = Runner(slow_server, tmp_path)
    job_id = submit(microdc, "a minute long")
    process = subprocess.Popen(
        [*COMMAND, "jobs", "events", job_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=microdc.env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the first event: the stream is open
        assert "job.status" in first
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 130, err
    # The id to resume after is that of the last event printed (more may have come before Ctrl-C).
    last_id = (first + rest).splitlines()[-1].split()[0]
    assert err.strip().splitlines()[-1] == (
        f"Interrupted: resume with: microdc jobs events {job_id} --last-event-id {last_id}"
    )
