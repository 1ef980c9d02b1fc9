"""Fixtures the lib tests share."""

from __future__ import annotations

import os
import sys
import signal
import subprocess
from typing import Iterator

import pytest

FAKE_PROCESS_API_KEY = "k"


@pytest.fixture
def fake_process() -> Iterator[str]:
    """``python -m microdc.testing`` in its own process (API key ``"k"``); its base URL. Stopped by PID."""
    argv = [
        sys.executable, "-m", "microdc.testing", "--port", "0",
        "--api-key", FAKE_PROCESS_API_KEY, "--job-duration", "0.05",
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
