"""Every public name has a docstring and an entry in the API reference (docs/reference/).

The public names are each public module's ``__all__`` (``microdc.types``, which is
generated without one, exports what it imports ``as`` itself). They are read with
griffe, as mkdocstrings reads them for the site, and each is followed to the object it
names, so a name exported from two modules (``microdc.LLMChat`` and
``microdc.lib.jobs.builders.LLMChat``) needs one entry. Public methods of public classes
need a docstring too, unless they override a method that has one (``inspect.getdoc``).
"""

from __future__ import annotations

import re
import inspect
import importlib
from typing import Any, Set, Dict, List, Tuple
from pathlib import Path
from functools import lru_cache

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
PUBLIC_MODULES = (
    "microdc",
    "microdc.types",
    "microdc.pagination",
    "microdc.lib",
    "microdc.lib.jobs",
    "microdc.lib.jobs.builders",
    "microdc.lib.batch",
    "microdc.lib.structured",
    "microdc.lib.hooks",
    "microdc.lib.metrics",
    "microdc.lib.otel",
    "microdc.lib.rate_limit",
    "microdc.lib.progress",
    "microdc.lib.retry",
    "microdc.lib.cli",
    "microdc.testing",
)
_DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)


@lru_cache(maxsize=1)
def package() -> Any:
    return griffe.load("microdc", search_paths=[str(ROOT / "src")], resolve_aliases=True, resolve_external=False)


def lookup(path: str) -> Any:
    obj = package()
    for part in path.split(".")[1:]:
        obj = obj[part]
    return obj.final_target if obj.is_alias else obj


def public_names(module: str) -> List[str]:
    names = getattr(importlib.import_module(module), "__all__", None)
    if names is None:  # generated: `from .job import Job as Job`
        text = (ROOT / "src" / Path(*module.split(".")) / "__init__.py").read_text(encoding="utf-8")
        names = re.findall(r"\b(\w+) as \1\b", text)
    return sorted(names)


def documented() -> Dict[str, str]:
    """The path of every object a reference page renders (``::: name``) -> the page."""
    found: Dict[str, str] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for identifier in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            found[lookup(identifier).path] = page.name
    return found


def every_public_name() -> List[Tuple[str, str]]:
    return [(module, name) for module in PUBLIC_MODULES for name in public_names(module)]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_module_has_a_docstring(module: str) -> None:
    assert lookup(module).docstring, f"{module} has no module docstring"


def test_every_public_name_has_a_docstring() -> None:
    missing = [f"{module}.{name}" for module, name in every_public_name() if not lookup(f"{module}.{name}").docstring]
    assert not missing, f"public names without a docstring: {missing}"


def test_every_public_name_has_an_entry_in_the_reference() -> None:
    pages = documented()
    missing = [
        f"{module}.{name} ({lookup(f'{module}.{name}').path})"
        for module, name in every_public_name()
        if lookup(f"{module}.{name}").path not in pages
    ]
    assert not missing, f"public names with no `::: name` entry on a page of docs/reference/: {missing}"


def test_every_reference_entry_names_a_public_object() -> None:
    public = {lookup(f"{module}.{name}").path for module, name in every_public_name()}
    stray = [path for path in documented() if path not in public]
    assert not stray, f"reference entries for names no public module exports: {stray}"


def test_every_public_method_has_a_docstring() -> None:
    missing: List[str] = []
    seen: Set[str] = set()
    for module, name in every_public_name():
        cls = lookup(f"{module}.{name}")
        if not cls.is_class or cls.path in seen:
            continue
        seen.add(cls.path)
        runtime = getattr(importlib.import_module(module), name)
        for member_name, member in cls.members.items():
            if member_name.startswith("_") or member.is_alias or not member.is_function:
                continue
            # inspect.getdoc falls back to the docstring of the method it overrides (in httpx too).
            if not inspect.getdoc(getattr(runtime, member_name, None)):
                missing.append(f"{cls.path}.{member_name}")
    assert not missing, f"public methods without a docstring: {missing}"


def test_generated_fields_are_documented_from_the_spec() -> None:
    undocumented: List[str] = []
    for name in public_names("microdc.types"):
        obj = lookup(f"microdc.types.{name}")
        if obj.is_class:
            undocumented += [
                f"{name}.{f}"
                for f, m in obj.members.items()
                if m.is_attribute and not f.startswith("_") and not m.docstring
            ]
    assert not undocumented, f"fields without a description in openapi.yml: {undocumented}"
