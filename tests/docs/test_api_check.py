"""scripts/api_check.py: a removed or changed public name fails unless the changelog's
*Unreleased* section names it; private parameters and equal defaults are no change.

Each test makes a small git repository with a package ``apipkg`` at two commits.
"""

from __future__ import annotations

import sys
import subprocess
from typing import Iterator
from pathlib import Path

import pytest
from scripts.api_check import check, is_named, comparison_point, unreleased_names

V1 = '''"""A package."""

__all__ = ["fetch", "LIMIT", "Client"]

LIMIT = 10
"""The limit."""


def fetch(url: str, retries: int = 3, _trace: bool = False) -> str:
    """Fetch."""
    return url


class Client:
    """A client."""

    def close(self) -> None:
        """Close."""
'''
CHANGELOG = "# Changelog\n\n## Unreleased\n\n{entries}\n\n## 0.1.0 - 2026-01-01\n\n- `Client.open` was added.\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "src" / "apipkg").mkdir(parents=True)
    (tmp_path / "src" / "apipkg" / "__init__.py").write_text(V1)
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG.format(entries=""))
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "v1")
    yield tmp_path
    for name in [m for m in sys.modules if m == "apipkg" or m.startswith("apipkg.")]:
        del sys.modules[name]  # the next test imports its own version


def commit(repo: Path, source: str, entries: str = "") -> None:
    (repo / "src" / "apipkg" / "__init__.py").write_text(source)
    (repo / "CHANGELOG.md").write_text(CHANGELOG.format(entries=entries))
    git(repo, "commit", "-q", "-am", "v2")


def test_a_removed_parameter_fails_the_check(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, V1.replace("url: str, retries: int = 3,", "url: str,"))
    assert check(repo, "apipkg") == 1
    assert "retries" in capsys.readouterr().out


def test_a_removed_public_object_fails_the_check(repo: Path) -> None:
    commit(repo, V1.replace('"Client"]', "]").split("\n\nclass Client")[0] + "\n")
    assert check(repo, "apipkg") == 1


def test_a_change_the_unreleased_section_names_passes(repo: Path) -> None:
    commit(repo, V1.replace("url: str, retries: int = 3,", "url: str,"), entries="- `fetch` no longer takes `retries`.")
    assert check(repo, "apipkg") == 0


def test_a_name_in_an_older_release_does_not_excuse_a_change(repo: Path) -> None:
    source = V1.replace(
        '    def close(self) -> None:\n        """Close."""\n', '    def open(self) -> None:\n        """Open."""\n'
    )
    commit(repo, source)  # Client.close removed; only 0.1.0's section names Client.open
    assert check(repo, "apipkg") == 1


def test_private_parameters_and_equal_defaults_are_no_change(repo: Path) -> None:
    source = V1.replace("retries: int = 3, _trace: bool = False", "retries: int = LIMIT - 7")
    commit(repo, source)
    assert check(repo, "apipkg") == 0


def test_added_names_and_new_optional_parameters_pass(repo: Path) -> None:
    commit(
        repo,
        V1.replace("_trace: bool = False", "_trace: bool = False, timeout: float = 1.0")
        + "\n\ndef extra() -> None:\n    pass\n",
    )
    assert check(repo, "apipkg") == 0


def test_the_comparison_point_is_the_last_tag_else_the_previous_commit(repo: Path) -> None:
    commit(repo, V1 + "\n")
    head_parent = subprocess.run(
        ["git", "rev-parse", "HEAD^1"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert comparison_point(repo) == head_parent
    git(repo, "tag", "v0.1.0", "HEAD^1")
    commit(repo, V1 + "\n\n")
    assert comparison_point(repo) == "v0.1.0"


def test_on_a_branch_the_comparison_point_is_where_it_left_main(repo: Path) -> None:
    main = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, V1 + "\n")
    commit(repo, V1 + "\n\n")
    assert comparison_point(repo) == main


def test_a_repository_with_one_commit_has_nothing_to_compare(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert comparison_point(repo) is None
    assert check(repo, "apipkg") == 0
    assert "skipped" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("path", "names", "named"),
    [
        ("microdc.lib.jobs.AsyncJobs.wait", ["AsyncJobs.wait"], True),
        ("microdc.lib.jobs.AsyncJobs.wait", ["microdc.lib.jobs.AsyncJobs.wait()"], True),
        ("microdc.lib.jobs.AsyncJobs.wait", ["wait"], False),
        ("microdc.lib.jobs.AsyncJobs.wait", ["AsyncJobs.waits"], False),
    ],
)
def test_how_a_changelog_entry_names_an_object(path: str, names: list[str], named: bool) -> None:
    assert is_named(path, parent_is_module=False, names=names) is named


def test_a_module_level_object_may_be_named_alone() -> None:
    assert is_named("microdc.RetryPolicy", parent_is_module=True, names=["RetryPolicy"])


def test_only_the_unreleased_section_is_read() -> None:
    text = "# C\n\n## [Unreleased]\n\n- `a.b` changed.\n\n## 0.1.0 - 2026-01-01\n\n- `c.d` added.\n"
    assert unreleased_names(text) == ["a.b"]
