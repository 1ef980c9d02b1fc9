"""``--schema``: the response model of ``microdc jobs run``, from a Python class or a JSON Schema file.

``--schema MODULE:CLASS`` imports ``CLASS`` (dotted names reach nested classes) from
``MODULE``, looked up from the current directory first, as ``python -m`` would;
``--schema FILE.json`` reads a JSON Schema document
(:func:`microdc.lib.structured.from_json_schema`). An existing file wins over a
module of the same spelling.
"""

from __future__ import annotations

import os
import sys
import json
import importlib
from typing import Any, Optional
from pathlib import Path

import click
from typing_extensions import get_origin

__all__ = ["dump_parsed", "load_schema"]


def _from_file(path: Path) -> Any:
    from ..structured import from_json_schema

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{str(path)!r} is not a JSON Schema file that can be read ({exc})") from None
    try:
        return from_json_schema(document, name=path.name.split(".", 1)[0])
    except ValueError as exc:
        raise click.BadParameter(f"{str(path)!r}: {exc}") from None


def _from_module(value: str) -> Any:
    module_name, _, attribute = value.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter(
            f"{value!r} is neither a JSON Schema file nor MODULE:CLASS (e.g. myapp.models:Invoice)"
        )
    if os.getcwd() not in sys.path:  # the console script's path does not hold the current directory
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name!r} ({exc})") from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise click.BadParameter(f"{module_name!r} has no {attribute!r}") from None
    if not isinstance(found, type) and get_origin(found) is None:  # a function, an instance, ...
        raise click.BadParameter(
            f"{value!r} is a {type(found).__name__}, not a class or a type such as list[...] "
            "(a pydantic model, a dataclass, a TypedDict, an Enum)"
        )
    return found


def load_schema(_ctx: click.Context, _param: click.Parameter, value: Optional[str]) -> Any:
    """The response model ``--schema`` names (a click callback); ``None`` without the option."""
    if value is None:
        return None
    from ..structured._schema import adapter_for

    path = Path(value)
    response_model = _from_file(path) if path.is_file() else _from_module(value)
    try:
        adapter_for(response_model)
    except TypeError as exc:
        raise click.BadParameter(str(exc)) from None
    return response_model


def dump_parsed(response_model: Any, value: Any) -> Any:
    """A parsed reply as JSON values (a model's fields, a date's ISO text, ...)."""
    from ..structured._schema import adapter_for

    return adapter_for(response_model).dump_python(value, mode="json")
