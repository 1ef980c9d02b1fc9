"""A client moved between event loops and closed from any of them, over real loopback sockets.

``filterwarnings = error`` turns a ``ResourceWarning`` (an unclosed socket or transport,
reported when it is collected) into a failure; each test collects garbage before it ends.
"""

from __future__ import annotations

import gc
import asyncio
import threading
from typing import Any, Set, Dict, List, Optional

import httpx
import pytest

from microdc import AsyncMicroDC
from microdc._loop_bound import LoopGuard

from ._loopback import OpenConnections, serve_in_thread


def _client(origin: str) -> AsyncMicroDC:
    return AsyncMicroDC(api_key="k", base_url=origin, max_retries=0)


async def _call(client: AsyncMicroDC, path: str = "/x") -> Dict[str, Any]:
    return await client.get(path, cast_to=Dict[str, Any])


def test_close_on_a_new_loop_after_the_first_loop_ended() -> None:
    with serve_in_thread() as origin:
        client = _client(origin)
        assert asyncio.run(_call(client)) == {"path": "/x"}
        asyncio.run(client.close())  # the first loop is closed by now
        gc.collect()
    assert client.is_closed()


def test_each_loop_gets_a_fresh_pool_and_the_old_one_is_closed() -> None:
    seen: List[httpx.AsyncClient] = []

    async def call_and_keep(client: AsyncMicroDC) -> Dict[str, Any]:
        answer = await _call(client)
        http = client._pool.client
        assert http is not None
        seen.append(http)
        return answer

    with serve_in_thread() as origin:
        client = _client(origin)
        for _ in range(3):
            assert asyncio.run(call_and_keep(client)) == {"path": "/x"}
        asyncio.run(client.close())
        gc.collect()
    assert len({id(http) for http in seen}) == 3
    assert all(http.is_closed for http in seen)


def test_close_inside_the_loop_that_used_it() -> None:
    async def main(origin: str) -> None:
        client = _client(origin)
        await _call(client)
        http = client._pool.client
        await client.close()
        await client.close()  # twice is fine
        assert http is not None
        assert http.is_closed

    with serve_in_thread() as origin:
        asyncio.run(main(origin))
        gc.collect()


def test_copies_share_the_pool_across_loops() -> None:
    with serve_in_thread() as origin:
        client = _client(origin)
        copy = client.with_options(timeout=5.0)
        asyncio.run(_call(client))
        asyncio.run(_call(copy))
        asyncio.run(copy.close())
        gc.collect()
    assert client.is_closed()


def test_close_while_another_thread_runs_the_loop_that_used_it() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        with serve_in_thread() as origin:
            client = _client(origin)
            assert asyncio.run_coroutine_threadsafe(_call(client), loop).result(timeout=30) == {"path": "/x"}
            http: Optional[httpx.AsyncClient] = client._pool.client
            asyncio.run(client.close())  # from this thread's own loop: closed over there
            assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(timeout=30) is None
            assert http is not None
            assert http.is_closed
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        gc.collect()


def test_callers_http_client_on_another_loop_raises_before_sending() -> None:
    sent: List[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    with serve_in_thread() as origin:

        async def first() -> httpx.AsyncClient:
            http = httpx.AsyncClient(event_hooks={"request": [record]})
            client = AsyncMicroDC(api_key="k", base_url=origin, http_client=http, max_retries=0)
            await _call(client)
            with pytest.raises(RuntimeError, match="event loop"):
                await asyncio.to_thread(asyncio.run, _call(client))
            await http.aclose()
            return http

        http = asyncio.run(first())
        gc.collect()
    assert http.is_closed
    assert len(sent) == 1


def test_threads_with_their_own_loops_share_a_client_with_one_pool_per_loop() -> None:
    # Each thread runs its own loop and 50 concurrent calls, at the same time as the other.
    counter = OpenConnections()
    seen: Dict[str, Set[int]] = {}
    start = threading.Barrier(2, timeout=30)

    async def calls(client: AsyncMicroDC, name: str) -> None:
        start.wait()  # both loops make their first call together

        async def one() -> None:
            assert await _call(client) == {"path": "/x"}
            seen[name].add(id(client._pool.get()))

        seen[name] = set()
        await asyncio.gather(*(one() for _ in range(50)))

    with serve_in_thread(counter) as origin:
        client = _client(origin)
        threads = [threading.Thread(target=asyncio.run, args=(calls(client, name),)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        # Each loop closed its pool when it ended: the server sees every connection closed.
        assert counter.wait_until_none_open(timeout=30), f"{counter.open} connections still open"
        asyncio.run(client.close())
        gc.collect()
    assert counter.total > 0
    assert [len(ids) for ids in seen.values()] == [1, 1]  # one pool per loop, the same for all 50 calls
    assert seen["a"] != seen["b"]


# ---------------------------------------------------------------- LoopGuard


def _guarded(ran: List[str]) -> LoopGuard:
    async def duty() -> None:
        ran.append("closed")

    return LoopGuard(duty)


def test_loop_guard_runs_its_duty_on_its_loop_when_dropped() -> None:
    ran: List[str] = []

    async def main() -> None:
        guard = _guarded(ran)
        del guard  # asyncio finalizes the guard's generator on this loop
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0)

    asyncio.run(main())
    assert ran == ["closed"]


def test_loop_guard_runs_its_duty_when_its_loop_shuts_down() -> None:
    ran: List[str] = []
    kept: List[LoopGuard] = []

    async def main() -> None:
        kept.append(_guarded(ran))

    asyncio.run(main())
    assert ran == ["closed"]
    gc.collect()
    assert ran == ["closed"]  # once only


def test_released_loop_guard_never_runs_its_duty() -> None:
    ran: List[str] = []

    async def main() -> None:
        kept = _guarded(ran)
        kept.release()
        dropped = _guarded(ran)
        dropped.release()
        del dropped
        await asyncio.sleep(0)

    asyncio.run(main())
    gc.collect()
    assert ran == []
