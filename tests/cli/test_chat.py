"""``microdc chat`` in a subprocess against ``python -m microdc.testing`` (see conftest), fed on stdin.

What each turn sent is read back from the server: its job list shows every chat
job's usage, and the fake counts a job's input tokens as the words of
every message it was sent, so the history a turn carried shows in its input tokens.
"""

from __future__ import annotations

import subprocess
from typing import Any, Dict, List

import httpx
import pytest

from .conftest import API_KEY, COMMAND, Result, Runner


def chat(microdc: Runner, stdin: str, *args: str) -> Result:
    done = subprocess.run(
        [*COMMAND, "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=microdc.cwd,
        env=microdc.env(),
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def chat_jobs(microdc: Runner, since: List[str]) -> List[Dict[str, Any]]:
    """The chat jobs created after the ids in ``since``, oldest first (asked of the server directly)."""
    answer = httpx.get(
        f"{microdc.server.base_url}/api/v1/jobs",
        params={"type": "llm_chat", "limit": 100},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    answer.raise_for_status()
    jobs: List[Dict[str, Any]] = answer.json()["data"]
    return [job for job in reversed(jobs) if job["id"] not in since]


def known_ids(microdc: Runner) -> List[str]:
    return [job["id"] for job in chat_jobs(microdc, [])]


def test_each_line_is_a_turn_and_the_reply_is_printed(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "hello there\nsecond message\n", "--model", "echo-1")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == ["echo: hello there", "echo: second message"]
    assert "Chatting" not in result.stderr  # no prompt or banner when stdin is not a terminal
    jobs = chat_jobs(microdc, before)
    assert [job["status"] for job in jobs] == ["completed", "completed"]
    # The second turn carried the first exchange: 2 + 3 words, plus its own 2.
    assert [job["usage"]["input_tokens"] for job in jobs] == [2, 7]


def test_system_is_sent_and_clear_keeps_it(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "one\ntwo\n/clear\nthree\n", "-m", "echo-1", "--system", "Be very brief.")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == ["echo: one", "echo: two", "echo: three"]
    assert "History cleared." in result.stderr
    jobs = chat_jobs(microdc, before)
    # system (3 words) + "one"; + "echo: one" + "two"; after /clear: system + "three".
    assert [job["usage"]["input_tokens"] for job in jobs] == [4, 7, 4]


def test_cost_reports_the_spend_and_the_budget(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "a b c\n/cost\n", "-m", "echo-1", "--max-cost", "0.5", "--max-tokens", "8")
    assert result.code == 0, result.stderr
    reply, cost = result.stdout.splitlines()
    assert reply == "echo: a b c"
    [job] = chat_jobs(microdc, before)
    assert cost == (
        f"${job['usage']['cost_usd']:.6f} spent (3 tokens in, 4 out, 2 messages in the history) of a $0.5000 budget"
    )


def test_a_budget_too_small_for_one_turn_sends_nothing_and_fails(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "hello\n", "-m", "echo-1", "--max-cost", "0.001")
    assert result.code == 1
    assert result.stdout == ""
    assert "BudgetExceededError" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert chat_jobs(microdc, before) == []


def test_model_switches_and_a_model_without_chat_is_refused(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "first\n/model doc-1\nsecond\nnever sent\n", "-m", "echo-1")
    assert result.code == 1
    assert result.stdout.splitlines() == ["echo: first"]
    assert "Model: doc-1" in result.stderr
    assert "does not serve llm_chat" in result.stderr
    assert len(chat_jobs(microdc, before)) == 1


def test_an_unknown_model_gets_the_apis_not_found(microdc: Runner) -> None:
    result = chat(microdc, "hi\n", "-m", "no-such-model")
    assert result.code == 1
    assert "NotFoundError" in result.stderr


@pytest.mark.parametrize("line", ["/frobnicate", "/model"])
def test_a_bad_command_is_a_usage_error(microdc: Runner, line: str) -> None:
    result = chat(microdc, f"{line}\nhello\n", "-m", "echo-1")
    assert result.code == 2
    assert result.stdout == ""


def test_exit_ends_the_chat_and_blank_lines_are_skipped(microdc: Runner) -> None:
    result = chat(microdc, "\n   \nhi\n/exit\nnot read\n", "-m", "echo-1")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == ["echo: hi"]


def test_a_failed_job_is_reported_on_stderr(microdc: Runner) -> None:
    result = chat(microdc, "this will [fail]\n", "-m", "echo-1")
    assert result.code == 1
    assert "JobFailedError" in result.stderr
    assert "model_error" in result.stderr


def test_the_model_is_required(microdc: Runner) -> None:
    result = chat(microdc, "hi\n")
    assert result.code == 2
    assert "--model" in result.stderr
