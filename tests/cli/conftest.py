"""The ``microdc`` command, run for real: a subprocess against ``python -m microdc.testing``.

The fake runs in its own process on a free port (``--port 0``; it prints its base
URL) and is stopped by PID at the end. Each test runs the command with
``MICRODC_API_KEY`` / ``MICRODC_BASE_URL`` pointing at it.
"""

from __future__ import annotations

import os
import sys
import signal
import subprocess
from typing import Dict, List, Iterator, Optional
from pathlib import Path
from dataclasses import dataclass

import pytest

API_KEY = "cli-test-key"
COMMAND = [sys.executable, "-m", "microdc.lib.cli"]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[str]


def _start(log: Path, job_duration: float) -> Server:
    argv = [sys.executable, "-m", "microdc.testing", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--api-key", API_KEY, "--job-duration", str(job_duration)]
    with open(log, "w") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http://"):
        _stop(process)
        pytest.fail(f"the fake did not start: {log.read_text()}")
    return Server(base_url, process)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The fake for most tests: jobs take 0.2 s."""
    started = _start(tmp_path_factory.mktemp("fake") / "server.log", job_duration=0.2)
    yield started
    _stop(started.process)


@pytest.fixture(scope="session")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A fake whose jobs take a minute, for commands that need a job still running."""
    started = _start(tmp_path_factory.mktemp("slow") / "server.log", job_duration=60.0)
    yield started
    _stop(started.process)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


class Runner:
    """Runs ``microdc ARGS...`` against a server, from ``cwd``."""

    def __init__(self, server: Server, cwd: Path) -> None:
        self.server = server
        self.cwd = cwd

    def env(self, **overrides: Optional[str]) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRODC_")}
        env.update({"MICRODC_API_KEY": API_KEY, "MICRODC_BASE_URL": self.server.base_url})
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def __call__(self, *args: str, command: Optional[List[str]] = None, **env: Optional[str]) -> Result:
        done = subprocess.run(
            [*(command or COMMAND), *args],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=self.cwd,
            env=self.env(**env),
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def microdc(server: Server, tmp_path: Path) -> Runner:
    return Runner(server, tmp_path)
