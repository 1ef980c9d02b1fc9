"""The settings and state every route of the fake reads (one per ``FakeMicroDC``),
and the small HTTP helpers the routes share."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Union, Mapping, Callable, Optional
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ._state import Store
from ._errors import FakeAPIError
from ._faults import FaultInjector

__all__ = ["NO_BODY", "Context", "JobDuration", "json_response", "query_lists", "read_json"]

JobDuration = Union[float, Mapping[str, float], Callable[[Dict[str, Any]], float]]
"""Seconds from submission to the end of a job: a number, ``{model_id: seconds}``
(``"*"`` for the others, 1 s by default), or a function of the submission body."""

DEFAULT_JOB_DURATION = 1.0


@dataclass
class Context:
    store: Store
    api_key: str
    job_duration: JobDuration
    max_upload_bytes: int
    keepalive_interval: float
    injector: Optional[FaultInjector] = None

    def duration_for(self, params: Dict[str, Any]) -> float:
        spec = self.job_duration
        if callable(spec):
            return float(spec(params))
        if isinstance(spec, Mapping):
            return float(spec.get(params["model"], spec.get("*", DEFAULT_JOB_DURATION)))
        return float(spec)


def json_response(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data).encode(), status_code=status, media_type="application/json")


NO_BODY: Any = object()
"""What :func:`read_json` returns for an empty body when ``allow_empty`` (``None`` is JSON ``null``)."""


async def read_json(request: Request, *, allow_empty: bool = False) -> Any:
    """The request's JSON body (:data:`NO_BODY` for an empty body when ``allow_empty``)."""
    body = await request.body()
    if not body.strip():
        if allow_empty:
            return NO_BODY
        raise FakeAPIError(400, "invalid_json", "The request needs a JSON body.")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise FakeAPIError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None


def query_lists(request: Request) -> Dict[str, List[str]]:
    """Every query parameter with the values it was given, in order."""
    values: Dict[str, List[str]] = {}
    for name, value in request.query_params.multi_items():
        values.setdefault(name, []).append(value)
    return values


def page(items: List[Dict[str, Any]], has_more: bool) -> Dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "has_more": has_more,
        "next_cursor": items[-1]["id"] if has_more and items else None,
    }
