"""OpenTelemetry for the SDK (extra ``microdc[otel]``): ``Tracing`` (HTTP spans) and ``Telemetry`` (GenAI too).

::

    from microdc.lib.otel import Telemetry

    client = AsyncMicroDC(hooks=Telemetry())  # the global providers, or tracer_provider=/meter_provider=

* :class:`Tracing`: one ``CLIENT`` span per HTTP call (all its retries), attempts as
  events, ``traceparent`` sent (``_tracing.py``);
* :class:`Telemetry`: the same spans, plus a GenAI span per model call (``ask``,
  ``conversation.send``/``stream``, ``create_and_wait``, ``jobs.wait`` of a model job)
  and the metrics ``http.client.request.duration``, ``gen_ai.client.operation.duration``,
  ``gen_ai.client.token.usage`` and ``microdc.job.cost`` (``_telemetry.py``).

Names, units and histogram buckets follow the OpenTelemetry semantic conventions
:data:`SEMCONV_VERSION`; where the GenAI ones are still "development", the opt-in they
name, ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``, selects their
latest form (``_semconv.py``). Without OpenTelemetry installed this package still
imports; ``Tracing()`` and ``Telemetry()`` raise ``ImportError`` naming the extra.
"""

from __future__ import annotations

from ._semconv import SCHEMA_URL, SEMCONV_VERSION
from ._tracing import Tracing
from ._telemetry import Telemetry

__all__ = ["SCHEMA_URL", "SEMCONV_VERSION", "Telemetry", "Tracing"]

# Reprs and tracebacks say `microdc.lib.otel.Tracing`, not the private module.
for _value in (Telemetry, Tracing):
    _value.__module__ = __name__
del _value
