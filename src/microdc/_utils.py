"""Small helpers used by generated resources: path parameters and the arguments that were passed.

(The argument checks themselves are :mod:`microdc._param_check`.)"""

from __future__ import annotations

from typing import Dict
from urllib.parse import quote

from ._types import Omit, NotGiven

__all__ = ["path_param", "strip_not_given"]


def path_param(name: str, value: object) -> str:
    """Check a path parameter and quote it for the URL.

    Raises ``TypeError`` for a non-string and ``ValueError`` for an empty string or
    a dot segment (``.``/``..``, which URL normalisation would turn into another
    path, e.g. ``jobs.cancel("..")`` into ``DELETE /api/v1``), before anything is sent.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError(f"Expected a non-empty value for `{name}` but received {value!r}")
    if value in (".", ".."):
        raise ValueError(f"`{name}` cannot be {value!r}")
    return quote(value, safe="")


def strip_not_given(values: Dict[str, object]) -> Dict[str, object]:
    """``values`` without the entries that were not passed (``NOT_GIVEN``, ``omit``, ``None``)."""
    return {
        key: value for key, value in values.items() if value is not None and not isinstance(value, (NotGiven, Omit))
    }
