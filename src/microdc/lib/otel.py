"""OpenTelemetry tracing as a hook set: ``AsyncMicroDC(hooks=Tracing())`` (extra ``microdc[otel]``).

::

    from microdc.lib.otel import Tracing

    client = AsyncMicroDC(hooks=Tracing())  # the global tracer provider, or Tracing(tracer_provider=...)

Off unless passed in ``hooks=``. Per logical call (all its retries) it records one
``CLIENT`` span named ``"{method} {path template}"`` (``"GET /api/v1/jobs/{job_id}"``):

* opened on the first ``on_request``, as a child of whatever span is current;
  closed on a 2xx ``on_response`` (status left unset, as the conventions ask for
  client spans) or on ``on_error`` (status ERROR, the exception recorded,
  ``error.type`` set to the status code or the exception's class);
* each attempt is a ``microdc.attempt`` event (attempt number, status code or
  error type, seconds); each retry a ``microdc.retry`` event (delay, reason);
* attributes from the HTTP semantic conventions (``http.request.method``,
  ``url.full`` with download tokens redacted, ``url.template``, ``server.address``,
  ``server.port``, ``http.response.status_code``) and ``microdc.job.id``,
  ``microdc.job.type``, ``microdc.retry.count``, ``microdc.request_id``,
  ``microdc.idempotency_key``;
* every attempt carries the span's context in its headers (W3C ``traceparent``,
  via the globally configured propagator), so the server's spans join the trace.

A call cancelled mid-way leaves its span unfinished, and so unexported.
"""

# pyright: reportPossiblyUnboundVariable=false

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, Union, Optional, cast
from urllib.parse import urlsplit

from .hooks import ErrorInfo, RetryInfo, RequestInfo, ResponseInfo
from .._version import __version__

# Without the extra this module still imports; Tracing() then says how to get it.
# (Every use of `trace`/`propagate` below runs after that check, hence the pyright
# setting at the top of the file.)
try:
    from opentelemetry import trace, propagate

    _missing_otel: Optional[ImportError] = None
except ImportError as exc:
    _missing_otel = exc

if TYPE_CHECKING:
    from opentelemetry.trace import Span, TracerProvider

__all__ = ["Tracing"]

_JOB_ID_IN_PATH = re.compile(r"/(job_[^/?#]+)")
AttributeValue = Union[str, int, float, bool]


class Tracing:
    """A span per call, an event per attempt, ``traceparent`` on every request.

    Args:
      tracer_provider: where spans go; the global provider when ``None``.
      propagate_context: send the trace context in request headers (default ``True``).

    Raises:
      ImportError: OpenTelemetry is not installed (``pip install 'microdc[otel]'``).
    """

    def __init__(self, tracer_provider: Optional[TracerProvider] = None, *, propagate_context: bool = True) -> None:
        if _missing_otel is not None:
            raise ImportError(
                "microdc.lib.otel.Tracing needs OpenTelemetry: pip install 'microdc[otel]'"
            ) from _missing_otel
        self._tracer = trace.get_tracer("microdc", __version__, tracer_provider=tracer_provider)
        self._propagate = propagate_context

    def on_request(self, info: RequestInfo) -> None:
        span = self._span(info)
        if span is None:
            span = self._start(info)
        if self._propagate:
            carrier: Dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(span))
            for name, value in carrier.items():
                info.set_header(name, value)

    def on_response(self, info: ResponseInfo) -> None:
        span = self._span(info)
        if span is None:
            return
        span.add_event(
            "microdc.attempt",
            {
                "microdc.attempt": info.attempt,
                "http.response.status_code": info.status_code,
                "duration_s": info.elapsed,
            },
        )
        span.set_attribute("http.response.status_code", info.status_code)
        if info.request_id is not None:
            span.set_attribute("microdc.request_id", info.request_id)
        if info.is_success:
            self._set_job_attributes(span, info)
            self._end(info, span)

    def on_retry(self, info: RetryInfo) -> None:
        span = self._span(info)
        if span is None:
            return
        if info.status_code is None:  # no on_response for this attempt: record it here
            span.add_event("microdc.attempt", {"microdc.attempt": info.attempt, "error.type": _error_type(info.error)})
        span.add_event(
            "microdc.retry",
            {"microdc.attempt": info.attempt, "microdc.retry.delay_s": info.delay, "microdc.retry.reason": info.reason},
        )

    def on_error(self, info: ErrorInfo) -> None:
        span = self._span(info)
        if span is None:
            return
        if info.status_code is None:
            span.add_event("microdc.attempt", {"microdc.attempt": info.attempt, "error.type": _error_type(info.error)})
        error_type = str(info.status_code) if info.status_code is not None else _error_type(info.error)
        span.set_attribute("error.type", error_type)
        span.record_exception(info.error)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(info.error).__name__}: {info.error.message}"))
        self._end(info, span)

    # ------------------------------------------------------------------ internals

    def _span(self, info: Union[RequestInfo, ResponseInfo, RetryInfo, ErrorInfo]) -> Optional[Span]:
        span: Optional[Span] = info.state.get(self)
        return span

    def _start(self, info: RequestInfo) -> Span:
        parts = urlsplit(info.url)
        attributes: Dict[str, AttributeValue] = {
            "http.request.method": info.method,
            "url.full": info.url,
            "url.template": info.path,
            "server.address": parts.hostname or "",
            "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        }
        job_id = _JOB_ID_IN_PATH.search(parts.path)
        if job_id is not None:
            attributes["microdc.job.id"] = job_id.group(1)
        span = self._tracer.start_span(f"{info.method} {info.path}", kind=trace.SpanKind.CLIENT, attributes=attributes)
        info.state[self] = span
        return span

    def _end(self, info: Union[ResponseInfo, ErrorInfo], span: Span) -> None:
        span.set_attribute("microdc.retry.count", info.attempt - 1)
        if info.idempotency_key is not None:
            span.set_attribute("microdc.idempotency_key", info.idempotency_key)
        span.end()
        del info.state[self]

    def _set_job_attributes(self, span: Span, info: ResponseInfo) -> None:
        content = info.content
        if content is None or b'"job"' not in content:
            return
        body = info.json
        if not isinstance(body, dict):
            return
        job = cast(Dict[str, object], body)
        if job.get("object") != "job":
            return
        for attribute, key in (("microdc.job.id", "id"), ("microdc.job.type", "type")):
            value = job.get(key)
            if isinstance(value, str):
                span.set_attribute(attribute, value)


def _error_type(error: BaseException) -> str:
    """The exception's qualified class name (``microdc.APITimeoutError``), as ``error.type`` wants."""
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"
