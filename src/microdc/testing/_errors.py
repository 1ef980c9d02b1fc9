"""The fake's error answers: ``{"error": {"type", "code", "message", "param"}}``.

Handlers raise :class:`FakeAPIError`; the app turns it into the JSON answer. The
status codes follow one rule: a request that cannot be read (bad JSON, a bad query
parameter or cursor, an over-long ``Idempotency-Key``) gets 400; a body that was read
but whose fields are wrong (missing, wrong type, out of range, an unknown model or
file token) gets 422 with ``param`` naming the field.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

__all__ = ["FakeAPIError", "error_body"]

_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class FakeAPIError(Exception):
    """An error answer: status, code, message, the offending parameter, extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers: Dict[str, str] = dict(headers or {})

    @property
    def type(self) -> str:
        return _TYPES.get(self.status, "api_error")

    def body(self) -> bytes:
        return error_body(self.type, self.code, self.message, self.param)


def error_body(type: str, code: str, message: str, param: Optional[str] = None) -> bytes:
    payload: Dict[str, Any] = {"error": {"type": type, "code": code, "message": message, "param": param}}
    return json.dumps(payload).encode()


def invalid(param: str, message: str) -> FakeAPIError:
    """422 ``invalid_parameter`` for the field ``param``."""
    return FakeAPIError(422, "invalid_parameter", message, param=param)


def bad_query(param: str, message: str) -> FakeAPIError:
    """400 ``invalid_parameter`` for the query parameter or header ``param``."""
    return FakeAPIError(400, "invalid_parameter", message, param=param)


def not_found(kind: str, ident: str, param: str) -> FakeAPIError:
    return FakeAPIError(404, f"{kind}_not_found", f"No {kind} with id {ident!r}.", param=param)


def wrong_state(code: str, message: str) -> FakeAPIError:
    """409 that retrying cannot fix (``x-should-retry: false``)."""
    return FakeAPIError(409, code, message, headers={"x-should-retry": "false"})
