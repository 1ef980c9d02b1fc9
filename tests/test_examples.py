"""Every example in ``examples/`` runs, against the embedded fake, and leaves nothing open.

Each ``examples/*.py`` (not the ``_``-prefixed helpers) is found automatically and
run in a subprocess with ``MICRODC_*`` unset, so it starts its own embedded
``FakeMicroDC`` on a loopback port and stops it before it exits. The run fails on
a non-zero exit or on anything on stderr that reports a leak: ``ResourceWarning``s
are errors (``-W error::ResourceWarning``; one raised in a ``__del__`` is printed as
"Exception ignored in ..."), and aiohttp's "Unclosed client session" / "Unclosed
connector" log lines count too. A ``gc.collect()`` after the example returns makes
the finalizers that report those run while the check is listening.
"""

from __future__ import annotations

import os
import re
import sys
import subprocess
from typing import Dict, List
from pathlib import Path

import pytest

from microdc import AsyncMicroDC, DefaultAioHttpClient
from microdc.testing import FakeMicroDC

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Examples that need more than the embedded fake (a second process, a port to serve
# on, ...), with why. Each is still run by the tests that cover its feature.
NOT_RUN_HERE: Dict[str, str] = {}

# Runs one example as ``python examples/NAME.py`` would (its folder first on
# sys.path, ``__name__ == "__main__"``), then collects garbage so leak reports appear.
RUNNER = (
    "import gc, os, sys, runpy\n"
    "path = sys.argv[1]\n"
    "sys.argv = [path]\n"
    "sys.path.insert(0, os.path.dirname(path))\n"
    "runpy.run_path(path, run_name='__main__')\n"
    "gc.collect()\n"
)
LEAK_SIGNS = ("Unclosed", "ResourceWarning", "Exception ignored", "Traceback", "unclosed")


def examples() -> List[str]:
    return sorted(path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))


def run_example(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MICRODC_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", RUNNER, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )


# A log record's first line, as distributed's worker processes print them.
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - ")
# Dask's own shutdown race, not the example's: while a closing worker shuts its
# connection pool, a heartbeat already on its way fails, and distributed logs it at
# ERROR with a traceback (seen on a loaded machine). Only this record, ending in this
# error, is set aside; any other record or line still counts.
_DASK_HEARTBEAT_AT_CLOSE = "distributed.worker - ERROR - Failed to communicate with scheduler during heartbeat."


def _without_dask_shutdown_noise(stderr: str) -> str:
    records: List[List[str]] = [[]]
    for line in stderr.splitlines():
        if _LOG_RECORD.match(line):
            records.append([])
        records[-1].append(line)
    kept: List[str] = []
    for record in records:
        if record and record[0].endswith(_DASK_HEARTBEAT_AT_CLOSE):
            ends = [i for i, line in enumerate(record) if line.endswith("CommClosedError: ConnectionPool closing.")]
            if ends:
                record = record[ends[0] + 1 :]  # what follows the record is not part of it
        kept += record
    return "\n".join(kept)


def leaks(stderr: str) -> List[str]:
    """The lines of ``stderr`` that report a leak or an error."""
    stderr = _without_dask_shutdown_noise(stderr)
    return [line for line in stderr.splitlines() if any(sign in line for sign in LEAK_SIGNS)]


def test_only_dasks_heartbeat_at_close_is_set_aside() -> None:
    noise = (
        f"2026-12-02 19:12:06,838 - {_DASK_HEARTBEAT_AT_CLOSE}\n"
        "Traceback (most recent call last):\n"
        '  File "distributed/core.py", line 1434, in connect\n'
        "distributed.comm.core.CommClosedError: ConnectionPool closing.\n"
    )
    other_error = (
        f"2026-12-02 19:12:07,001 - {_DASK_HEARTBEAT_AT_CLOSE}\n"
        "Traceback (most recent call last):\n"
        "OSError: Timed out trying to connect\n"
    )
    ours = "sys:1: ResourceWarning: unclosed <socket.socket fd=7>\n"
    assert leaks(noise) == []
    assert leaks(noise + ours) == ["sys:1: ResourceWarning: unclosed <socket.socket fd=7>"]
    assert leaks(other_error) == ["Traceback (most recent call last):"]
    assert leaks("Traceback (most recent call last):\n" + noise) == ["Traceback (most recent call last):"]


def test_examples_are_found() -> None:
    found = examples()
    assert {"quickstart.py", "files.py", "raw_response.py", "aiohttp_client.py"} <= set(found)
    assert not set(NOT_RUN_HERE) - set(found), "NOT_RUN_HERE names an example that does not exist"


@pytest.mark.parametrize("name", [name for name in examples() if name not in NOT_RUN_HERE])
def test_the_example_runs_and_leaves_nothing_open(name: str, tmp_path: Path) -> None:
    result = run_example(EXAMPLES / name, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not leaks(result.stderr), result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


def test_the_check_catches_a_client_handed_an_aiohttp_client_it_does_not_close(tmp_path: Path) -> None:
    """The pattern the README used to show: the caller's aiohttp client is never closed."""
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "import asyncio\n"
        "from microdc import AsyncMicroDC, DefaultAioHttpClient\n"
        "from microdc.testing import FakeMicroDC\n"
        "\n"
        "async def main() -> None:\n"
        "    async with FakeMicroDC(api_key='k').serve(port=0) as base_url:\n"
        "        async with AsyncMicroDC(api_key='k', base_url=base_url, http_client=DefaultAioHttpClient()) as client:\n"
        "            print([model.id async for model in client.models.list()])\n"
        "\n"
        "asyncio.run(main())\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    result = run_example(leaky, work)
    assert result.returncode == 0, result.stderr
    found = leaks(result.stderr)
    assert any("Unclosed client session" in line for line in found), result.stderr
    assert any("Unclosed connector" in line for line in found), result.stderr


async def test_a_client_leaves_the_callers_aiohttp_client_open_for_the_caller_to_close() -> None:
    async with FakeMicroDC(api_key="k").serve(port=0) as base_url:
        async with DefaultAioHttpClient() as http:
            async with AsyncMicroDC(api_key="k", base_url=base_url, http_client=http) as first:
                await first.models.retrieve("echo-1")
            assert not http.is_closed
            async with AsyncMicroDC(api_key="k", base_url=base_url, http_client=http) as second:
                assert (await second.models.retrieve("echo-1")).id == "echo-1"
            assert not http.is_closed
        assert http.is_closed
