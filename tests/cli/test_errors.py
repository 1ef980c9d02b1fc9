"""Every failure of the ``microdc`` command is one ``Error: ...`` line on stderr, with its exit code.

Usage and configuration errors exit 2, API and file errors 1, Ctrl-C 130; none shows
click's usage block or a traceback. The subprocess tests run the real command; the
in-process ones (``run_cli``) reach failures a server cannot produce on demand.
"""

from __future__ import annotations

from typing import List
from pathlib import Path

import pytest

from microdc.lib.cli import run_cli
from microdc.lib.cli._common import Settings

from .conftest import Runner


def one_error_line(stderr: str) -> str:
    """The only line on stderr, which starts with ``Error: ``."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    assert "Usage:" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message", "help_for"),
    [
        (["jobs", "get"], "Missing argument 'JOB_ID'.", "microdc jobs get"),
        (["jobs", "list", "--bogus"], "No such option", "microdc jobs list"),
        (["jobs", "list", "--status", "done"], "'done' is not one of", "microdc jobs list"),
        (["jobs", "create", "--prompt", "hi"], "Missing option '--model'", "microdc jobs create"),
        (["jobs", "create", "--model", "echo-1", "--temperature", "5"], "not in the range", "microdc jobs create"),
        (["jobs", "create", "--model", "echo-1", "--params", "{nope"], "not valid JSON", "microdc jobs create"),
        (["jobs", "nonsense"], "No such command 'nonsense'", "microdc jobs"),
        (["--timeout", "0", "models", "list"], "--timeout", "microdc"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_and_exits_2(
    microdc: Runner, args: List[str], message: str, help_for: str
) -> None:
    result = microdc(*args)
    assert result.code == 2
    line = one_error_line(result.stderr)
    assert message in line
    assert line.endswith(f"See '{help_for} --help'.")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("MICRODC_API_KEY", "Error: No API key: set MICRODC_API_KEY or pass --api-key. See 'microdc --help'."),
        (
            "MICRODC_BASE_URL",
            "Error: No API address: set MICRODC_BASE_URL or pass --base-url. See 'microdc --help'.",
        ),
    ],
)
def test_a_configuration_error_is_one_line_saying_what_to_set_naming_the_help_and_exits_2(
    microdc: Runner, unset: str, message: str
) -> None:
    result = microdc("jobs", "get", "job_abc", **{unset: None})
    assert result.code == 2
    assert one_error_line(result.stderr) == message
    # `microdc --help` is the help that documents them.
    assert "MICRODC_API_KEY" in microdc("--help").stdout


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        (
            "127.0.0.1:18000",
            "Error: The base URL '127.0.0.1:18000' has no scheme: "
            "set MICRODC_BASE_URL or --base-url to 'http://127.0.0.1:18000'. See 'microdc --help'.",
        ),
        (
            "ftp://127.0.0.1",
            "Error: The base URL 'ftp://127.0.0.1' must start with http:// or https:// "
            "(MICRODC_BASE_URL or --base-url). See 'microdc --help'.",
        ),
        ("http://[::1", "Error: The base URL 'http://[::1' is not a valid URL"),
    ],
)
def test_a_base_url_the_client_cannot_use_is_a_configuration_error_exit_2(
    microdc: Runner, base_url: str, message: str
) -> None:
    for given in (["--base-url", base_url], []):
        result = microdc(*given, "models", "list", MICRODC_BASE_URL=base_url)
        assert result.code == 2, result.stderr
        assert one_error_line(result.stderr).startswith(message)


def test_the_api_key_option_stands_in_for_the_environment(microdc: Runner) -> None:
    result = microdc("--api-key", "cli-test-key", "models", "list", MICRODC_API_KEY=None)
    assert result.code == 0, result.stderr


def test_an_api_error_is_one_line_with_the_request_id_and_exits_1(microdc: Runner) -> None:
    result = microdc("jobs", "get", "job_doesnotexist")
    assert result.code == 1
    line = one_error_line(result.stderr)
    assert line.startswith("Error: NotFoundError: ")
    assert "job_doesnotexist" in line
    assert "[request req_" in line


def test_an_unreachable_server_is_one_line_and_exits_1(microdc: Runner) -> None:
    result = microdc("--max-retries", "0", "models", "list", MICRODC_BASE_URL="http://127.0.0.1:9")
    assert result.code == 1
    assert one_error_line(result.stderr).startswith("Error: APIConnectionError: ")


def test_a_file_that_cannot_be_written_is_one_line_and_exits_1(microdc: Runner, tmp_path: Path) -> None:
    uploaded = microdc("--json", "files", "upload", str(Path(__file__)))
    assert uploaded.code == 0, uploaded.stderr
    file_id = uploaded.stdout.split('"id": "', 1)[1].split('"', 1)[0]
    target = tmp_path / "missing-dir" / "out.py"
    result = microdc("files", "download", file_id, "-o", str(target))
    assert result.code == 1
    assert one_error_line(result.stderr) == f"Error: Cannot write {target}: there is no directory {target.parent}."


def test_the_command_alone_shows_its_help_and_exits_0(microdc: Runner) -> None:
    for args in ([], ["jobs"]):
        result = microdc(*args)
        assert result.code == 0, result.stderr
        assert "Commands:" in result.stdout
        assert result.stderr == ""


# --- in process: failures no server produces on demand ----------------------------------


def test_ctrl_c_is_one_line_and_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(_settings: Settings) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Settings, "client", interrupted)
    assert run_cli(["--api-key", "k", "--base-url", "http://127.0.0.1:9", "models", "list"]) == 130
    # click ends the terminal's "^C" line first; then the one message.
    assert capsys.readouterr().err.lstrip("\n") == "Interrupted.\n"


def test_an_unexpected_exception_is_one_line_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_settings: Settings) -> None:
        raise ValueError("cannot bound the cost of this job:\n  set max_tokens")

    monkeypatch.setattr(Settings, "client", broken)
    assert run_cli(["--api-key", "k", "--base-url", "http://127.0.0.1:9", "models", "list"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "Error: cannot bound the cost of this job: set max_tokens\n"
    assert captured.out == ""
