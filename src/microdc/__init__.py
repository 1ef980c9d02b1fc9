"""microdc: the async-only Python SDK for the MicroDC job API.

``from microdc import AsyncMicroDC`` is all most code needs; errors, sentinels and
helpers are importable from here too. Nothing under ``microdc.resources`` or
``microdc.types`` is imported until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._retry import RetryPolicy
from ._types import (
    NOT_GIVEN,
    Omit,
    Timeout,
    NotGiven,
    FileTypes,
    RequestOptions,
    MutationRequestOptions,
    omit,
    is_given,
)
from ._client import AsyncMicroDC
from ._exports import LAZY_MODULES
from ._version import __version__
from ._constants import DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_CONNECTION_LIMITS
from ._exceptions import (
    APIError,
    MicroDCError,
    ConflictError,
    NotFoundError,
    APIStatusError,
    RateLimitError,
    APITimeoutError,
    BadRequestError,
    APIConnectionError,
    AuthenticationError,
    InternalServerError,
    PermissionDeniedError,
    UnprocessableEntityError,
    APIResponseValidationError,
)
from ._http_clients import DefaultAioHttpClient, DefaultAsyncHttpxClient

if TYPE_CHECKING:
    from ._models import BaseModel as BaseModel
    from ._response import AsyncAPIResponse as AsyncAPIResponse, AsyncBinaryAPIResponse as AsyncBinaryAPIResponse
    from ._streaming import AsyncStream as AsyncStream
    from ._rate_limit import RateLimit
    from .lib.structured import Prompt, OutputValidationError
    from .lib.jobs._errors import JobFailedError, BudgetExceededError, JobWaitTimeoutError
    from .lib.jobs.builders import LLMChat, LLMEmbed, LLMComplete, DocumentCall

__all__ = [
    "DEFAULT_CONNECTION_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncAPIResponse",
    "AsyncBinaryAPIResponse",
    "AsyncMicroDC",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BaseModel",
    "BudgetExceededError",
    "ConflictError",
    "DefaultAioHttpClient",
    "DefaultAsyncHttpxClient",
    "DocumentCall",
    "FileTypes",
    "InternalServerError",
    "JobFailedError",
    "JobWaitTimeoutError",
    "LLMChat",
    "LLMComplete",
    "LLMEmbed",
    "MicroDCError",
    "MutationRequestOptions",
    "NotFoundError",
    "NotGiven",
    "Omit",
    "OutputValidationError",
    "PermissionDeniedError",
    "Prompt",
    "RateLimit",
    "RateLimitError",
    "RequestOptions",
    "RetryPolicy",
    "Timeout",
    "UnprocessableEntityError",
    "__version__",
    "is_given",
    "omit",
]

# Hand-written helpers, and the parse layer (it defines pydantic models, which cost
# more to build than the rest of `import microdc`), load on first use.
_LAZY = {
    "BaseModel": "microdc._models",
    "AsyncAPIResponse": "microdc._response",
    "AsyncBinaryAPIResponse": "microdc._response",
    "AsyncStream": "microdc._streaming",
    "LLMComplete": "microdc.lib.jobs.builders",
    "LLMChat": "microdc.lib.jobs.builders",
    "LLMEmbed": "microdc.lib.jobs.builders",
    "DocumentCall": "microdc.lib.jobs.builders",
    "RateLimit": "microdc._rate_limit",
    # The job helpers' errors live with the helpers that raise them.
    "JobWaitTimeoutError": "microdc.lib.jobs._errors",
    "JobFailedError": "microdc.lib.jobs._errors",
    "BudgetExceededError": "microdc.lib.jobs._errors",
    "Prompt": "microdc.lib.structured",
    "OutputValidationError": "microdc.lib.structured",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        _present_as_microdc(value)
    elif name in LAZY_MODULES:  # `microdc.types` after a bare `import microdc`
        value = importlib.import_module(LAZY_MODULES[name])
    else:
        raise AttributeError(f"module 'microdc' has no attribute {name!r}")
    globals()[name] = value
    return value


# Tracebacks and reprs say `microdc.NotFoundError`, not `microdc._exceptions.NotFoundError`.
def _present_as_microdc(value: object) -> None:
    if isinstance(value, type) and value.__module__.startswith("microdc._"):
        value.__module__ = "microdc"


def _rewrite_modules() -> None:
    for name in __all__:
        _present_as_microdc(globals().get(name))


_rewrite_modules()
