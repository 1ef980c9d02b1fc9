"""Client-side rate limiting: ``AsyncMicroDC(rate_limit=RateLimit(...))``.

:class:`RateLimit` lives in the runtime (``microdc._rate_limit``, on the SDK's clock)
and is public as ``microdc.RateLimit``; this module keeps it at
``microdc.lib.rate_limit`` as well.
"""

from __future__ import annotations

from .._rate_limit import RateLimit

__all__ = ["RateLimit"]
