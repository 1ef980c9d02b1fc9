"""One check of request values against a generated params type, for the job builders and the fake.

The params ``TypedDict`` s of :mod:`microdc.types` carry openapi.yml's rules (enums as
``Literal``, limits as ``pydantic.Field`` constraints). :func:`first_problem` runs
pydantic over a value strictly (no coercion, ``None`` only where the spec allows
``null``) and describes the first thing wrong, with the field's path written the
way people read it: ``messages[2].role``, ``metadata.owner``.
"""

from __future__ import annotations

from typing import Any, Tuple, Union, Optional
from functools import cache
from dataclasses import dataclass

import pydantic

__all__ = ["ParamProblem", "first_problem"]


@dataclass(frozen=True)
class ParamProblem:
    kind: str
    """``missing`` (a required field is absent), ``tag`` (the union's tag is absent or
    unknown) or ``invalid`` (wrong type or value)."""
    path: str
    """The field at fault, e.g. ``messages[2].role``."""
    message: str
    """What pydantic says is wrong, e.g. ``Input should be 'low', 'normal' or 'high'``."""
    value: object
    """The value found there."""


@cache
def _adapter(typ: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(typ)


def _path(loc: Tuple[Union[int, str], ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def first_problem(typ: Any, value: object, *, tag: Optional[str] = None) -> Optional[ParamProblem]:
    """The first way ``value`` breaks the params type ``typ``, or ``None`` if it fits.

    ``tag`` is the discriminator value of a tagged union (``JobCreateParams``'s
    ``type``), which pydantic puts in front of every path.
    """
    try:
        _adapter(typ).validate_python(value, strict=True)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        kind, loc = error["type"], tuple(error["loc"])
        if tag is not None and loc[:1] == (tag,):
            loc = loc[1:]
        if kind in ("union_tag_not_found", "union_tag_invalid"):
            context = error.get("ctx") or {}
            return ParamProblem(
                "tag", str(context.get("discriminator", "type")).strip("'"), error["msg"], context.get("tag")
            )
        path = _path(loc)
        return ParamProblem("missing" if kind == "missing" else "invalid", path, error["msg"], error.get("input"))
    return None
