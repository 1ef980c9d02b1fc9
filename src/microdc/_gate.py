"""The SDK's queue in front of a connection pool, bounded by ``timeout.pool``.

Both of the SDK's HTTP clients (``DefaultAsyncHttpxClient`` and the aiohttp adapter)
let at most ``limits.max_connections`` requests into their pool at once; the rest
wait here, in arrival order, where a deep queue costs no pool work per request.
A request waits at most its ``timeout.pool`` (the ``timeout`` extension of the
``httpx.Request``): past it, it raises ``httpx.PoolTimeout``, which the SDK turns
into ``APITimeoutError`` and retries as a timeout. A request that got in after
waiting goes on to the pool with what is left of its ``pool`` timeout, so the whole
wait for a connection stays within it.

The queue is an ``asyncio.Semaphore`` of the running loop (a client used from a
new loop gets a new one); outside asyncio there is no queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

import httpx

from ._loop_bound import current_loop

if TYPE_CHECKING:
    import asyncio

__all__ = ["InFlightGate"]


class InFlightGate:
    """At most ``limit`` requests in flight on the running loop; the wait for a place honours ``timeout.pool``.

    ::

        place = gate.place()
        if place is not None:
            await gate.enter(place, request)  # raises httpx.PoolTimeout past timeout.pool
        try:
            ...  # send
        finally:
            if place is not None:
                place.release()
    """

    __slots__ = ("_limit", "_loop", "_places")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._places: Optional[asyncio.Semaphore] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def place(self) -> Optional[asyncio.Semaphore]:
        """The places of the running asyncio loop (``None``: not under asyncio)."""
        loop = current_loop()
        if loop is None:
            return None
        if self._loop is not loop:
            import asyncio  # loaded already: a loop is running

            self._places, self._loop = asyncio.Semaphore(self._limit), loop
        return self._places

    async def enter(self, places: asyncio.Semaphore, request: httpx.Request) -> None:
        """Take a place for ``request``, waiting at most its ``timeout.pool``."""
        if not places.locked():
            await places.acquire()  # a free place: taken without suspending
            return
        timeout: Dict[str, Optional[float]] = request.extensions.get("timeout") or {}
        pool = timeout.get("pool")
        if pool is None:
            await places.acquire()
            return
        import asyncio

        loop = asyncio.get_running_loop()
        joined = loop.time()
        try:
            async with asyncio.timeout(pool):
                await places.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"No connection came free within timeout.pool ({pool:g} s): {self._limit} requests were in "
                "flight (limits.max_connections). Raise httpx.Timeout(pool=...), or the connection limit.",
                request=request,
            ) from None
        # The pool gets what is left of the wait (the extension dict may be shared: replace it).
        left = max(pool - (loop.time() - joined), 0.0)
        request.extensions["timeout"] = {**timeout, "pool": left}
