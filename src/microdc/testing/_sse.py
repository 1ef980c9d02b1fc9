"""``GET /api/v1/jobs/{job_id}/events``: a job's server-sent events.

Event ``n`` (``id: n``) is the n-th entry of the job's deterministic event sequence
(see ``_jobs.py``), so a reader that reconnects with ``Last-Event-ID: n`` gets event
``n + 1`` next: nothing lost, nothing repeated. While no event is due the stream
sends ``: keep-alive`` comments every ``keepalive_interval`` real seconds, and it
waits for the next event on the fake's clock (a :class:`ManualClock` wakes it on
``advance``; inside ``FakeMicroDC.virtual_time()`` the wait itself moves the clock to
the next event). After the terminal event the stream ends.
"""

from __future__ import annotations

import json
import asyncio
from typing import Any, Dict, Callable, Optional, AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ._jobs import JobRecord
from ._clock import is_sdk_clock
from ._errors import bad_query
from ._context import Context
from ._transport import DROP_EXTENSION, STOPPING_EXTENSION
from ._job_routes import JobRoutes

__all__ = ["EventRoutes", "format_event"]

KEEPALIVE = b": keep-alive\n\n"
# A timer may fire a hair before the moment it was set for; waking a little late
# avoids a busy loop of zero-second waits.
_WAKE_SLACK = 0.001


def _never() -> bool:
    return False


def format_event(event_id: int, name: str, data: object) -> bytes:
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()


class EventRoutes:
    def __init__(self, ctx: Context, jobs: JobRoutes) -> None:
        self.ctx = ctx
        self.jobs = jobs

    async def events(self, request: Request) -> Response:
        job = self.jobs.job(request)
        raw = request.headers.get("last-event-id")
        last = 0
        if raw is not None and raw.strip():
            try:
                last = int(raw)
            except ValueError:
                last = -1
            if last < 0:
                raise bad_query("Last-Event-ID", f"Last-Event-ID must be an event id from this stream; got {raw!r}.")
        injector = self.ctx.injector
        cut = injector.stream_cut(request.method, request.url.path) if injector is not None else None
        end = injector.stream_end(request.method, request.url.path) if injector is not None else None
        extensions: Dict[str, Any] = request.scope.get("extensions") or {}
        dropper: Optional[Callable[[str], None]] = extensions.get(DROP_EXTENSION)
        stopping: Callable[[], bool] = extensions.get(STOPPING_EXTENSION) or _never
        return StreamingResponse(
            self._stream(job, last, cut, end, dropper, stopping),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def _stream(
        self,
        job: JobRecord,
        sent: int,
        cut: Optional[int],
        end: Optional[int],
        dropper: Optional[Callable[[str], None]],
        stopping: Callable[[], bool],
    ) -> AsyncIterator[bytes]:
        store = self.ctx.store
        budget = cut
        loop = asyncio.get_running_loop()
        last_write = loop.time()
        while True:
            now = store.now()
            events = job.events_until(now, store.wall)
            for index in range(sent, len(events)):
                name, data = events[index]
                if budget is not None and dropper is not None:
                    if budget == 0:
                        dropper("reset")  # Faults(stream_drop_after=...): cut mid-stream
                        return
                    budget -= 1
                if end is not None:
                    if end == 0:
                        return  # Faults(stream_end_after=...): a clean end before the last event
                    end -= 1
                yield format_event(index + 1, name, data)
                sent = index + 1
                last_write = loop.time()
            if job.is_terminal(now) or stopping():
                return
            until_keepalive = max(0.0, last_write + self.ctx.keepalive_interval - loop.time())
            until_event = store.clock.real_seconds_until(job.next_event_at(now))
            if until_event is None and is_sdk_clock(store.clock):
                # Virtual time (FakeMicroDC.virtual_time): the stream's wait moves the clock
                # to its next event, as the SDK's own waits do.
                await store.clock.sleep(job.next_event_at(now) - now)
                continue
            timeout = until_keepalive if until_event is None else min(until_keepalive, until_event + _WAKE_SLACK)
            await store.changes.wait(timeout)
            if loop.time() - last_write >= self.ctx.keepalive_interval:
                yield KEEPALIVE
                last_write = loop.time()
