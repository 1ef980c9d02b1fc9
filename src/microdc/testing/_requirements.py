"""Fails the import of ``microdc.testing`` with a clear message when its extra is missing (one line from the shell)."""

from __future__ import annotations

import sys
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
    _message = f"microdc.testing needs the testing extra ({', '.join(_missing)}): pip install 'microdc[testing]'"
    if sys.argv[:1] == ["-m"]:
        # `python -m microdc.testing`: Python sets argv[0] to "-m" while it imports the package to
        # locate __main__ (documented under `-m`). A shell user gets the one line (a SystemExit with
        # a message prints it on stderr and exits 1), not a traceback.
        raise SystemExit(f"Error: {_message}")
    raise ImportError(_message)
