"""One ``httpx.AsyncClient`` per event loop, closed on the loop that opened it.

A connection belongs to the event loop that opened it: it can be neither used nor
closed from another one, and a loop that has been closed cannot close it at all (the
socket is then dropped with a ``ResourceWarning``). So :class:`HttpClientPool` (what
a client and its ``copy()``/``with_options()`` copies share) keeps one
``httpx.AsyncClient`` per asyncio loop and closes each on its own loop:

* on ``close()`` from that loop (or, for a loop running in another thread, handed
  to that loop);
* when that loop shuts down (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio all
  call ``loop.shutdown_asyncgens()`` before closing the loop), through a
  :class:`LoopGuard`.

The table of loops is guarded by a lock, so event loops in several threads sharing
one client get one pool each, never two for the same loop, and never lose one that
is still open. The pool of the loop that used the client last is kept at hand: a
call on that loop takes no lock.

``close()`` from another loop, or after the first loop has ended, therefore finds
nothing left to close there and never raises. A pool given a caller's
``http_client`` never closes it and refuses (``RuntimeError``, before sending) to use
it from a loop other than the first.

:class:`LoopGuard` is also how a streamed response body that is dropped unclosed
gets closed (``_transport.py``, ``_aiohttp.py``): it is an async generator started
inside the loop, so when it is garbage-collected asyncio itself closes it on that
loop (its async-generator finalizer), and its ``finally`` runs the close. No
``__del__`` of the SDK's schedules anything.
"""

from __future__ import annotations

import sys
import threading
import contextlib
from typing import TYPE_CHECKING, Any, Dict, List, Callable, Optional, Awaitable, AsyncGenerator
from contextvars import ContextVar

import httpx

from ._exceptions import MicroDCError

if TYPE_CHECKING:
    import asyncio

__all__ = ["STREAMING", "HttpClientPool", "LoopGuard", "current_loop"]

STREAMING: ContextVar[bool] = ContextVar("microdc_streaming", default=False)
"""True while ``DefaultAsyncHttpxClient`` sends a request whose body the caller will
stream: the transport then guards that body (:class:`LoopGuard`) against being dropped
unclosed. Bodies read at once are closed by httpx and pay nothing for it."""


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


async def _run_at_close(duty: List[Callable[[], Awaitable[Any]]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if duty:
            await duty.pop()()


class LoopGuard:
    """Runs ``close`` on the running event loop when the loop shuts down or the guard is dropped.

    Make it inside the loop; call :meth:`release` once the thing is closed another
    way. Under no asyncio loop the guard does nothing.
    """

    __slots__ = ("_duty", "_generator")

    def __init__(self, close: Callable[[], Awaitable[Any]]) -> None:
        # The generator holds only the duty (not the guard), so dropping the guard's
        # holder frees it at once, without waiting for the cycle collector.
        self._duty = [close]
        self._generator: Optional[AsyncGenerator[None, None]] = None
        if current_loop() is not None:
            generator = self._generator = _run_at_close(self._duty)
            # Started here, inside the loop, so the loop registers it (for shutdown_asyncgens()
            # and for finalizing it when it is collected).
            with contextlib.suppress(StopIteration):
                generator.asend(None).send(None)

    def release(self) -> None:
        """Forget the duty: nothing runs at shutdown or when the guard is dropped."""
        self._duty.clear()
        generator, self._generator = self._generator, None
        if generator is not None:
            # With no duty left, finishing the generator awaits nothing; a finished
            # generator is never handed to its loop's finalizer (which would fail on a closed loop).
            with contextlib.suppress(StopIteration):
                generator.aclose().send(None)


class _LoopClient:
    """The ``httpx.AsyncClient`` of one loop, closed when the loop shuts down."""

    __slots__ = ("client", "guard", "loop")

    def __init__(self, client: httpx.AsyncClient, loop: Optional[asyncio.AbstractEventLoop], owned: bool) -> None:
        self.client: Optional[httpx.AsyncClient] = client
        self.loop = loop
        self.guard = LoopGuard(self._close_at_shutdown) if owned and loop is not None else None

    async def _close_at_shutdown(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()

    async def aclose(self) -> None:
        """Close the client on the running loop (its own)."""
        client, self.client = self.client, None
        self.abandon()
        if client is not None:
            await client.aclose()

    def abandon(self) -> None:
        """Forget a client whose loop can no longer run its close (closed by hand, without shutting down)."""
        self.client = None
        if self.guard is not None:
            self.guard.release()


class HttpClientPool:
    """The ``httpx.AsyncClient`` shared by a client and its copies, one per event loop."""

    __slots__ = ("_by_loop", "_current", "_factory", "_lock", "closed", "owned")

    def __init__(self, client: Optional[httpx.AsyncClient], factory: Callable[[], httpx.AsyncClient]) -> None:
        self.owned = client is None
        self._factory = factory
        # The client of the loop that used the pool last; a caller's client before its first use.
        self._current: Optional[_LoopClient] = None if client is None else _LoopClient(client, None, owned=False)
        # Every loop's client (owned pools), each closed when its loop shuts down.
        self._by_loop: Dict[Optional[asyncio.AbstractEventLoop], _LoopClient] = {}
        self._lock = threading.Lock()
        self.closed = False

    def get(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` to send with on the running event loop."""
        if self.closed:
            raise MicroDCError(
                "This client has been closed; create a new AsyncMicroDC (or use `async with AsyncMicroDC() as client:`)."
            )
        loop = current_loop()
        current = self._current
        if current is not None and current.loop is loop:
            client = current.client
            if client is not None:
                return client
        if not self.owned:
            return self._callers_client(loop)
        with self._lock:
            return self._client_for(loop)

    def _callers_client(self, loop: Optional[asyncio.AbstractEventLoop]) -> httpx.AsyncClient:
        with self._lock:
            current = self._current
            if current is not None and current.client is not None and current.loop in (None, loop):
                current.loop = loop  # a caller's client binds to the loop that uses it first
                return current.client
        raise RuntimeError(
            "This AsyncMicroDC was given an `http_client` that is bound to another event loop. "
            "Create the client (and its http_client) inside the event loop that uses it."
        )

    def _client_for(self, loop: Optional[asyncio.AbstractEventLoop]) -> httpx.AsyncClient:
        """The client of ``loop``: the one made for it before, or a fresh one (under the lock)."""
        entry = self._by_loop.get(loop)
        client = None if entry is None else entry.client
        if entry is None or client is None:
            self._prune()
            client = self._factory()
            entry = self._by_loop[loop] = _LoopClient(client, loop, owned=True)
        self._current = entry
        return client

    def _prune(self) -> None:
        """Drop the clients of loops that are closed (already closed at shutdown, or unreachable)."""
        for loop, entry in list(self._by_loop.items()):
            if entry.client is None:
                del self._by_loop[loop]
            elif loop is not None and loop.is_closed():
                entry.abandon()
                del self._by_loop[loop]

    @property
    def client(self) -> Optional[httpx.AsyncClient]:
        current = self._current
        return None if current is None else current.client

    async def aclose(self) -> None:
        """Close what this loop can close; clients of other loops close on their own loop."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            entries = list(self._by_loop.values()) if self.owned else []
            self._current, self._by_loop = None, {}
        loop = current_loop()
        for entry in entries:
            if entry.client is None:
                continue
            if entry.loop is loop:
                await entry.aclose()
            elif entry.loop is not None and entry.loop.is_closed():
                entry.abandon()
            elif entry.loop is not None and entry.loop.is_running():
                # Running in another thread: close it there.
                import asyncio

                asyncio.run_coroutine_threadsafe(entry.aclose(), entry.loop)
            # else: an open loop that is not running closes it when it shuts down.
