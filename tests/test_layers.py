"""Layers point one way: the runtime imports nothing from ``microdc.lib``.

The runtime is ``src/microdc/_*.py``, ``pagination.py``, ``resources/`` and ``types/``;
``lib/`` is built on it (and ``testing/`` on both). Every import statement of every
runtime module is read from its syntax tree (module level, inside functions and under
``TYPE_CHECKING`` alike), relative ones resolved, so no spelling of an import escapes.

One edge is the design, and only it is allowed: the client's generated resource
properties (``_client_resources.py``) instantiate the class ``scripts/codegen/config.yml``
names for each resource, which for ``jobs`` is the hand-written subclass in
``lib/jobs`` (PRODUCT.md 2.1: the helpers are bound onto the resources). Those imports
must stay lazy (inside the property, or for type checkers only), so ``import microdc``
still loads nothing from ``lib/``. The package's ``__init__.py`` is the public face of
every layer and is not part of the runtime.
"""

from __future__ import annotations

import ast
from typing import Any, Set, Dict, List, Tuple, Iterator
from pathlib import Path

import yaml
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "microdc"


def runtime_modules() -> List[Path]:
    modules = [path for path in PACKAGE.glob("_*.py") if path.name != "__init__.py"]
    modules.append(PACKAGE / "pagination.py")
    for layer in ("resources", "types"):
        modules.extend(sorted((PACKAGE / layer).rglob("*.py")))
    return sorted(modules)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, *, is_package: bool = False) -> Iterator[Tuple[str, int, bool]]:
    """Each module the code of ``module`` imports: its absolute name, the line, and whether it is lazy.

    Lazy: inside a function, or in an ``if TYPE_CHECKING:`` block.
    """
    tree = ast.parse(source)
    package = module if is_package else module.rsplit(".", 1)[0]
    lazy_nodes: Set[int] = set()
    for node in ast.walk(tree):
        is_type_checking = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or is_type_checking:
            lazy_nodes.update(id(inner) for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in lazy_nodes
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node.lineno, id(node) in lazy_nodes
            for alias in node.names:  # `from . import lib` / `from .lib import jobs`
                yield f"{base}.{alias.name}", node.lineno, id(node) in lazy_nodes


def is_lib(name: str) -> bool:
    return name == "microdc.lib" or name.startswith("microdc.lib.")


def bound_resource_modules() -> Set[str]:
    """The modules ``scripts/codegen/config.yml`` binds ``client.<resource>`` to."""
    config: Dict[str, Any] = yaml.safe_load((ROOT / "scripts" / "codegen" / "config.yml").read_text())
    resources: Dict[str, Dict[str, str]] = config["resources"]
    return {entry["class"].split(":")[0] for entry in resources.values()}


def test_the_imports_are_read_from_every_runtime_module() -> None:
    names = {module_name(path) for path in runtime_modules()}
    assert {"microdc._base_client", "microdc._hooks", "microdc.pagination", "microdc.resources.jobs"} <= names
    assert "microdc.types.job" in names
    found = {name for name, _, _ in imports_of(PACKAGE / "_base_client.py")}
    assert {"microdc._retry", "microdc._clock", "microdc._hooks"} <= found  # relative and lazy ones resolved


@pytest.mark.parametrize("path", runtime_modules(), ids=lambda path: module_name(path))
def test_the_runtime_imports_nothing_from_lib(path: Path) -> None:
    allowed: Set[str] = bound_resource_modules() if path.name == "_client_resources.py" else set()
    wrong = [
        f"line {line}: {name}"
        for name, line, lazy in imports_of(path)
        if is_lib(name) and not (lazy and any(name == module or name.startswith(f"{module}.") for module in allowed))
    ]
    assert wrong == []


def imports_of(path: Path) -> Iterator[Tuple[str, int, bool]]:
    return imports(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def test_the_check_sees_every_spelling_of_an_import_from_lib() -> None:
    sample = "\n".join(
        [
            "from typing import TYPE_CHECKING",
            "import microdc.lib.hooks",
            "from .lib import rate_limit",
            "if TYPE_CHECKING:",
            "    from .lib.jobs import AsyncJobs",
            "def f() -> None:",
            "    from . import lib",
        ]
    )
    found = {(name, lazy) for name, _, lazy in imports(sample, "microdc._probe") if is_lib(name)}
    assert found == {
        ("microdc.lib.hooks", False),
        ("microdc.lib", False),
        ("microdc.lib.rate_limit", False),
        ("microdc.lib.jobs", True),
        ("microdc.lib.jobs.AsyncJobs", True),
        ("microdc.lib", True),
    }
