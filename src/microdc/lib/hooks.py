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

Two more kinds of event, for hook sets that want them:

* ``on_job(JobInfo)`` (plain or ``async``): each terminal Job the SDK saw, in an
  answer, a list page or an event stream's terminal event; the same job again each
  time it is fetched again, so count with a :class:`RecentIds`;
* ``on_operation_start(OperationInfo)`` / ``on_operation_end(OperationEndInfo)``
  (plain functions only): one model call as the user asked for it (``jobs.ask``,
  ``conversation.send``/``stream``, ``create_and_wait``, ``jobs.wait`` of a model
  job), around every request it makes; each request's ``CallInfo.operation`` is the
  operation it belongs to. A nested operation (the wait inside ``ask``) opens none.
  :class:`~microdc.lib.otel.Telemetry` turns each into a GenAI span.
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
from .._operations import OperationInfo, OperationEndInfo, SupportsOnOperation, current_operation
from .._job_notices import JOBS_REMEMBERED, JobHook, JobInfo, JobSource, RecentIds, SupportsOnJob

__all__ = [
    "JOBS_REMEMBERED",
    "CallInfo",
    "ErrorHook",
    "ErrorInfo",
    "HookSet",
    "Hooks",
    "HooksArg",
    "JobHook",
    "JobInfo",
    "JobSource",
    "OperationEndInfo",
    "OperationInfo",
    "RecentIds",
    "RequestHook",
    "RequestInfo",
    "ResponseHook",
    "ResponseInfo",
    "RetryHook",
    "RetryInfo",
    "SupportsOnError",
    "SupportsOnJob",
    "SupportsOnOperation",
    "SupportsOnRequest",
    "SupportsOnResponse",
    "SupportsOnRetry",
    "current_operation",
]

# Reprs and tracebacks say `microdc.lib.hooks.RetryInfo`, not the private module.
for _value in (
    CallInfo,
    ErrorInfo,
    Hooks,
    JobInfo,
    OperationEndInfo,
    OperationInfo,
    RecentIds,
    SupportsOnJob,
    SupportsOnOperation,
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
