"""``FakeMicroDC``: the whole MicroDC API in memory, for tests and demos."""

from __future__ import annotations

import copy
import contextlib
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Generator, AsyncContextManager

import httpx

from ._app import FakeApp
from ._clock import Clock, ManualClock, MonotonicClock
from ._state import Store, RecordedRequest
from .._clock import use_clock
from ._faults import Faults, FaultInjector
from ._server import serve as _serve
from ._context import Context, JobDuration
from ._transport import InProcessTransport

if TYPE_CHECKING:
    from microdc import AsyncMicroDC

__all__ = ["FakeMicroDC"]

IN_PROCESS_BASE_URL = "http://microdc.test"
"""The base URL of ``fake.client()`` and ``fake.http_client()``: requests to it never leave the process."""
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024


class FakeMicroDC:
    """An in-memory MicroDC: every endpoint, with the real status codes and errors.

    ::

        fake = FakeMicroDC(job_duration=0.2)
        async with fake.client() as client:  # in-process, no socket
            job = await client.jobs.create(type="llm_complete", model="echo-1", prompt="hi")

        async with fake.serve(port=0) as base_url:  # a real loopback server
            ...

    Args:
      api_key: the key requests must send as ``Authorization: Bearer <api_key>``.
      job_duration: seconds from submission to a job's end (queued for the first
        fifth, then running): a number, ``{model_id: seconds}`` (``"*"`` for the
        others), or a function of the submission body. 0 finishes jobs at once.
      seed: makes ids and faults repeatable.
      faults: a :class:`Faults` to inject (also settable later: ``fake.faults = ...``).
      clock: where time comes from; a :class:`ManualClock` lets a test step through
        lifecycles with :meth:`advance`. Default: real monotonic time.
      keepalive_interval: real seconds between ``: keep-alive`` comments on idle
        event streams.
      max_upload_bytes: the upload limit (413 past it); 100 MiB like the service.

    A job whose input text contains ``[fail]`` fails with code ``model_error``; one
    whose ``timeout_seconds`` is shorter than its duration fails with ``timeout``.
    """

    def __init__(
        self,
        api_key: str = "test",
        *,
        job_duration: JobDuration = 1.0,
        seed: Optional[int] = None,
        faults: Optional[Faults] = None,
        clock: Optional[Clock] = None,
        keepalive_interval: float = 15.0,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        self.api_key = api_key
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._seed = seed
        self._store = Store(self.clock, seed)
        self._ctx = Context(
            store=self._store,
            api_key=api_key,
            job_duration=job_duration,
            max_upload_bytes=max_upload_bytes,
            keepalive_interval=keepalive_interval,
        )
        self.faults = faults
        self.app = FakeApp(self._ctx)
        """The ASGI app: mount it in any ASGI server."""

    # --- settings that tests change on the fly -----------------------------------------

    @property
    def faults(self) -> Optional[Faults]:
        injector = self._ctx.injector
        return injector.faults if injector is not None else None

    @faults.setter
    def faults(self, faults: Optional[Faults]) -> None:
        """Replace the faults (their random draws start over); None turns them off."""
        self._ctx.injector = FaultInjector(faults, self._seed) if faults is not None else None

    @property
    def job_duration(self) -> JobDuration:
        return self._ctx.job_duration

    @job_duration.setter
    def job_duration(self, value: JobDuration) -> None:
        """Applies to jobs submitted from now on."""
        self._ctx.job_duration = value

    def advance(self, seconds: float) -> None:
        """Move a :class:`ManualClock` forward (jobs progress, tokens expire)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs a manual clock: FakeMicroDC(clock=ManualClock())")
        self.clock.advance(seconds)

    @contextlib.contextmanager
    def virtual_time(self) -> Generator[ManualClock, None, None]:
        """Make this fake's :class:`ManualClock` the SDK's clock while the block runs.

        Every wait the SDK makes (retries, stream reconnects, ``jobs.wait`` polling,
        ``as_completed``, batches) then moves the fake's time forward instead of
        passing in real time, and so do the fake's own waits (injected latency,
        event streams waiting for their next event): jobs progress exactly as the
        SDK sleeps, and ``timeout=`` values are measured on the same clock::

            fake = FakeMicroDC(clock=ManualClock(), job_duration=3600)
            with fake.virtual_time():
                job = await client.jobs.create_and_wait(..., wait_timeout=7200)  # no real hour

        The SDK's previous clock comes back when the block ends.
        """
        if not isinstance(self.clock, ManualClock):
            raise TypeError("virtual_time() needs a manual clock: FakeMicroDC(clock=ManualClock())")
        with use_clock(self.clock):
            yield self.clock

    # --- ways to reach it --------------------------------------------------------------

    def transport(self) -> InProcessTransport:
        """An httpx transport that serves requests in-process (no socket)."""
        return InProcessTransport(self.app)

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` wired in-process, with the API key set."""
        kwargs.setdefault("base_url", IN_PROCESS_BASE_URL)
        headers = {"Authorization": f"Bearer {self.api_key}", **dict(kwargs.pop("headers", None) or {})}
        return httpx.AsyncClient(transport=self.transport(), headers=headers, **kwargs)

    def client(self, **kwargs: Any) -> AsyncMicroDC:
        """An ``AsyncMicroDC`` wired in-process; ``kwargs`` go to its constructor."""
        from microdc import AsyncMicroDC

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("base_url", IN_PROCESS_BASE_URL)
        if kwargs.get("http_client") is None:
            kwargs["http_client"] = httpx.AsyncClient(transport=self.transport())
        return AsyncMicroDC(**kwargs)

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncContextManager[str]:
        """``async with fake.serve() as base_url:`` — a real HTTP server on loopback,
        in this event loop, stopped when the block ends. ``port=0`` picks a free port."""
        return _serve(self.app, self._store, host=host, port=port)

    # --- inspection --------------------------------------------------------------------

    @property
    def jobs(self) -> Dict[str, Dict[str, Any]]:
        """Every job, oldest first, as the API shows it now (copies)."""
        store = self._store
        now = store.now()
        return {job_id: copy.deepcopy(job.view(now, store.wall)) for job_id, job in store.jobs.items()}

    @property
    def files(self) -> Dict[str, Dict[str, Any]]:
        """Every file not deleted, oldest first, as the API shows it."""
        store = self._store
        return {file_id: record.view(store.wall) for file_id, record in store.files.items()}

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file (``KeyError`` if there is none)."""
        return self._store.files[file_id].content

    @property
    def requests(self) -> List[RecordedRequest]:
        """Every request received, in arrival order (the live list)."""
        return self._store.requests

    def reset_requests(self) -> None:
        """Forget the requests seen so far."""
        self._store.requests.clear()
