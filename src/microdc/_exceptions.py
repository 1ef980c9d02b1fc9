"""Every exception the SDK raises on purpose.

The tree::

    MicroDCError
    ├── APIError
    │   ├── APIStatusError                  (a non-2xx answer)
    │   │   ├── BadRequestError             400
    │   │   ├── AuthenticationError         401
    │   │   ├── PermissionDeniedError       403
    │   │   ├── NotFoundError               404
    │   │   ├── ConflictError               409
    │   │   ├── UnprocessableEntityError    422
    │   │   ├── RateLimitError              429
    │   │   └── InternalServerError         >= 500
    │   ├── APIConnectionError              (no answer: refused, reset, DNS, ...)
    │   │   └── APITimeoutError
    │   └── APIResponseValidationError      (an answer that does not fit the schema)
    └── (the job helpers' errors, in ``microdc.lib.jobs``: JobWaitTimeoutError,
         JobFailedError, BudgetExceededError; also importable from ``microdc``)
"""

from __future__ import annotations

import ssl
from typing import Any, Dict, List, Type, Optional

import httpx
from typing_extensions import Literal

from ._logs import redact_url

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "MicroDCError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "connection_error",
    "decode_body",
    "error_code",
    "make_status_error",
    "read_response",
]


class MicroDCError(Exception):
    """The base of every exception raised by ``microdc``."""


class APIError(MicroDCError):
    """A request to the MicroDC API did not give a usable answer."""

    message: str
    request: httpx.Request
    body: object | None
    """The decoded JSON body of the answer, its text if it was not JSON, or ``None``."""

    type: str | None
    code: str | None
    param: str | None

    def __init__(self, message: str, request: httpx.Request, *, body: object | None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        error = _error_object(body)
        self.type = _str_or_none(error.get("type"))
        self.code = _str_or_none(error.get("code"))
        self.param = _str_or_none(error.get("param"))


class APIStatusError(APIError):
    """The API answered with a 4xx or 5xx status."""

    response: httpx.Response
    status_code: int
    request_id: str | None

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    """400: the request was malformed; ``param`` names the offending field when known."""

    status_code: Literal[400]  # pyright: ignore[reportIncompatibleVariableOverride]


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong. Check ``MICRODC_API_KEY``."""

    status_code: Literal[401]  # pyright: ignore[reportIncompatibleVariableOverride]


class PermissionDeniedError(APIStatusError):
    """403: the key (or download token) may not do this, or the token expired."""

    status_code: Literal[403]  # pyright: ignore[reportIncompatibleVariableOverride]


class NotFoundError(APIStatusError):
    """404: no such job, file, model or endpoint."""

    status_code: Literal[404]  # pyright: ignore[reportIncompatibleVariableOverride]


class ConflictError(APIStatusError):
    """409: the resource is in the wrong state (e.g. cancelling a finished job), or a
    request with the same idempotency key is still in flight."""

    status_code: Literal[409]  # pyright: ignore[reportIncompatibleVariableOverride]


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but refused, e.g. ``idempotency_key_reused``."""

    status_code: Literal[422]  # pyright: ignore[reportIncompatibleVariableOverride]


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically after ``Retry-After``."""

    status_code: Literal[429]  # pyright: ignore[reportIncompatibleVariableOverride]


class InternalServerError(APIStatusError):
    """5xx: the server failed; retried automatically."""


class APIConnectionError(APIError):
    """No answer arrived: the connection was refused, reset or dropped.

    ``retryable`` is False for a failure no retry can fix (e.g. a server certificate
    that does not verify); the retry policy never retries those.
    """

    retryable: bool

    def __init__(self, *, message: str = "Connection error.", request: httpx.Request, retryable: bool = True) -> None:
        super().__init__(message, request, body=None)
        self.retryable = retryable


class APITimeoutError(APIConnectionError):
    """No answer arrived within the timeout."""

    def __init__(self, request: httpx.Request, *, note: Optional[str] = None) -> None:
        message = "Request timed out. Raise `timeout` on the client or the call if the server needs longer."
        super().__init__(message=_noted(message, note), request=request)


class APIResponseValidationError(APIError):
    """The answer did not match the expected schema (strict validation only)."""

    response: httpx.Response
    status_code: int

    def __init__(self, response: httpx.Response, body: object | None, *, message: str | None = None) -> None:
        super().__init__(message or "Data returned by API invalid for expected schema.", response.request, body=body)
        self.response = response
        self.status_code = response.status_code


_STATUS_ERRORS: Dict[int, Type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def connection_error(exc: httpx.HTTPError, request: httpx.Request) -> APIConnectionError:
    """The SDK error for a transport failure of ``request``: a timeout, a certificate, or a connection error.

    The transport's notes on ``exc`` (e.g. which proxy it went through) end the message.
    """
    notes: Optional[str] = "; ".join(getattr(exc, "__notes__", ())) or None
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request, note=notes)
    if isinstance(exc, httpx.TooManyRedirects):
        return APIConnectionError(message=f"Too many redirects: {exc}", request=request)
    certificate = _certificate_error(exc)
    if certificate is not None:
        message = _UNTRUSTED.format(
            host=request.url.host, reason=getattr(certificate, "verify_message", None) or certificate
        )
        return APIConnectionError(message=_noted(message, notes), request=request, retryable=False)
    detail = redact_url(str(exc)) or type(exc).__name__
    return APIConnectionError(message=_noted(f"Connection error: {detail}", notes), request=request)


_UNTRUSTED = (
    "The TLS certificate of {host} could not be verified ({reason}); not retried, as no retry can succeed. "
    "If the server uses a private CA, trust it: build the http client with `verify=` set to the CA's PEM file "
    "(or an ssl.SSLContext), e.g. `AsyncMicroDC(http_client=DefaultAsyncHttpxClient(verify='ca.pem'))`, "
    "or set SSL_CERT_FILE=/path/to/ca.pem before the client is built."
)


def _certificate_error(exc: BaseException) -> Optional[ssl.SSLCertVerificationError]:
    """The certificate failure behind a transport error, if that is what it is (transports chain it)."""
    found: Optional[ssl.SSLCertVerificationError] = None
    pending: List[BaseException] = [exc]
    for _ in range(16):  # a chain of a few links; the bound also ends a cycle
        if not pending:
            break
        current = pending.pop()
        if isinstance(current, ssl.SSLCertVerificationError):
            # aiohttp's wrapper is one too, without OpenSSL's reason; the one it wraps has it.
            if getattr(current, "verify_message", None):
                return current
            found = found or current
        linked = (current.__cause__, current.__context__, *current.args)
        pending.extend(link for link in linked if isinstance(link, BaseException))
    return found


def _noted(message: str, note: Optional[str]) -> str:
    return message if note is None else f"{message} ({note})"


async def read_response(response: httpx.Response) -> None:
    """Read ``response``'s body; a transport failure while reading closes it and raises the SDK error."""
    try:
        await response.aread()
    except httpx.HTTPError as exc:
        await response.aclose()
        raise connection_error(exc, response.request) from exc


def error_code(body: object | None) -> Optional[str]:
    """The ``error.code`` of a decoded error body, if it has one."""
    return _str_or_none(_error_object(body).get("code"))


def decode_body(response: httpx.Response) -> object:
    """A read answer's body: its JSON, else its text, else ``None``."""
    try:
        return response.json()
    except ValueError:
        return response.text or None


def make_status_error(response: httpx.Response, body: object | None, *, note: Optional[str] = None) -> APIStatusError:
    """The exception for a non-2xx ``response`` whose decoded body is ``body`` (``note`` is appended to its message)."""
    status = response.status_code
    error_class = _STATUS_ERRORS.get(status)
    if error_class is None:
        error_class = InternalServerError if status >= 500 else APIStatusError
    error = _error_object(body)
    detail = error.get("message")
    if not isinstance(detail, str):
        detail = _plain_message(body) or response.reason_phrase or "no details"
    code = error.get("code")
    prefix = f"Error code: {status}"
    if isinstance(code, str):
        prefix += f" ({code})"
    message = f"{prefix} - {_shorten(str(detail))}"
    return error_class(_noted(message, note), response=response, body=body)


def with_note(error: APIError, note: str) -> APIError:
    """A new error like ``error`` whose message ends with ``note`` (``error`` itself is left as it is)."""
    noted: APIError
    if isinstance(error, APIStatusError):
        noted = make_status_error(error.response, error.body, note=note)
    elif isinstance(error, APITimeoutError):
        noted = APITimeoutError(error.request, note=note)
    elif isinstance(error, APIConnectionError):
        noted = APIConnectionError(
            message=f"{error.message} ({note})", request=error.request, retryable=error.retryable
        )
    else:
        noted = APIError(f"{error.message} ({note})", error.request, body=error.body)
    noted.__cause__ = error.__cause__
    return noted


def _error_object(body: object | None) -> Dict[str, Any]:
    if isinstance(body, dict):
        error: object = body.get("error", body)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if isinstance(error, dict):
            return error  # pyright: ignore[reportUnknownVariableType]
    return {}


def _plain_message(body: object | None) -> Optional[str]:
    """The message of a body that is not the API's error object: its text, or ``{"error": "..."}``."""
    if isinstance(body, dict):
        body = body.get("error")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return body if isinstance(body, str) and body else None


def _str_or_none(value: object) -> Optional[str]:
    return value if isinstance(value, str) else None


def _shorten(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
