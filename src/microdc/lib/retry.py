"""The retry policy, public: inspect a client's (``client.retry_policy``) or switch delays off in tests.

::

    from microdc.lib.retry import disable_retry_delays

    with disable_retry_delays():
        await client.jobs.retrieve("job_123")   # retries happen at once
"""

from __future__ import annotations

from .._retry import RetryPolicy, retry_after_seconds, disable_retry_delays

__all__ = ["RetryPolicy", "disable_retry_delays", "retry_after_seconds"]
