"""Logging for the ``microdc`` logger, switched on by ``MICRODC_LOG=info|debug``.

Nothing secret is ever formatted into a record: headers pass through
:func:`redact_headers` and URLs through :func:`redact_url` first, which hide the
``Authorization`` header and download tokens.

Every record about a request carries its fields as ``extra`` (:func:`request_fields`):
``request_id``, ``method``, ``url`` (redacted), ``status_code``, ``attempt`` and
``elapsed_ms``, so a JSON formatter (python-json-logger, structlog's stdlib bridge)
emits them as fields of their own.
"""

from __future__ import annotations

import os
import re
import logging
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from ._constants import ENV_LOG

if TYPE_CHECKING:
    import httpx

__all__ = ["logger", "redact_headers", "redact_url", "request_fields", "setup_logging"]

logger = logging.getLogger("microdc")

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_TOKEN_IN_URL = re.compile(r"([?&](?:token|api_key)=)[^&#\s]*", re.IGNORECASE)
_configured = False


class RedactSecrets(logging.Filter):
    """Hides download tokens in other libraries' log records (httpx logs each URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def _redact_arg(arg: object) -> object:
    if isinstance(arg, (int, float)) or arg is None:
        return arg
    text = str(arg)
    redacted = redact_url(text)
    return arg if redacted == text else redacted


def setup_logging() -> None:
    """Attach a stderr handler to the ``microdc`` logger if ``MICRODC_LOG`` asks for one (once).

    Also filters the ``httpx`` logger, which an application may switch on, so that
    its request lines never show a download token.
    """
    global _configured
    if _configured:
        return
    _configured = True
    logging.getLogger("httpx").addFilter(RedactSecrets())
    level = os.environ.get(ENV_LOG, "").strip().lower()
    if level not in ("info", "debug"):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)


def redact_headers(headers: Mapping[str, str]) -> Dict[str, str]:
    """``headers`` with credentials replaced by ``<redacted>``."""
    return {
        name: "<redacted>" if name.lower() in _SECRET_HEADERS else redact_url(value) for name, value in headers.items()
    }


def redact_url(url: str) -> str:
    """``url`` with the values of ``token=`` and ``api_key=`` query parameters hidden."""
    return _TOKEN_IN_URL.sub(r"\1<redacted>", url)


def request_fields(
    request: httpx.Request, attempt: int, response: Optional[httpx.Response] = None, elapsed: Optional[float] = None
) -> Dict[str, Any]:
    """The ``extra`` fields of a record about one attempt: ``None`` for what is not known yet (no answer)."""
    return {
        "request_id": response.headers.get("x-request-id") if response is not None else None,
        "method": request.method,
        "url": redact_url(str(request.url)),
        "status_code": response.status_code if response is not None else None,
        "attempt": attempt,
        "elapsed_ms": None if elapsed is None else round(elapsed * 1000, 3),
    }
