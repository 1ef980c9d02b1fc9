"""Fails the import of ``microdc.testing`` with a clear message when its extra is missing."""

from __future__ import annotations

import importlib
from typing import List

_missing: List[str] = []
for _package, _modules in (
    ("starlette", ("starlette",)),
    ("uvicorn", ("uvicorn",)),
    ("python-multipart", ("python_multipart", "multipart")),
):
    for _module in _modules:
        try:
            importlib.import_module(_module)
            break
        except ImportError:
            continue
    else:
        _missing.append(_package)
if _missing:
    raise ImportError(f"microdc.testing needs {', '.join(_missing)}: pip install 'microdc[testing]'")
