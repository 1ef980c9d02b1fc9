"""``microdc chat`` in a subprocess against ``python -m microdc.testing`` (see conftest), fed on stdin.

What each turn sent is read back from the server: its job list shows every chat
job's usage, and the fake counts a job's input tokens as the words of
every message it was sent, so the history a turn carried shows in its input tokens.
"""

from __future__ import annotations

import os
import pty
import sys
import time
import select
import signal
import subprocess
from typing import Any, Dict, List
from pathlib import Path

import httpx
import pytest

from .conftest import API_KEY, COMMAND, Result, Runner, Server


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
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: Not sent: this message could cost up to $")
    assert "the --max-cost budget of $0.0010. Raise --max-cost, lower --max-tokens" in line
    assert "max_cost_usd" not in line  # the SDK's name for it
    assert chat_jobs(microdc, before) == []


def test_model_switches_and_a_model_without_chat_is_refused_when_named(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "first\n/model doc-1\nnever sent\n", "-m", "echo-1")
    assert result.code == 2
    assert result.stdout.splitlines() == ["echo: first"]
    [line] = result.stderr.splitlines()
    assert line == (
        "Error: Model 'doc-1' does not serve llm_chat jobs (it serves: document); "
        "'microdc models list' shows which models do. See 'microdc chat --help'."
    )
    assert "client.models" not in result.stderr
    assert len(chat_jobs(microdc, before)) == 1

    switched = chat(microdc, "/model echo-1\nsecond\n", "-m", "echo-1")
    assert switched.code == 0, switched.stderr
    assert switched.stdout.splitlines() == ["echo: second"]
    assert "Model: echo-1." in switched.stderr


def test_a_model_without_chat_is_refused_before_the_first_message(microdc: Runner) -> None:
    before = known_ids(microdc)
    result = chat(microdc, "hi\n", "-m", "embed-1")
    assert result.code == 2
    assert "Model 'embed-1' does not serve llm_chat jobs (it serves: llm_embed)" in result.stderr
    assert chat_jobs(microdc, before) == []


def test_an_unknown_model_gets_the_apis_not_found_and_where_to_look(microdc: Runner) -> None:
    result = chat(microdc, "hi\n", "-m", "no-such-model")
    assert result.code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: NotFoundError: ")
    assert line.endswith("('microdc models list' shows the models.)")


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


class Terminal:
    """``microdc chat`` with a pseudo-terminal for stdin, stdout and stderr, as a person runs it."""

    def __init__(self, server: Server, cwd: Path) -> None:
        self.server = server
        master, slave = pty.openpty()
        self.master = master
        self.process = subprocess.Popen(
            [*COMMAND, "chat", "--model", "echo-1"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=Runner(server, cwd).env(TERM=os.environ.get("TERM") or "xterm"),
            # A shell that started the tests in the background may ignore SIGINT: restore Ctrl-C.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        os.close(slave)
        self.seen = b""
        self.position = 0

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def expect(self, text: str, timeout: float = 60) -> None:
        """Read the terminal until ``text`` shows up after the previous text expected."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        while (found := self.seen.find(needle, self.position)) < 0:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never showed; the terminal shows {self.seen.decode(errors='replace')!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the other side closed: the process ended
                    break
        assert found >= 0, self.seen.decode(errors="replace")
        self.position = found + len(needle)

    def close(self) -> str:
        """Read the terminal until the process has closed it (at most 30 s); everything it showed."""
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    continue
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the process ended and closed its side
                    break
                if not chunk:
                    break
                self.seen += chunk
        finally:
            if self.process.poll() is None:
                try:
                    self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            os.close(self.master)
        return self.seen.decode(errors="replace")


def _active_chat_jobs(server: Server) -> List[Dict[str, Any]]:
    answer = httpx.get(
        f"{server.base_url}/api/v1/jobs",
        params={"type": "llm_chat", "status": "queued,running", "limit": 100},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    answer.raise_for_status()
    jobs: List[Dict[str, Any]] = answer.json()["data"]
    return jobs


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal and SIGINT")
def test_at_a_terminal_it_prompts_goes_on_after_errors_and_ctrl_c_cancels_the_reply(
    slow_server: Server, tmp_path: Path
) -> None:
    terminal = Terminal(slow_server, tmp_path)
    try:
        terminal.expect("> ")
        terminal.type("/model doc-1\n")  # refused: doc-1 serves no chat; the chat goes on with echo-1
        terminal.expect("does not serve llm_chat")
        terminal.expect("> ")
        assert _active_chat_jobs(slow_server) == []
        terminal.type("a reply that takes a minute\n")
        deadline = time.monotonic() + 60
        while not _active_chat_jobs(slow_server):
            assert time.monotonic() < deadline, "the turn's job was never submitted"
            time.sleep(0.05)
        [job] = _active_chat_jobs(slow_server)
        terminal.process.send_signal(signal.SIGINT)
        terminal.expect("> ")  # back at the prompt
        assert _active_chat_jobs(slow_server) == []
        cancelled = httpx.get(
            f"{slow_server.base_url}/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {API_KEY}"}
        ).json()
        assert cancelled["status"] == "cancelled"
        terminal.type("\x04")  # Ctrl-D
    finally:
        shown = terminal.close()
    assert terminal.process.returncode == 0, shown
    assert "Chatting with echo-1" in shown
    assert "does not serve llm_chat" in shown
    assert "(stopped" in shown


LEFT, RIGHT, UP, HOME = "\x1b[D", "\x1b[C", "\x1b[A", "\x01"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal and readline")
def test_at_a_terminal_lines_are_edited_recalled_and_commands_completed(server: Server, tmp_path: Path) -> None:
    terminal = Terminal(server, tmp_path)
    try:
        terminal.expect("> ")
        # "helo wrld", then fixed in place: the cursor keys move inside the line.
        terminal.type("helo wrld" + LEFT * 4 + RIGHT + "o" + HOME + RIGHT * 3 + "l\r")
        terminal.expect("echo: hello world")
        terminal.expect("> ")
        terminal.type(UP + "\r")  # the history: the same message again
        terminal.expect("echo: hello world")
        terminal.expect("> ")
        terminal.type("/co\t\r")  # Tab completes the command
        terminal.expect("spent (")
        terminal.expect("> ")
        terminal.type("\x04")
    finally:
        shown = terminal.close()
    assert terminal.process.returncode == 0, shown
    assert "^[[" not in shown  # no cursor key printed raw
