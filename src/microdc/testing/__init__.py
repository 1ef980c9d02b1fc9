"""``microdc.testing``: a faithful in-memory MicroDC server for tests and demos.

It needs the ``testing`` extra (``pip install 'microdc[testing]'``): Starlette routes
the requests, uvicorn serves them on a socket when asked, python-multipart reads
uploads. Importing ``microdc`` never imports this package.

::

    from microdc.testing import FakeMicroDC, Faults, ManualClock

    fake = FakeMicroDC(job_duration=0.1)
    client = fake.client()                                  # in-process
    async with fake.serve(port=0) as base_url: ...          # real loopback server
    # shell: python -m microdc.testing --port 8000

What it does is described on :class:`FakeMicroDC`, :class:`Faults` and
:class:`ManualClock`; the error answers follow the rule in ``_errors.py`` (400: the
request cannot be read; 422: a field is wrong, ``param`` says which).
"""

from __future__ import annotations

from . import _requirements  # noqa: F401  # pyright: ignore[reportUnusedImport]  (fails early without the extra)
from ._fake import IN_PROCESS_BASE_URL, FakeMicroDC
from ._clock import Clock, ManualClock, MonotonicClock
from ._state import RecordedRequest
from ._faults import Faults
from ._context import JobDuration
from ._transport import InProcessTransport

__all__ = [
    "IN_PROCESS_BASE_URL",
    "Clock",
    "FakeMicroDC",
    "Faults",
    "InProcessTransport",
    "JobDuration",
    "ManualClock",
    "MonotonicClock",
    "RecordedRequest",
]

for _exported in (FakeMicroDC, Faults, Clock, ManualClock, MonotonicClock, RecordedRequest, InProcessTransport):
    _exported.__module__ = __name__
del _exported
