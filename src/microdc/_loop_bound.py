"""One ``httpx.AsyncClient`` per event loop, closed on the loop that opened it.

A connection belongs to the event loop that opened it: it can be neither used nor
closed from another one, and a loop that has been closed cannot close it at all (the
socket is then dropped with a ``ResourceWarning``). So :class:`HttpClientPool` (what
a client and its ``copy()``/``with_options()`` copies share) keeps one
``httpx.AsyncClient`` per asyncio loop and closes each on its own loop:

* on ``close()`` from that loop;
* when that loop shuts down (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio all
  call ``loop.shutdown_asyncgens()`` before closing the loop): each client is held
  by an async generator registered with its loop, and the loop closes that generator,
  whose ``finally`` closes the client, while the loop still runs.

``close()`` from another loop, or after the first loop has ended, therefore finds
nothing left to close there and never raises. A pool given a caller's
``http_client`` never closes it and refuses (``RuntimeError``, before sending) to use
it from a loop other than the first.
"""

from __future__ import annotations

import sys
import contextlib
from typing import TYPE_CHECKING, List, Callable, Optional, AsyncGenerator

import httpx

from ._exceptions import MicroDCError

if TYPE_CHECKING:
    import asyncio

__all__ = ["HttpClientPool", "current_loop"]


def current_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The running asyncio loop; None when not under asyncio (e.g. trio)."""
    # Not imported here: `import microdc` does not load asyncio, and no asyncio loop can
    # be running before something else has.
    module = sys.modules.get("asyncio")
    if module is None:
        return None
    try:
        loop: asyncio.AbstractEventLoop = module.get_running_loop()
    except RuntimeError:
        return None
    return loop


class _LoopClient:
    """The ``httpx.AsyncClient`` of one loop, closed when the loop shuts down."""

    __slots__ = ("client", "guard", "loop")

    def __init__(self, client: httpx.AsyncClient, loop: Optional[asyncio.AbstractEventLoop], owned: bool) -> None:
        self.client: Optional[httpx.AsyncClient] = client
        self.loop = loop
        self.guard: Optional[AsyncGenerator[None, None]] = None
        if owned and loop is not None:
            # Started here, inside the loop, so the loop registers it for shutdown_asyncgens().
            guard = self.guard = self._close_at_shutdown()
            with contextlib.suppress(StopIteration):
                guard.asend(None).send(None)

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            client, self.client = self.client, None
            if client is not None:
                await client.aclose()

    async def aclose(self) -> None:
        """Close the client on the running loop (its own)."""
        client, self.client = self.client, None
        self._release_guard()
        if client is not None:
            await client.aclose()

    def abandon(self) -> None:
        """Forget a client whose loop can no longer run its close (closed by hand, without shutting down)."""
        self.client = None
        self._release_guard()

    def _release_guard(self) -> None:
        # With no client left, finishing the generator awaits nothing; a finished generator
        # is never handed to its loop's finalizer (which would fail on a closed loop).
        guard, self.guard = self.guard, None
        if guard is not None:
            with contextlib.suppress(StopIteration):
                guard.aclose().send(None)


class HttpClientPool:
    """The ``httpx.AsyncClient`` shared by a client and its copies, one per event loop."""

    __slots__ = ("_current", "_factory", "_others", "closed", "owned")

    def __init__(self, client: Optional[httpx.AsyncClient], factory: Callable[[], httpx.AsyncClient]) -> None:
        self.owned = client is None
        self._factory = factory
        # The client of the loop that used the pool last; a caller's client before its first use.
        self._current: Optional[_LoopClient] = None if client is None else _LoopClient(client, None, owned=False)
        # Clients of loops the pool moved away from, each closed when its loop shuts down.
        self._others: List[_LoopClient] = []
        self.closed = False

    def get(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` to send with on the running event loop."""
        if self.closed:
            raise MicroDCError(
                "This client has been closed; create a new AsyncMicroDC (or use `async with AsyncMicroDC() as client:`)."
            )
        loop = current_loop()
        current = self._current
        if current is not None and current.client is not None:
            if current.loop is loop:
                return current.client
            if current.loop is None and not self.owned:
                current.loop = loop  # a caller's client binds to the loop that uses it first
                return current.client
        if not self.owned:
            raise RuntimeError(
                "This AsyncMicroDC was given an `http_client` that is bound to another event loop. "
                "Create the client (and its http_client) inside the event loop that uses it."
            )
        return self._switch_to(loop)

    def _switch_to(self, loop: Optional[asyncio.AbstractEventLoop]) -> httpx.AsyncClient:
        """A client for ``loop``: the one made for it before, or a fresh one."""
        self._prune()
        if self._current is not None and self._current.client is not None:
            self._others.append(self._current)
        for index, other in enumerate(self._others):
            if other.loop is loop and other.client is not None:
                self._current = self._others.pop(index)
                return other.client
        client = self._factory()
        self._current = _LoopClient(client, loop, owned=True)
        return client

    def _prune(self) -> None:
        """Drop the clients of loops that are closed (already closed at shutdown, or unreachable)."""
        kept: List[_LoopClient] = []
        for other in self._others:
            if other.client is None:
                continue
            if other.loop is not None and other.loop.is_closed():
                other.abandon()
                continue
            kept.append(other)
        self._others = kept

    @property
    def client(self) -> Optional[httpx.AsyncClient]:
        return None if self._current is None else self._current.client

    async def aclose(self) -> None:
        """Close what this loop can close; clients of other loops close when their loop shuts down."""
        if self.closed:
            return
        self.closed = True
        if not self.owned:
            self._current = None
            return
        loop = current_loop()
        clients = [c for c in (self._current, *self._others) if c is not None and c.client is not None]
        self._current, self._others = None, []
        for loop_client in clients:
            if loop_client.loop is loop:
                await loop_client.aclose()
            elif loop_client.loop is not None and loop_client.loop.is_closed():
                loop_client.abandon()
            elif loop_client.loop is not None and loop_client.loop.is_running():
                # Running in another thread: close it there.
                import asyncio

                asyncio.run_coroutine_threadsafe(loop_client.aclose(), loop_client.loop)
            # else: an open loop that is not running closes it when it shuts down.
