"""``scripts/api-check``: a public name removed or changed since the last release fails the run
unless ``CHANGELOG.md``'s *Unreleased* section names it.

The comparison point, in this order:

1. the last release tag reachable from HEAD (``v*``, e.g. ``v0.1.0``);
2. with no tag, on a branch other than ``main``: where it left ``main``
   (``git merge-base HEAD main``), so a branch is checked against what it would change;
3. otherwise ``main``'s previous commit, ``HEAD^1`` (for a merge: main before it).

griffe (``griffe.find_breaking_changes``, what ``griffe check`` runs) loads the package
from that commit and from the work tree and lists what would break a caller: a public
object removed, a parameter removed, moved, made required or given another default, a
return or attribute type changed, a base class removed. Parameters whose name starts with
``_`` are private, and a default written differently but equal in value
(``0.7`` → ``TEMPERATURE_DEFAULT`` holding 0.7) is no change.

A change is allowed when the *Unreleased* section names it in backticks: its full path
(``microdc.lib.jobs.AsyncJobs.wait``), a dotted tail of it of two parts or more
(``AsyncJobs.wait``), or the bare name of a module-level object (``RetryPolicy``).

A shallow clone may lack the comparison commit. The check then fetches one more commit
from ``origin`` (``git fetch --deepen=1``); when that is not possible it says so and
skips, exit 0. CI clones the whole history, so it always has the commit.
"""

from __future__ import annotations

import re
import ast
import sys
import importlib
import subprocess
from typing import Any, List, Iterable, Optional
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "microdc"


def git(*args: str, repo: Path = ROOT) -> Optional[str]:
    """The output of a git command in the repository, or None when it fails."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def comparison_point(repo: Path = ROOT) -> Optional[str]:
    """The commit to compare with (see the module docstring), or None when there is none."""
    tag = git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", repo=repo)
    if tag:
        return tag
    head = git("rev-parse", "HEAD", repo=repo)
    main = git("rev-parse", "--verify", "--quiet", "refs/heads/main", repo=repo)
    if main and head != main:
        return git("merge-base", "HEAD", main, repo=repo)
    previous = git("rev-parse", "--verify", "--quiet", "HEAD^1", repo=repo)
    if previous is None and git("rev-parse", "--is-shallow-repository", repo=repo) == "true":
        git("fetch", "--quiet", "--deepen=1", "origin", repo=repo)
        previous = git("rev-parse", "--verify", "--quiet", "HEAD^1", repo=repo)
    return previous


def unreleased_names(changelog: str) -> List[str]:
    """The backticked names of the *Unreleased* section of a Keep a Changelog file."""
    match = re.search(
        r"^## \[?Unreleased\]?[^\n]*\n(.*?)(?=^## |\Z)", changelog, re.MULTILINE | re.DOTALL | re.IGNORECASE
    )
    if not match:
        return []
    return [name.strip() for name in re.findall(r"`([^`\n]+)`", match.group(1))]


def is_named(path: str, parent_is_module: bool, names: Iterable[str]) -> bool:
    """Whether the changelog names the object at ``path`` (full path, a 2+ part tail, or a module member's name)."""
    parts = path.split(".")
    tails = {".".join(parts[i:]) for i in range(len(parts) - 1)}
    if parent_is_module:
        tails.add(parts[-1])
    return any(name.removesuffix("()") in tails for name in names)


def _same_value(breakage: Any) -> bool:
    """A default written differently that holds the same value (a literal before, a constant now)."""
    try:
        old = ast.literal_eval(str(breakage.old_value.default))
        module = importlib.import_module(breakage.obj.module.path)
        new = eval(str(breakage.new_value.default), vars(module))  # a name or attribute of that module
    except Exception:
        return False
    return bool(old == new)


def breaking_changes(ref: str, repo: Path = ROOT, package: str = PACKAGE) -> List[Any]:
    """What would break a caller between ``ref`` and the work tree (griffe), less private parameters and equal defaults."""
    old = griffe.load_git(package, ref=ref, repo=repo, search_paths=["src"])
    new = griffe.load(package, search_paths=[str(repo / "src")])
    kept: List[Any] = []
    for breakage in griffe.find_breaking_changes(old, new):
        parameter = breakage.old_value if breakage.kind.name.startswith("PARAMETER") else None
        if isinstance(parameter, griffe.Parameter) and parameter.name.startswith("_"):
            continue  # a private parameter
        if breakage.kind is griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT and _same_value(breakage):
            continue
        kept.append(breakage)
    return kept


def check(repo: Path = ROOT, package: str = PACKAGE) -> int:
    """Print the changes and return the exit code: 1 when a change is not named in the changelog."""
    ref = comparison_point(repo)
    if ref is None:
        shallow = git("rev-parse", "--is-shallow-repository", repo=repo) == "true"
        why = "a shallow clone without the previous commit (fetch more history)" if shallow else "no earlier commit"
        print(f"api-check: skipped: {why}; nothing to compare the public API with")
        return 0
    sys.path.insert(0, str(repo / "src"))
    changes = breaking_changes(ref, repo, package)
    names = unreleased_names((repo / "CHANGELOG.md").read_text(encoding="utf-8"))
    unnamed = [
        b for b in changes if not is_named(b.obj.path, b.obj.parent is not None and b.obj.parent.is_module, names)
    ]
    label = git("describe", "--always", ref, repo=repo) or ref
    for breakage in changes:
        mark = "  " if breakage in unnamed else "ok"
        print(f"{mark} {breakage.explain(style=griffe.ExplanationStyle.ONE_LINE)}")
    if unnamed:
        print(
            f"api-check: {len(unnamed)} change(s) to the public API since {label} that CHANGELOG.md's Unreleased "
            "section does not name. Name each changed object in backticks there (e.g. `AsyncJobs.wait`), "
            "saying what changed, or keep the old name working."
        )
        return 1
    print(
        f"api-check: the public API is compatible with {label}"
        + (f" ({len(changes)} named change(s))" if changes else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(check())
