"""``Telemetry``: ``Tracing``'s HTTP spans, plus GenAI spans and OpenTelemetry metrics.

::

    from microdc.lib.otel import Telemetry

    client = AsyncMicroDC(hooks=Telemetry(tracer_provider=tp, meter_provider=mp))
    text = await client.jobs.ask("Say hi", model="echo-1")

Where this sits: a hook set like :class:`~microdc.lib.otel.Tracing` (whose per-call HTTP
spans it keeps), that also implements the operation hooks (``microdc._operations``)
and ``on_job`` (``microdc._job_notices``).

The GenAI span: one per operation (``jobs.ask``, ``conversation.send``/``stream``,
``create_and_wait``, ``jobs.wait`` of an ``llm_complete``/``llm_chat``/``llm_embed``
job), a ``CLIENT`` span named ``"{gen_ai.operation.name} {gen_ai.request.model}"``
(``"text_completion echo-1"``). It starts before the job is submitted and ends at its
terminal Job; the HTTP spans of the calls inside are its children (it is the current
span while the operation runs; a streamed turn's calls name it as their parent, and
the caller's code between two deltas is outside it). Attributes: ``gen_ai.operation.name``,
``gen_ai.provider.name`` (``microdc``), ``gen_ai.request.model``,
``gen_ai.request.temperature``, ``gen_ai.request.max_tokens``, ``server.address``,
``server.port``; when the job ends, ``gen_ai.response.id`` (the job id),
``gen_ai.response.model``, ``gen_ai.response.finish_reasons``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, ``microdc.job.status``
and ``microdc.job.cost_usd``. A structured ``ask``/``send`` whose reply was re-asked is
still one span: the response attributes are the last job's, the usage and cost those of
all its jobs. A failed job sets ``error.type`` to its error code
(``cancelled`` for a job cancelled on the server); an exception sets it to the
exception's class (``microdc.OutputValidationError`` for a reply still invalid after the last
re-ask); a cancelled operation is ended with status ERROR ``cancelled`` and
``microdc.cancelled`` true, as ``Tracing`` does for calls. Text is recorded only with
``capture_content=True`` (:mod:`._content`).

Metrics (with the meter provider given, else the global one), named, united and
bucketed as the conventions advise (:mod:`._semconv`):

* ``http.client.request.duration`` (s, each attempt): ``http.request.method``,
  ``server.address``, ``server.port``, ``http.response.status_code``, ``error.type``;
* ``gen_ai.client.operation.duration`` (s, each operation) and
  ``gen_ai.client.token.usage`` ({token}, each operation whose job reported usage,
  ``gen_ai.token.type`` = ``input``/``output``);
* ``microdc.job.cost`` (USD, a counter): every terminal job the SDK sees, once
  (``gen_ai.request.model``, ``microdc.job.type``), including those no operation ran
  (list pages of ``as_completed``, the watcher, ``jobs.batch``).
"""

# pyright: reportPossiblyUnboundVariable=false

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple, Optional
from dataclasses import dataclass

from ..hooks import JobInfo, RecentIds, RequestInfo, OperationInfo, OperationEndInfo
from .._money import to_usd, to_picodollars
from ._content import latest_event, legacy_choice_event, legacy_input_events
from ._semconv import (
    SCHEMA_URL,
    PROVIDER_NAME,
    TOKEN_BUCKETS,
    HTTP_DURATION_BUCKETS,
    GENAI_DURATION_BUCKETS,
    error_type,
    genai_latest_experimental,
)
from ._tracing import Tracing, _CallSpan, _missing_otel  # pyright: ignore[reportPrivateUsage]
from ..._version import __version__

if _missing_otel is None:
    from opentelemetry import trace, context, metrics

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.trace import Span, TracerProvider
    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider

    from ...types.job import Job

__all__ = ["Telemetry"]

AttributeValue = Any


@dataclass
class _OperationSpan:
    """What ``Telemetry`` keeps in an operation's ``state``: the GenAI span, the token that made it current."""

    span: Span
    token: Optional[Token[Context]]
    attributes: Dict[str, AttributeValue]
    """What the operation's metrics share (operation name, provider, model, server)."""


class Telemetry(Tracing):
    """GenAI spans and OpenTelemetry metrics for the SDK's model calls, beside ``Tracing``'s HTTP spans.

    Args:
      tracer_provider: where spans go; the global provider when ``None``.
      meter_provider: where metrics go; the global provider when ``None``.
      capture_content: record prompt and reply text on the GenAI span (off by default:
        it may hold personal data).
      propagate_context: send the trace context in request headers (default ``True``).

    Raises:
      ImportError: OpenTelemetry is not installed (``pip install 'microdc[otel]'``).
    """

    def __init__(
        self,
        *,
        tracer_provider: Optional[TracerProvider] = None,
        meter_provider: Optional[MeterProvider] = None,
        capture_content: bool = False,
        propagate_context: bool = True,
    ) -> None:
        super().__init__(tracer_provider, propagate_context=propagate_context)
        self._capture = capture_content
        self._latest = genai_latest_experimental()
        meter = metrics.get_meter("microdc", __version__, meter_provider=meter_provider, schema_url=SCHEMA_URL)
        self._http_duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=list(HTTP_DURATION_BUCKETS),
        )
        self._operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(GENAI_DURATION_BUCKETS),
        )
        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=[float(bound) for bound in TOKEN_BUCKETS],
        )
        self._job_cost = meter.create_counter(
            "microdc.job.cost", unit="USD", description="What terminal jobs cost, in US dollars."
        )
        self._costed = RecentIds()

    # ------------------------------------------------------------------ operations

    def on_operation_start(self, info: OperationInfo) -> None:
        """Start the GenAI span (current until the end, unless the operation is a stream)."""
        base: Dict[str, AttributeValue] = {
            "gen_ai.operation.name": info.operation_name,
            "gen_ai.provider.name": PROVIDER_NAME,
            "gen_ai.request.model": info.model,
            "server.address": info.server_address,
            "server.port": info.server_port,
        }
        attributes = dict(base)
        if not self._latest:
            attributes["gen_ai.system"] = PROVIDER_NAME
        temperature, max_tokens = info.params.get("temperature"), info.params.get("max_tokens")
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
            attributes["gen_ai.request.temperature"] = float(temperature)
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            attributes["gen_ai.request.max_tokens"] = max_tokens
        span = self._tracer.start_span(
            f"{info.operation_name} {info.model}", kind=trace.SpanKind.CLIENT, attributes=attributes
        )
        # A stream's span is not made current: the caller's code runs between its reads.
        token = None if info.streaming else context.attach(trace.set_span_in_context(span))
        info.state[self] = _OperationSpan(span, token, base)
        if self._capture and not self._latest:
            for name, event in legacy_input_events(info):
                span.add_event(name, event)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        """Set the job's outcome and usage on the GenAI span, end it, and record the operation's metrics."""
        found: Optional[_OperationSpan] = info.state.pop(self, None)
        if found is None:
            return
        span, job = found.span, info.job
        measured = dict(found.attributes)
        try:
            if job is not None:
                measured["gen_ai.response.model"] = job.model
                self._set_job(span, job, info.jobs)
            if self._capture:
                self._set_content(span, info, job)
            failure = self._set_outcome(span, info, job)
            if failure is not None:
                measured["error.type"] = failure
            span.end()
        finally:
            if found.token is not None:
                context.detach(found.token)
        self._operation_duration.record(info.elapsed, measured)
        usage = _usage(info.jobs)
        if usage is not None:
            measured.pop("error.type", None)
            self._token_usage.record(usage.input_tokens, {**measured, "gen_ai.token.type": "input"})
            self._token_usage.record(usage.output_tokens, {**measured, "gen_ai.token.type": "output"})

    def on_job(self, info: JobInfo) -> None:
        """Add a terminal job's cost to ``microdc.job.cost``, once per job."""
        job = info.job
        if job.usage is None or not self._costed.add(job.id):
            return
        self._job_cost.add(
            job.usage.cost_usd,
            {"gen_ai.provider.name": PROVIDER_NAME, "gen_ai.request.model": job.model, "microdc.job.type": job.type},
        )

    # ------------------------------------------------------------------ Tracing's extension points

    def _attempt_ended(
        self, call: _CallSpan, elapsed: float, status_code: Optional[int], failure: Optional[str]
    ) -> None:
        attributes = dict(call.metric_attributes)
        if status_code is not None:
            attributes["http.response.status_code"] = status_code
            if status_code >= 400:
                attributes["error.type"] = str(status_code)
        if failure is not None:
            attributes["error.type"] = failure
        self._http_duration.record(elapsed, attributes)

    def _parent(self, info: RequestInfo) -> Optional[Context]:
        # A streamed operation's span is not current, so its calls name it as their parent.
        operation = info.operation
        if operation is None or not operation.streaming:
            return None
        found: Optional[_OperationSpan] = operation.state.get(self)
        return None if found is None else trace.set_span_in_context(found.span)

    # ------------------------------------------------------------------ internals

    def _set_job(self, span: Span, job: Job, jobs: Tuple[Job, ...]) -> None:
        """The last job's outcome; the usage of every job the operation ran (re-asks included)."""
        span.set_attribute("gen_ai.response.id", job.id)
        span.set_attribute("gen_ai.response.model", job.model)
        span.set_attribute("microdc.job.status", job.status)
        result = job.result
        finish_reason: object = getattr(result, "finish_reason", None)
        if isinstance(finish_reason, str):
            span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])
        usage = _usage(jobs)
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            span.set_attribute("microdc.job.cost_usd", usage.cost_usd)

    def _set_content(self, span: Span, info: OperationEndInfo, job: Optional[Job]) -> None:
        if self._latest:
            name, attributes = latest_event(info, job)
            span.add_event(name, attributes)
            return
        choice = legacy_choice_event(job)
        if choice is not None:
            span.add_event(*choice)

    def _set_outcome(self, span: Span, info: OperationEndInfo, job: Optional[Job]) -> Optional[str]:
        """The span's status and ``error.type``; the error type, if the operation did not succeed."""
        error = info.error
        if info.cancelled and error is not None:
            failure = error_type(error)
            span.set_attribute("microdc.cancelled", True)
            span.set_status(trace.Status(trace.StatusCode.ERROR, "cancelled"))
        elif job is not None and job.status != "completed":
            failure = _job_failure(job)
            message = f"job {job.status}" if job.error is None else f"job failed: {job.error.message}"
            span.set_status(trace.Status(trace.StatusCode.ERROR, message))
        elif error is not None:
            failure = error_type(error)
            span.record_exception(error)
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        else:
            return None
        span.set_attribute("error.type", failure)
        return failure


@dataclass(frozen=True)
class _Usage:
    input_tokens: int
    output_tokens: int
    cost_usd: float


def _usage(jobs: Tuple[Job, ...]) -> Optional[_Usage]:
    """What the operation's jobs used together; ``None`` when none of them reported usage."""
    reported = [job.usage for job in jobs if job.usage is not None]
    if not reported:
        return None
    return _Usage(
        input_tokens=sum(usage.input_tokens for usage in reported),
        output_tokens=sum(usage.output_tokens for usage in reported),
        # Summed in whole picodollars, as a conversation's cost_usd is: exactly.
        cost_usd=to_usd(sum(to_picodollars(usage.cost_usd) for usage in reported)),
    )


def _job_failure(job: Job) -> str:
    """``error.type`` of a job that did not complete: its error code, or its status (``cancelled``)."""
    if job.status == "failed" and job.error is not None and job.error.code:
        return str(job.error.code)
    return str(job.status)
