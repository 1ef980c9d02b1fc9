"""Job parameters from the command line and from JSON lines: the type inferred, then checked.

``jobs create`` and ``jobs run`` take what ``client.jobs.create`` takes. Both infer a
missing ``type`` from the one input field present (``prompt``, ``messages``,
``texts`` or ``file_tokens``) and check the whole set against the generated
``JobCreateParams`` (openapi.yml's rules, through :mod:`microdc._param_check`)
before anything is sent, so each command can say what is wrong in its own terms
(an option of ``jobs create``, a field of a ``jobs run`` line) instead of a Python
signature's.
"""

from __future__ import annotations

import typing
from typing import Any, Dict, Mapping, Optional, FrozenSet
from functools import cache
from dataclasses import dataclass

import typing_extensions

__all__ = ["JobShape", "ParamsProblem", "check_job", "job_shapes"]


@dataclass(frozen=True)
class JobShape:
    """One job type's fields, read from its generated params ``TypedDict``."""

    type: str
    input: str
    """The field that holds the job's input (``prompt`` for ``llm_complete``)."""
    required: FrozenSet[str]
    fields: FrozenSet[str]


@cache
def job_shapes() -> Dict[str, JobShape]:
    """Every job type's shape, in openapi.yml's order (the variants of ``JobCreateParams``)."""
    from ...types.job_create_params import JobCreateParams

    shapes: Dict[str, JobShape] = {}
    (union, *_) = typing.get_args(JobCreateParams)  # Annotated[Union[...], discriminator]
    for variant in typing.get_args(union):
        (job_type,) = typing.get_args(typing_extensions.get_type_hints(variant)["type"])
        required = frozenset(variant.__required_keys__)
        (input_field,) = required - {"type", "model"}
        shapes[job_type] = JobShape(job_type, input_field, required, frozenset(variant.__annotations__))
    return shapes


class ParamsProblem(ValueError):
    """What is wrong with a set of job parameters; ``field`` is the one at fault (``messages[1].role``)."""

    def __init__(self, kind: str, field: str, message: str, *, job_type: Optional[str] = None) -> None:
        super().__init__(message)
        self.kind = kind
        """``missing``, ``unknown`` (a field the job type does not take), ``type`` or ``invalid``."""
        self.field = field
        self.message = message
        self.job_type = job_type
        """The job's type, once known."""


def check_job(params: Mapping[str, Any]) -> Dict[str, Any]:
    """``params`` with its ``type`` (inferred when left out), or ``ParamsProblem`` saying what to change.

    The message names fields as they are written in JSON (``"prompt"``); a command
    that takes options instead says which option (see ``ParamsProblem.field``).
    """
    shapes = job_shapes()
    job_type = params.get("type")
    if job_type is None:
        job_type = _infer_type(params, shapes)
    shape = shapes.get(job_type) if isinstance(job_type, str) else None
    if shape is None:
        raise ParamsProblem("type", "type", f'"type" is {job_type!r}, not a job type (one of: {", ".join(shapes)})')
    typed = {**params, "type": job_type}
    for field in typed:
        if field not in shape.fields:
            takes = ", ".join(sorted(shape.fields - {"type"}))
            message = f'{job_type} jobs have no field "{field}" (they take: {takes})'
            raise ParamsProblem("unknown", field, message, job_type=job_type)
    problem = _first_problem(typed, job_type)
    if problem is not None:
        raise problem
    return typed


def _infer_type(params: Mapping[str, Any], shapes: Mapping[str, JobShape]) -> str:
    found = [shape.type for shape in shapes.values() if shape.input in params]
    if len(found) == 1:
        return found[0]
    inputs = ", ".join(f'"{shape.input}" ({shape.type})' for shape in shapes.values())
    if not found:
        raise ParamsProblem("missing", "type", f'no "type", and none of the inputs that tell it: {inputs}')
    both = " and ".join(f'"{shapes[job_type].input}"' for job_type in found)
    raise ParamsProblem("type", "type", f'no "type", and {both} are inputs of different job types: set "type"')


def _first_problem(params: Dict[str, Any], job_type: str) -> Optional[ParamsProblem]:
    from ..._param_check import first_problem
    from ...types.job_create_params import JobCreateParams

    problem = first_problem(JobCreateParams, params, tag=job_type)
    if problem is None:
        return None
    if problem.kind == "missing":
        message = f'"{problem.path}" is missing ({job_type} jobs need it)'
    else:
        message = f'"{problem.path}": {problem.message} (got {problem.value!r})'
    return ParamsProblem(problem.kind, problem.path, message, job_type=job_type)
