"""Hooks, public: callbacks the client runs around every request.

::

    from microdc import AsyncMicroDC
    from microdc.lib.hooks import Hooks, RetryInfo

    def log_retry(info: RetryInfo) -> None:
        print(f"{info.method} {info.path}: attempt {info.attempt} failed ({info.reason}), "
              f"retrying in {info.delay:.2f} s")

    client = AsyncMicroDC(hooks=Hooks(on_retry=log_retry))

``hooks=`` takes any object with some of ``on_request``, ``on_response``,
``on_retry`` and ``on_error`` (plain or ``async``), or a list of such objects:
:class:`~microdc.lib.metrics.Metrics` and :class:`~microdc.lib.otel.Tracing` are
two. Each receives a frozen record; see ``microdc._hooks`` for when each runs.
"""

from __future__ import annotations

from .._hooks import (
    Hooks,
    HookSet,
    CallInfo,
    HooksArg,
    ErrorHook,
    ErrorInfo,
    RetryHook,
    RetryInfo,
    RequestHook,
    RequestInfo,
    ResponseHook,
    ResponseInfo,
    SupportsOnError,
    SupportsOnRetry,
    SupportsOnRequest,
    SupportsOnResponse,
)

__all__ = [
    "CallInfo",
    "ErrorHook",
    "ErrorInfo",
    "HookSet",
    "Hooks",
    "HooksArg",
    "RequestHook",
    "RequestInfo",
    "ResponseHook",
    "ResponseInfo",
    "RetryHook",
    "RetryInfo",
    "SupportsOnError",
    "SupportsOnRequest",
    "SupportsOnResponse",
    "SupportsOnRetry",
]

# Reprs and tracebacks say `microdc.lib.hooks.RetryInfo`, not the private module.
for _value in (
    CallInfo,
    ErrorInfo,
    Hooks,
    RequestInfo,
    ResponseInfo,
    RetryInfo,
    SupportsOnError,
    SupportsOnRequest,
    SupportsOnResponse,
    SupportsOnRetry,
):
    _value.__module__ = __name__
del _value
