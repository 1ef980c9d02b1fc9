"""Formatting the generated files with ruff, and writing or checking them."""

from __future__ import annotations

import sys
import tempfile
import subprocess
from typing import Dict, List
from pathlib import Path

# Directories that hold nothing but generated files: anything else in them is stale.
OWNED_DIRS = ("src/microdc/resources", "src/microdc/types", "tests/api_resources")


def format_python(files: Dict[str, str], root: Path) -> Dict[str, str]:
    """``files`` with every ``.py`` run through ``ruff check --fix`` and ``ruff format``.

    Uses the project's ruff settings, so ``scripts/generate --check`` and
    ``ruff format --check`` agree. Lint errors ruff cannot fix stop the generator.
    """
    config = str(root / "pyproject.toml")
    with tempfile.TemporaryDirectory(prefix="microdc-codegen-") as tmp:
        out = Path(tmp)
        python = [path for path in files if path.endswith(".py")]
        for path in python:
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text(files[path], encoding="utf-8")
        ruff = [sys.executable, "-m", "ruff"]
        check = subprocess.run(
            [*ruff, "check", "--fix", "--quiet", "--config", config, "."],
            cwd=out,
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise SystemExit(f"scripts/generate: the generated code has lint errors:\n{check.stdout}{check.stderr}")
        subprocess.run([*ruff, "format", "--quiet", "--config", config, "."], cwd=out, check=True)
        return {
            path: (out / path).read_text(encoding="utf-8") if path in python else text for path, text in files.items()
        }


def stale_files(files: Dict[str, str], root: Path) -> List[str]:
    """Files in the generated directories that the generator no longer writes."""
    stale: List[str] = []
    for directory in OWNED_DIRS:
        for path in sorted((root / directory).rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root).as_posix()
            if relative not in files:
                stale.append(relative)
    return stale


def differing_files(files: Dict[str, str], root: Path) -> List[str]:
    """Paths whose content on disk is not what the generator writes (missing ones too)."""
    differing: List[str] = []
    for path, text in files.items():
        target = root / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            differing.append(path)
    return differing


def write_files(files: Dict[str, str], root: Path) -> List[str]:
    """Write what changed and delete stale files; return the paths touched."""
    touched = differing_files(files, root)
    for path in touched:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path], encoding="utf-8")
    for path in stale_files(files, root):
        (root / path).unlink()
        touched.append(path)
    return touched
