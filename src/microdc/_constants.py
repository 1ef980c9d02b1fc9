"""Defaults shared by the client and its helpers."""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
"""The request timeout when none is given: 60 s for each read, write and pool wait, 5 s to connect."""
DEFAULT_MAX_RETRIES = 3
"""Attempts after the first when neither the client nor the call says (``RetryPolicy().max_retries``)."""
# Chosen by measurement (see docs/performance.md): httpcore scans its
# pool on every request, so a pool larger than the concurrency costs CPU per call.
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
"""The default client's connection pool: 100 connections, 20 kept alive for up to 30 s (httpx's defaults)."""

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server-provided delay above this is ignored in favour of our own backoff.
MAX_RETRY_AFTER = 60.0

ENV_API_KEY = "MICRODC_API_KEY"
ENV_BASE_URL = "MICRODC_BASE_URL"
ENV_LOG = "MICRODC_LOG"
