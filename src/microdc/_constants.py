"""Defaults shared by the client and its helpers."""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 3
# Chosen by measurement (see the README's Performance section): httpcore scans its
# pool on every request, so a pool larger than the concurrency costs CPU per call.
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server-provided delay above this is ignored in favour of our own backoff.
MAX_RETRY_AFTER = 60.0

ENV_API_KEY = "MICRODC_API_KEY"
ENV_BASE_URL = "MICRODC_BASE_URL"
ENV_LOG = "MICRODC_LOG"
