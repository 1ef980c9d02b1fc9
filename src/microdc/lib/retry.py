"""Retries in tests: switch every SDK wait to virtual time.

The policy itself is ``microdc.RetryPolicy`` (``AsyncMicroDC(retry=RetryPolicy(...))``);
this module holds the test switch and the server-hint reader::

    from microdc.lib.retry import disable_retry_delays

    with disable_retry_delays():
        await client.jobs.retrieve("job_123")   # retries happen at once
"""

from __future__ import annotations

from .._retry import retry_after_seconds, disable_retry_delays

__all__ = ["disable_retry_delays", "retry_after_seconds"]
