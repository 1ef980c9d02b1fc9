"""Fails the import of ``microdc.testing`` with a clear message when its extra is missing."""

from __future__ import annotations

import importlib.util

_MISSING = [
    name
    for name, modules in (
        ("starlette", ("starlette",)),
        ("uvicorn", ("uvicorn",)),
        ("python-multipart", ("python_multipart", "multipart")),
    )
    if all(importlib.util.find_spec(module) is None for module in modules)
]
if _MISSING:
    raise ImportError(f"microdc.testing needs {', '.join(_MISSING)}: pip install 'microdc[testing]'")
