"""The OpenTelemetry semantic conventions ``Tracing`` and ``Telemetry`` follow: version, names, buckets.

Pinned to :data:`SEMCONV_VERSION`. The HTTP conventions used here are stable. The
GenAI ones (spans, metrics, content) are still "development"; for those the
conventions name an opt-in, ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``,
which :func:`genai_latest_experimental` reads:

* with it, only the latest form is emitted: the prompt and reply (with
  ``capture_content=True``) as one ``gen_ai.client.inference.operation.details`` event
  holding ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON, in the
  conventions' message schema), and no ``gen_ai.system``;
* without it, the form instrumentations emitted up to v1.36 is kept beside the
  attributes every version has: ``gen_ai.system`` (the older name of
  ``gen_ai.provider.name``) and one event per message (``gen_ai.system.message``,
  ``gen_ai.user.message``, ``gen_ai.assistant.message``, ``gen_ai.choice``).
"""

from __future__ import annotations

import os
from typing import Tuple

__all__ = [
    "GENAI_DURATION_BUCKETS",
    "HTTP_DURATION_BUCKETS",
    "PROVIDER_NAME",
    "SCHEMA_URL",
    "SEMCONV_VERSION",
    "TOKEN_BUCKETS",
    "error_type",
    "genai_latest_experimental",
]

SEMCONV_VERSION = "1.37.0"
"""The version of the OpenTelemetry semantic conventions followed (the first with ``gen_ai.provider.name``)."""
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
"""Set on the tracer and meter, so a backend knows which version the names come from."""

PROVIDER_NAME = "microdc"
"""``gen_ai.provider.name`` (and, before the opt-in, ``gen_ai.system``)."""

OPT_IN_VARIABLE = "OTEL_SEMCONV_STABILITY_OPT_IN"
LATEST_GENAI = "gen_ai_latest_experimental"

HTTP_DURATION_BUCKETS: Tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
"""Seconds: the advisory boundaries of ``http.client.request.duration``."""
GENAI_DURATION_BUCKETS: Tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
"""Seconds: the advisory boundaries of ``gen_ai.client.operation.duration``."""
TOKEN_BUCKETS: Tuple[int, ...] = tuple(4**power for power in range(14))
"""Tokens: the advisory boundaries of ``gen_ai.client.token.usage`` (1, 4, 16, ... 67,108,864)."""


def genai_latest_experimental() -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` (comma-separated) asks for the latest GenAI conventions."""
    values = os.environ.get(OPT_IN_VARIABLE, "")
    return LATEST_GENAI in (value.strip() for value in values.split(","))


def error_type(error: BaseException) -> str:
    """The exception's qualified class name (``microdc.APITimeoutError``), as ``error.type`` wants."""
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"
