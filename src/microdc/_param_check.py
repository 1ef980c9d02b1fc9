"""The one check of request values against openapi.yml's rules: for the resources, the helpers and the fake.

The params ``TypedDict`` s of :mod:`microdc.types` carry openapi.yml's rules (enums as
``Literal``, limits as ``pydantic.Field`` constraints). :func:`first_problem` runs
pydantic over a value strictly (no coercion, ``None`` only where the spec allows
``null``) and describes the first thing wrong. Everything that checks values asks it:

* :func:`params_validator` — the generated resources' argument checks: ``TypeError``
  or ``ValueError`` naming the argument, before anything is sent;
* :func:`check_fields` — helpers that take some of a job's fields on their own
  (``jobs.ask``'s ``temperature``, a conversation's ``max_tokens``);
* the job builders' ``validate()`` and the fake's request validation, which word
  the problem their own way (``LLMChat.messages[0].role``, a 422 naming ``param``).
"""

from __future__ import annotations

import typing
from typing import Any, Dict, Tuple, Union, Mapping, Callable, Optional
from functools import cache
from dataclasses import dataclass

import pydantic
from pydantic_core import ErrorDetails
from typing_extensions import Literal, Required, NotRequired, get_args, get_origin

from ._utils import strip_not_given

__all__ = ["ParamProblem", "check_fields", "first_problem", "params_validator"]

ProblemKind = Literal["missing", "tag", "type", "value"]


@dataclass(frozen=True)
class ParamProblem:
    kind: ProblemKind
    """``missing`` (a required field is absent), ``tag`` (the union's tag is absent or
    unknown), ``type`` (a value of the wrong type) or ``value`` (a wrong value)."""
    loc: Tuple[Union[int, str], ...]
    """Where: field names and list positions, e.g. ``("messages", 2, "role")``."""
    message: str
    """What pydantic says is wrong, e.g. ``Input should be 'low', 'normal' or 'high'``."""
    value: object
    """The value found there."""

    @property
    def path(self) -> str:
        """The field at fault the way people read it: ``messages[2].role``, ``metadata.owner``."""
        text = ""
        for part in self.loc:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text

    def argument_error(self, method: str) -> Exception:
        """The error a call of ``method`` raises: ``TypeError`` (missing, wrong type) or ``ValueError``."""
        where = ".".join(str(part) for part in self.loc) or "arguments"
        if self.kind == "missing":
            return TypeError(f"{method}() missing required argument: `{where}`")
        if self.kind == "tag":
            return ValueError(f"{method}(): invalid value for `{where}`: {self.message}")
        if self.kind == "type":
            return TypeError(
                f"{method}(): `{where}` has the wrong type: {self.message} (got {type(self.value).__name__})"
            )
        return ValueError(f"{method}(): invalid value for `{where}`: {self.message} (got {self.value!r})")


@cache
def _adapter(typ: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(typ)


def first_problem(typ: Any, value: object) -> Optional[ParamProblem]:
    """The first way ``value`` breaks the params type ``typ``, or ``None`` if it fits."""
    try:
        _adapter(typ).validate_python(value, strict=True)
    except pydantic.ValidationError as exc:
        return _problem(exc.errors(include_url=False)[0], value)
    return None


def _problem(error: ErrorDetails, value: object) -> ParamProblem:
    kind = error["type"]
    loc: Tuple[Union[int, str], ...] = tuple(error["loc"])
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        context: Dict[str, Any] = error.get("ctx") or {}
        tag_field = str(context.get("discriminator", "type")).strip("'")
        return ParamProblem("tag", (tag_field,), error["msg"], context.get("tag"))
    # A tagged union puts the tag's value ("llm_chat") in front of the path: no field has that name.
    if len(loc) > 1 and isinstance(value, Mapping) and isinstance(loc[0], str) and loc[0] not in value:
        loc = loc[1:]
    if kind == "missing":
        problem: ProblemKind = "missing"
    elif kind.endswith("_type") or kind == "is_instance_of":
        problem = "type"
    else:
        problem = "value"
    return ParamProblem(problem, loc, error["msg"], error.get("input"))


def params_validator(typ: Any) -> Callable[[str, Dict[str, object]], Dict[str, object]]:
    """A checker for the keyword arguments of one method, described by the TypedDict ``typ``.

    The checker drops arguments that were not passed, then checks the rest with
    :func:`first_problem` and raises ``TypeError`` (wrong type, missing argument) or
    ``ValueError`` (wrong value) naming the argument. It returns the values as given,
    so what is sent is exactly what the caller passed.
    """

    def validate(method: str, values: Dict[str, object]) -> Dict[str, object]:
        params = strip_not_given(values)
        problem = first_problem(typ, params)
        if problem is not None:
            raise problem.argument_error(method)
        return params

    return validate


@cache
def _field_types(typ: Any) -> Dict[str, Any]:
    hints = typing.get_type_hints(typ, include_extras=True)
    return {name: _unwrap(hint) for name, hint in hints.items()}


def _unwrap(hint: Any) -> Any:
    while get_origin(hint) in (Required, NotRequired):
        (hint,) = get_args(hint)
    return hint


def check_fields(typ: Any, method: str, values: Mapping[str, object]) -> None:
    """Check some fields of the TypedDict ``typ`` on their own (the others may come later).

    Raises what :func:`params_validator` would for a call of ``method`` with them.
    """
    types = _field_types(typ)
    for name, value in values.items():
        problem = first_problem(types[name], value)
        if problem is not None:
            raise ParamProblem(problem.kind, (name, *problem.loc), problem.message, problem.value).argument_error(
                method
            )
