"""A missing extra is one line naming it, never a traceback: the command, the fake, ``http2=True``.

Each test runs a real process in which a package is made unimportable, as when
its extra is not installed: a ``sitecustomize`` module (on ``PYTHONPATH``, so
Python loads it at start-up) puts a finder first on ``sys.meta_path`` that
refuses the packages named in ``MICRODC_TEST_UNIMPORTABLE``.
"""

from __future__ import annotations

import os
import sys
import shutil
import subprocess
from typing import List
from pathlib import Path

import pytest

from .conftest import COMMAND

BLOCKER = """
import os
import sys


class _Unimportable:
    names = set(os.environ.get("MICRODC_TEST_UNIMPORTABLE", "").split(","))

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, _Unimportable())
"""


def run_without(tmp_path: Path, packages: str, argv: List[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRODC_")}
    env.update(PYTHONPATH=str(tmp_path), MICRODC_TEST_UNIMPORTABLE=packages)
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path, check=False)


def test_the_blocker_makes_a_package_unimportable(tmp_path: Path) -> None:
    result = run_without(tmp_path, "click", [sys.executable, "-c", "import click"])
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'click'" in result.stderr


@pytest.mark.parametrize("how", ["python -m microdc.lib.cli", "console script"])
def test_the_command_without_click_names_the_cli_extra(tmp_path: Path, how: str) -> None:
    if how == "console script":
        script = shutil.which("microdc", path=str(Path(sys.executable).parent))
        if script is None:
            pytest.skip("the microdc script is not installed in this environment")
        argv = [script, "models", "list"]
    else:
        argv = [*COMMAND, "models", "list"]
    result = run_without(tmp_path, "click", argv)
    assert result.returncode == 1
    assert result.stderr == (
        "Error: The microdc command needs the cli extra (click is not installed): pip install 'microdc[cli]'\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("package", ["starlette", "uvicorn"])
def test_the_fake_from_the_shell_without_its_packages_names_the_testing_extra(tmp_path: Path, package: str) -> None:
    result = run_without(tmp_path, package, [sys.executable, "-m", "microdc.testing", "--port", "0"])
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: microdc.testing needs the testing extra ({package}): pip install 'microdc[testing]'\n"
    )


def test_importing_the_fake_without_its_packages_raises_one_import_error(tmp_path: Path) -> None:
    result = run_without(tmp_path, "starlette", [sys.executable, "-c", "import microdc.testing"])
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "ImportError: microdc.testing needs the testing extra (starlette): pip install 'microdc[testing]'"
    )
    assert "During handling" not in result.stderr


def test_http2_without_h2_names_the_http2_extra(tmp_path: Path) -> None:
    code = "from microdc import DefaultAsyncHttpxClient; DefaultAsyncHttpxClient(http2=True)"
    result = run_without(tmp_path, "h2", [sys.executable, "-c", code])
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "ImportError: http2=True needs the http2 extra (the h2 package): pip install 'microdc[http2]'"
    )
    assert "During handling" not in result.stderr
    assert "httpx[http2]" not in result.stderr  # httpx's own advice installs httpx's extra, not the SDK's
