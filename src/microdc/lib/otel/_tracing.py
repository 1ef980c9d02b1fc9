"""``Tracing``: OpenTelemetry HTTP spans as a hook set: ``AsyncMicroDC(hooks=Tracing())`` (extra ``microdc[otel]``).

::

    from microdc.lib.otel import Tracing

    client = AsyncMicroDC(hooks=Tracing())  # the global tracer provider, or Tracing(tracer_provider=...)

Off unless passed in ``hooks=``. Per logical call (all its retries) it records one
``CLIENT`` span named ``"{method} {path template}"`` (``"GET /api/v1/jobs/{job_id}"``):

* opened on the first ``on_request``, as a child of whatever span is current, and
  made the current span until the call ends: spans that hooks, the transport, or
  tasks started meanwhile open (an httpx/aiohttp instrumentation, a hook's own
  span) are its children;
* closed on a 2xx ``on_response`` (status left unset, as the conventions ask for
  client spans), on ``on_error`` (status ERROR, the exception recorded,
  ``error.type`` set to the status code or the exception's class), or when the
  call is cancelled (status ERROR ``"cancelled"``, ``microdc.cancelled`` true,
  ``error.type`` the cancellation's class) or interrupted by another exception;
* each attempt is a ``microdc.attempt`` event (attempt number, status code or
  error type, seconds); each retry a ``microdc.retry`` event (delay, reason);
* attributes from the HTTP semantic conventions (``http.request.method``,
  ``url.full`` with download tokens redacted, ``url.template``, ``server.address``,
  ``server.port``, ``http.response.status_code``) and ``microdc.job.id``,
  ``microdc.job.type``, ``microdc.retry.count``, ``microdc.request_id``,
  ``microdc.idempotency_key``;
* every attempt carries the span's context in its headers (W3C ``traceparent``,
  via the globally configured propagator), so the server's spans join the trace.

How the span is made current: ``on_request`` attaches a context holding it
(``opentelemetry.context.attach``) and whatever ends the span detaches it. Every
hook of a call runs in the call's own task, in order, and a cancelled call is
reported synchronously from that same task while it unwinds
(``_on_interrupted``), so the token is always detached in the context that
attached it, last-in first-out, and the caller's current span is back in place
when the call returns or raises. Tasks created during the call copy the context
and keep the span as their parent. Order in ``hooks=`` matters: put ``Tracing``
first. Hook sets after it see the span current in every hook except the
``on_response`` / ``on_error`` that ends the call (it has ended by then); hook
sets before it, only from the second attempt on.
"""

# pyright: reportPossiblyUnboundVariable=false

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Union, Optional, cast
from dataclasses import dataclass
from urllib.parse import urlsplit

from ... import _clock
from ..hooks import CallInfo, ErrorInfo, RetryInfo, RequestInfo, ResponseInfo
from ._semconv import SCHEMA_URL, error_type
from ..._version import __version__

# Without the extra this module still imports; Tracing() then says how to get it.
# (Every use of `trace`/`propagate` below runs after that check, hence the pyright
# setting at the top of the file.)
try:
    from opentelemetry import trace, context, propagate

    _missing_otel: Optional[ImportError] = None
except ImportError as exc:
    _missing_otel = exc

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.trace import Span, TracerProvider
    from opentelemetry.context import Context

__all__ = ["Tracing"]

_JOB_ID_IN_PATH = re.compile(r"/(job_[^/?#]+)")
AttributeValue = Union[str, int, float, bool]


@dataclass
class _CallSpan:
    """What ``Tracing`` keeps in a call's ``state``: its span, the token that made it current."""

    span: Span
    token: Token[Context]
    metric_attributes: Dict[str, AttributeValue]
    """``http.request.method``, ``server.address``, ``server.port``: what every attempt's metrics share."""
    attempt: int = 0
    """The last attempt ``on_request`` saw."""
    attempt_open: bool = False
    """That attempt has no ``microdc.attempt`` event yet."""
    attempt_started: float = 0.0
    """When that attempt was sent, on the SDK's clock."""
    idempotency_key: Optional[str] = None


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
        self._tracer = trace.get_tracer("microdc", __version__, tracer_provider=tracer_provider, schema_url=SCHEMA_URL)
        self._propagate = propagate_context

    def on_request(self, info: RequestInfo) -> None:
        """Start the call's span on its first attempt (and make it current); record the attempt."""
        call = self._call(info.state)
        if call is None:
            call = self._start(info)
        call.attempt = info.attempt
        call.attempt_open = True
        call.attempt_started = _clock.monotonic()
        call.idempotency_key = info.idempotency_key
        if self._propagate:
            carrier: Dict[str, str] = {}
            propagate.inject(carrier, context=trace.set_span_in_context(call.span))
            for name, value in carrier.items():
                info.set_header(name, value)

    def on_response(self, info: ResponseInfo) -> None:
        """Record the attempt as a ``microdc.attempt`` event; on a success, set the job's id and type and end the span."""
        call = self._call(info.state)
        if call is None:
            return
        span = call.span
        call.attempt_open = False
        self._attempt_ended(call, info.elapsed, info.status_code, None)
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
            self._end(info.state, call)

    def on_retry(self, info: RetryInfo) -> None:
        """Record a ``microdc.retry`` event on the call's span."""
        call = self._call(info.state)
        if call is None:
            return
        span = call.span
        if call.attempt_open:  # no on_response for this attempt: record it here
            self._attempt_failed(info, call, error_type(info.error))
        span.add_event(
            "microdc.retry",
            {"microdc.attempt": info.attempt, "microdc.retry.delay_s": info.delay, "microdc.retry.reason": info.reason},
        )

    def on_error(self, info: ErrorInfo) -> None:
        """End the call's span with the error."""
        call = self._call(info.state)
        if call is None:
            return
        span = call.span
        if call.attempt_open:
            self._attempt_failed(info, call, error_type(info.error))
        kind = str(info.status_code) if info.status_code is not None else error_type(info.error)
        span.set_attribute("error.type", kind)
        span.record_exception(info.error)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(info.error).__name__}: {info.error.message}"))
        self._end(info.state, call)

    def _on_interrupted(self, state: Dict[Any, Any], error: BaseException, cancelled: bool) -> None:
        """The call was cancelled (or a bug raised) with the span open: end it, marked, and detach it."""
        call = self._call(state)
        if call is None:
            return
        span = call.span
        kind = error_type(error)
        if call.attempt_open:
            call.attempt_open = False
            span.add_event("microdc.attempt", {"microdc.attempt": call.attempt, "error.type": kind})
            self._attempt_ended(call, _clock.monotonic() - call.attempt_started, None, kind)
        span.set_attribute("error.type", kind)
        if cancelled:
            span.set_attribute("microdc.cancelled", True)
            span.set_status(trace.Status(trace.StatusCode.ERROR, "cancelled"))
        else:
            span.record_exception(error)
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        self._end(state, call)

    # ------------------------------------------------------------------ for subclasses

    def _attempt_ended(
        self, call: _CallSpan, elapsed: float, status_code: Optional[int], failure: Optional[str]
    ) -> None:
        """An attempt ended after ``elapsed`` seconds: with an answer (``status_code``) or without (``failure``)."""

    def _parent(self, info: RequestInfo) -> Optional[Context]:  # noqa: ARG002 - for subclasses
        """The context the call's span starts in (``None``: the current one)."""
        return None

    # ------------------------------------------------------------------ internals

    def _attempt_failed(self, info: CallInfo, call: _CallSpan, kind: str) -> None:
        """The open attempt ended without an answer (``kind``: the error type)."""
        call.attempt_open = False
        call.span.add_event("microdc.attempt", {"microdc.attempt": info.attempt, "error.type": kind})
        self._attempt_ended(call, _clock.monotonic() - call.attempt_started, None, kind)

    def _call(self, state: Dict[Any, Any]) -> Optional[_CallSpan]:
        call: Optional[_CallSpan] = state.get(self)
        return call

    def _start(self, info: RequestInfo) -> _CallSpan:
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
        span = self._tracer.start_span(
            f"{info.method} {info.path}",
            context=self._parent(info),
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
        )
        # Current until the call ends; detached by _end, from this same task.
        token = context.attach(trace.set_span_in_context(span))
        metric_attributes = {
            name: attributes[name] for name in ("http.request.method", "server.address", "server.port")
        }
        call = _CallSpan(span, token, metric_attributes)
        info.state[self] = call
        return call

    def _end(self, state: Dict[Any, Any], call: _CallSpan) -> None:
        del state[self]
        span = call.span
        span.set_attribute("microdc.retry.count", call.attempt - 1)
        if call.idempotency_key is not None:
            span.set_attribute("microdc.idempotency_key", call.idempotency_key)
        try:
            span.end()
        finally:
            context.detach(call.token)

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
