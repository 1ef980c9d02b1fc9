"""Layers point down: the runtime (``src/microdc/_*.py``, ``pagination.py``) imports nothing from ``lib/``.

Type-only imports (under ``if TYPE_CHECKING:``) are allowed, and so are the two files
whose job is to bind the layers together: the generated ``_client_resources.py`` (the
client's ``jobs`` property is ``lib.jobs.AsyncJobs``) and the package's ``__init__.py``
(its lazy public names).
"""

from __future__ import annotations

import ast
from typing import List
from pathlib import Path

import microdc

PACKAGE = Path(microdc.__file__).parent
BINDERS = {"__init__.py", "_client_resources.py"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports_of_lib(tree: ast.AST) -> List[str]:
    found: List[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if (node.level == 1 and (module == "lib" or module.startswith("lib."))) or module.startswith("microdc.lib"):
                found.append(f"line {node.lineno}: from {'.' * node.level}{module} import ...")
        elif isinstance(node, ast.Import):
            found.extend(f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith("microdc.lib"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_the_runtime_imports_nothing_from_lib() -> None:
    runtime = [*sorted(PACKAGE.glob("_*.py")), PACKAGE / "pagination.py"]
    assert len(runtime) > 20
    offenders = {
        path.name: imports
        for path in runtime
        if path.name not in BINDERS
        for imports in [_runtime_imports_of_lib(ast.parse(path.read_text(encoding="utf-8")))]
        if imports
    }
    assert offenders == {}


def test_the_check_finds_a_runtime_import_and_skips_a_type_only_one() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .lib.x import A\nfrom .lib.y import B\n"
    assert _runtime_imports_of_lib(ast.parse(source)) == ["line 4: from .lib.y import ..."]
