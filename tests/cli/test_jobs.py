"""``microdc jobs create|get|status|list|wait|cancel|ack``, ``models list``, and how errors exit."""

from __future__ import annotations

import re
import json
import shutil
import platform
from typing import Dict, List
from pathlib import Path

import httpx
import pytest

from microdc import __version__
from microdc.testing._models_catalog import MODELS

from .conftest import Runner, Server


def fields(text: str) -> Dict[str, str]:
    """``name  value`` lines as a dict (the first line of each value)."""
    found: Dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+)\s{2,}(.*)$", line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_help_and_version(microdc: Runner) -> None:
    shown = microdc("--help")
    assert shown.code == 0
    for group in ("jobs", "files", "models", "MICRODC_API_KEY"):
        assert group in shown.stdout
    jobs_help = microdc("jobs", "--help")
    for command in ("create", "get", "status", "list", "wait", "cancel", "ack", "run"):
        assert re.search(rf"^\s+{command}\s", jobs_help.stdout, re.MULTILINE), command
    version = microdc("--version")
    assert version.code == 0
    sdk, python, http = version.stdout.splitlines()
    assert sdk == f"microdc {__version__}"
    assert python.startswith(f"Python {platform.python_version()} ({platform.python_implementation()}, ")
    assert http == f"httpx {httpx.__version__}"


def test_models_list_as_a_table_and_as_json(microdc: Runner) -> None:
    table = microdc("models", "list")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "JOB", "TYPES", "CONTEXT", "DIMENSIONS", "INPUT", "$/M", "OUTPUT", "$/M"]
    assert lines[1].split() == ["echo-1", "llm_complete,llm_chat", "8192", "-", "0.5", "1.5"]
    as_json = microdc("--json", "models", "list")
    assert as_json.code == 0
    models = json.loads(as_json.stdout)
    assert [m["id"] for m in models] == list(MODELS)
    assert models[0]["pricing"] == {"input_per_million_tokens": 0.5, "output_per_million_tokens": 1.5}


def test_models_get_shows_one_model(microdc: Runner) -> None:
    shown = microdc("models", "get", "embed-1")
    assert shown.code == 0, shown.stderr
    model = fields(shown.stdout)
    assert (model["id"], model["job_types"], model["embedding_dimensions"]) == ("embed-1", "llm_embed", "8")
    assert model["max_output_tokens"] == "-"
    assert model["input_price"] == "$0.1 per million tokens"
    as_json = json.loads(microdc("--json", "models", "get", "echo-1").stdout)
    assert (as_json["id"], as_json["job_types"]) == ("echo-1", ["llm_complete", "llm_chat"])
    missing = microdc("models", "get", "no-such-model")
    assert missing.code == 1
    assert one_error_line(missing.stderr).startswith("Error: NotFoundError: ")


def test_a_job_from_create_to_ack(microdc: Runner) -> None:
    created = microdc("jobs", "create", "--model", "echo-1", "--prompt", "hello there", "--metadata", "team=cli")
    assert created.code == 0, created.stderr
    job = fields(created.stdout)
    assert job["type"] == "llm_complete"
    assert job["status"] == "queued"
    assert job["metadata"] == "team=cli"
    job_id = job["id"]
    assert job_id.startswith("job_")

    waited = microdc("jobs", "wait", job_id, "--timeout", "30", "--poll-interval", "0.1")
    assert waited.code == 0, waited.stderr
    assert fields(waited.stdout)["status"] == "completed"
    assert fields(waited.stdout)["result"] == "echo: hello there"
    assert re.match(r"\d+ in \+ \d+ out tokens, \$", fields(waited.stdout)["usage"])

    got = microdc("jobs", "get", job_id, "--json")
    assert got.code == 0
    body = json.loads(got.stdout)
    assert body["id"] == job_id
    assert body["result"] == {"type": "llm_complete", "text": "echo: hello there", "finish_reason": "stop"}

    status = microdc("--json", "jobs", "status", job_id)
    assert json.loads(status.stdout)["status"] == "completed"
    assert fields(microdc("jobs", "status", job_id).stdout)["progress"] == "100%"

    acked = microdc("jobs", "ack", job_id)
    assert acked.code == 0
    assert fields(acked.stdout)["acknowledged"] == "yes"

    # A finished job cannot be cancelled: exit 1, one line on stderr.
    refused = microdc("jobs", "cancel", job_id)
    assert refused.code == 1
    assert refused.stdout == ""
    assert one_error_line(refused.stderr).startswith("Error: ConflictError: ")


def test_create_chat_and_embed_jobs_and_wait(microdc: Runner) -> None:
    chat = microdc(
        "jobs",
        "create",
        "--model",
        "echo-1",
        "--message",
        "system:Be brief.",
        "--message",
        "user:Hi",
        "--wait",
        "--json",
    )
    assert chat.code == 0, chat.stderr
    job = json.loads(chat.stdout)
    assert job["type"] == "llm_chat"
    assert job["status"] == "completed"
    assert job["result"]["message"] == {"role": "assistant", "content": "echo: Hi"}

    embed = microdc("jobs", "create", "--model", "embed-1", "--text", "a", "--text", "b", "--wait")
    assert embed.code == 0, embed.stderr
    assert fields(embed.stdout)["result"] == "2 embedding(s) of 8 dimensions"

    from_json = microdc(
        "jobs", "create", "--params", '{"type": "llm_complete", "model": "echo-1", "prompt": "x"}', "--priority", "high"
    )
    assert from_json.code == 0, from_json.stderr
    assert fields(from_json.stdout)["priority"] == "high"


def test_cancel_a_running_job(slow_server: Server, tmp_path: Path) -> None:
    microdc = Runner(slow_server, tmp_path)
    job_id = json.loads(microdc("jobs", "create", "--model", "echo-1", "--prompt", "slow", "--json").stdout)["id"]
    cancelled = microdc("jobs", "cancel", job_id)
    assert cancelled.code == 0, cancelled.stderr
    assert fields(cancelled.stdout)["status"] == "cancelled"


def test_a_wait_that_times_out_says_so_in_the_commands_terms(slow_server: Server, tmp_path: Path) -> None:
    microdc = Runner(slow_server, tmp_path)
    timed_out = microdc("jobs", "create", "--model", "echo-1", "--prompt", "x", "--wait", "--wait-timeout", "0.5")
    assert timed_out.code == 1
    line = one_error_line(timed_out.stderr)
    job_id = line.split()[2]
    assert re.fullmatch(
        rf"Error: Job {job_id} did not finish within 0\.5 s \(last status: (queued|running)\)\. "
        rf"Run 'microdc jobs wait {job_id}' to keep waiting, or pass a larger --wait-timeout\.",
        line,
    ), line
    waited = microdc("jobs", "wait", job_id, "--timeout", "2")
    assert waited.code == 1
    assert one_error_line(waited.stderr).endswith("to keep waiting, or pass a larger --timeout.")
    assert "jobs.wait" not in waited.stderr
    assert "`timeout`" not in waited.stderr


def test_list_jobs(microdc: Runner) -> None:
    for prompt in ("one", "two"):
        assert microdc("jobs", "create", "--model", "echo-1", "--prompt", prompt, "--wait").code == 0
    table = microdc("jobs", "list", "--limit", "2")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "MODEL", "STATUS", "PROGRESS", "CREATED", "COST"]
    assert len(lines) == 3
    assert all(line.startswith("job_") for line in lines[1:])

    listed = json.loads(
        microdc("jobs", "list", "--status", "completed,failed", "--type", "llm_complete", "--json").stdout
    )
    assert listed
    assert {job["status"] for job in listed} <= {"completed", "failed"}
    assert {job["type"] for job in listed} == {"llm_complete"}
    everything = json.loads(microdc("--json", "jobs", "list", "--all").stdout)
    assert len(everything) >= len(listed)


def test_list_jobs_a_page_at_a_time_and_by_id(microdc: Runner) -> None:
    made = [
        json.loads(microdc("--json", "jobs", "create", "--model", "echo-1", "--prompt", f"page {i}").stdout)["id"]
        for i in range(3)
    ]
    newest = list(reversed(made))
    first = microdc("jobs", "list", "--limit", "2")
    assert [line.split()[0] for line in first.stdout.splitlines()[1:]] == newest[:2]
    assert first.stderr == f"(More jobs: add --after {newest[1]} for the next page, or --all for every one.)\n"
    second = json.loads(microdc("--json", "jobs", "list", "--limit", "1", "--after", newest[1]).stdout)
    assert [job["id"] for job in second] == [newest[2]]
    # More than a page of the API's (100) is walked page by page.
    assert len(json.loads(microdc("--json", "jobs", "list", "--limit", "150").stdout)) >= 3

    by_id = json.loads(microdc("--json", "jobs", "list", "--id", f"{made[0]},{made[2]}", "--id", made[1]).stdout)
    assert sorted(job["id"] for job in by_id) == sorted(made)
    too_many = microdc("jobs", "list", "--id", ",".join(f"job_{i}" for i in range(101)))
    assert too_many.code == 2
    assert "at most 100 ids, got 101" in too_many.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model", "echo-1"],
            "Pass --type, or exactly one kind of input: --prompt, --message, --text, --file-token.",
        ),
        (
            ["--type", "llm_complete", "--model", "echo-1"],
            "Missing option '--prompt': llm_complete jobs need it (or \"prompt\" in --params).",
        ),
        (
            ["--model", "echo-1", "--prompt", "hi", "--text", "a"],
            "Pass --type, or exactly one kind of input: --prompt, --message, --text, --file-token.",
        ),
        (
            ["--type", "llm_chat", "--model", "echo-1", "--prompt", "hi"],
            "Option '--prompt' is not for llm_chat jobs (they take --max-tokens, --message, --metadata, --model, "
            "--priority, --temperature, --timeout-seconds).",
        ),
        (
            ["--params", '{"model": "embed-1", "texts": "abc"}'],
            "Invalid value for '--params': \"texts\": 'str' instances are not allowed as a Sequence value (got 'abc').",
        ),
        (
            ["--params", '{"type": "llm_haiku", "model": "echo-1", "prompt": "x"}'],
            "Invalid value for '--params': \"type\" is 'llm_haiku', not a job type (one of: llm_complete, llm_chat, "
            "llm_embed, document).",
        ),
        (
            ["--params", '{"model": "echo-1", "prompt": "x", "colour": "red"}'],
            "Invalid value for '--params': llm_complete jobs have no field \"colour\" (they take: max_tokens, "
            "metadata, model, priority, prompt, temperature, timeout_seconds).",
        ),
    ],
)
def test_create_checks_the_job_before_sending_and_names_the_option(
    microdc: Runner, args: List[str], message: str
) -> None:
    result = microdc("jobs", "create", *args)
    assert result.code == 2
    assert one_error_line(result.stderr) == f"Error: {message} See 'microdc jobs create --help'."
    assert "jobs.create()" not in result.stderr


def test_create_infers_the_type_from_the_input_given_in_params(microdc: Runner) -> None:
    created = microdc("--json", "jobs", "create", "--params", '{"model": "embed-1", "texts": ["a", "b"]}')
    assert created.code == 0, created.stderr
    assert json.loads(created.stdout)["type"] == "llm_embed"


def test_errors_exit_1_with_one_readable_line(microdc: Runner) -> None:
    missing = microdc("jobs", "get", "job_doesnotexist")
    assert missing.code == 1
    line = one_error_line(missing.stderr)
    assert line.startswith("Error: NotFoundError: ")
    assert "job_doesnotexist" in line
    assert "[request req_" in line

    refused = microdc("models", "list", MICRODC_API_KEY="wrong-key")
    assert refused.code == 1
    assert one_error_line(refused.stderr).startswith("Error: AuthenticationError: ")
    assert "wrong-key" not in refused.stderr

    unreachable = microdc("--max-retries", "0", "models", "list", MICRODC_BASE_URL="http://127.0.0.1:9")
    assert unreachable.code == 1
    assert one_error_line(unreachable.stderr).startswith("Error: APIConnectionError: ")


def test_the_installed_console_script(microdc: Runner) -> None:
    import sys

    script = shutil.which("microdc", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the microdc script is not installed in this environment")
    result = microdc("--json", "models", "list", command=[script])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)[0]["id"] == "echo-1"
