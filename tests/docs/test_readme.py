"""The README's commands and links resolve, so its quick start works from a fresh clone.

Checked without running anything heavy (its Python snippets run against the embedded
fake, as the guides' do): every ``./scripts/X`` named in a shell block
exists and is executable; every ``python -m MODULE`` can be imported; every
``pip install 'microdc[EXTRA]'`` names an extra of ``pyproject.toml``; every ``microdc
GROUP COMMAND`` is a command of the CLI; every relative link is a file of the
repository, and a link into the documentation (``docs/...``, or the site's URL once
``mkdocs.yml`` has a ``site_url``) is a page of the site, with the heading its
``#anchor`` names.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
import importlib.util
from typing import List, Tuple, Optional
from pathlib import Path

import click
import pytest
from markdown.extensions.toc import slugify

from microdc.lib.cli import cli

from ._snippets import run_page, snippets

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
_SHELL_BLOCK = re.compile(r"^```(?:sh|bash|console|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def shell_lines() -> List[str]:
    lines: List[str] = []
    for block in _SHELL_BLOCK.findall(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            elif any(line.startswith(p) for p in ("#", "jobs ", "batch ", "results:", "ID ", "id ")) or not line:
                continue
            lines.append(line.split(" #", 1)[0].strip())
    return [line for line in lines if line]


def commands(prefix: Tuple[str, ...]) -> List[List[str]]:
    found: List[List[str]] = []
    for line in shell_lines():
        for part in re.split(r"\s*(?:&&|\||;)\s*", line):
            try:
                words = shlex.split(part.rstrip("&").strip())
            except ValueError:
                continue
            words = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S*", w)]  # leading VAR=value
            if tuple(words[: len(prefix)]) == prefix:
                found.append(words)
    return found


def site_url() -> Optional[str]:
    """``site_url`` of mkdocs.yml (read as text: the file has tags a safe YAML loader refuses)."""
    match = re.search(
        r"^site_url:\s*[\"']?([^\s\"'#]+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE
    )
    return match.group(1).rstrip("/") + "/" if match else None


def test_every_script_the_readme_runs_exists_and_is_executable() -> None:
    scripts = {line.split()[0] for line in shell_lines() if line.startswith("./scripts/")}
    assert scripts, "the README names no ./scripts/ command"
    for script in sorted(scripts):
        path = ROOT / script
        assert path.is_file(), f"README runs {script}, which does not exist"
        assert os.access(path, os.X_OK), f"README runs {script}, which is not executable"


def test_every_module_the_readme_runs_with_python_m_exists() -> None:
    modules = {
        words[words.index("-m") + 1]
        for words in commands(("python",)) + commands(("uv", "run", "python"))
        if "-m" in words
    }
    assert modules
    for module in sorted(modules):
        assert importlib.util.find_spec(module) is not None, f"README runs `python -m {module}`, which does not exist"


def test_every_extra_the_readme_installs_exists() -> None:
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    )
    named = {m for words in commands(("pip", "install")) for w in words for m in re.findall(r"microdc\[([\w,]+)\]", w)}
    assert named
    for extra in sorted(e for group in named for e in group.split(",")):
        assert extra in extras, f"README installs microdc[{extra}], which pyproject.toml does not define"


def test_every_microdc_command_the_readme_shows_exists() -> None:
    shown = commands(("microdc",))
    assert shown
    for words in shown:
        group: click.Command = cli
        for word in [w for w in words[1:] if not w.startswith("-")][:2]:
            if not isinstance(group, click.Group):
                break
            command = group.get_command(click.Context(group), word)
            assert command is not None, f"README shows `{' '.join(words)}`: {word!r} is not a command"
            group = command


def _page_for(target: str) -> Path:
    """The docs page a link into the site names: ``docs/guides/jobs.md`` or ``<site_url>guides/jobs/``."""
    url = site_url()
    if url and target.startswith(url):
        rest = target[len(url) :].strip("/")
        candidates = [DOCS / f"{rest}.md", DOCS / rest / "index.md"] if rest else [DOCS / "index.md"]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        return candidates[0]
    return ROOT / target


def _anchors(page: Path) -> List[str]:
    """The ids the site gives the page's headings (Python-Markdown's toc slugify, as mkdocs.yml uses)."""
    headings: List[str] = re.findall(r"^#{1,6} (.+?)\s*$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return [slugify(re.sub(r"[`*]", "", heading), "-") for heading in headings]


def test_every_link_of_the_readme_resolves() -> None:
    url = site_url()
    for target in _LINK.findall(README.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")) and not (url and target.startswith(url)):
            continue  # outside this repository and its site
        path_part, _, anchor = target.partition("#")
        if not path_part:
            continue  # a link within the README
        page = _page_for(path_part)
        assert page.exists(), f"README links {target}, which is not in the repository or the docs"
        if anchor and page.suffix == ".md" and page.is_relative_to(DOCS):
            assert anchor in _anchors(page), f"README links {target}: {page.name} has no heading #{anchor}"


@pytest.mark.parametrize(
    "target", ["docs/guides/jobs.md#waiting", "docs/guides/nowhere.md", "docs/guides/jobs.md#nowhere"]
)
def test_a_link_into_the_docs_is_checked_against_the_pages(target: str) -> None:
    path_part, _, anchor = target.partition("#")
    page = _page_for(path_part)
    resolves = page.exists() and (not anchor or anchor in _anchors(page))
    assert resolves == (target == "docs/guides/jobs.md#waiting")


def test_every_python_snippet_of_the_readme_runs_against_the_fake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MICRODC_API_KEY", "MICRODC_BASE_URL", "MICRODC_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    found = snippets(README)
    assert [s for s in found if s.not_run is None], "the README has no Python snippet that runs"
    namespace = run_page(README)
    assert "fake" in namespace, "no README snippet made a FakeMicroDC, so nothing ran against the fake"
