"""Fixtures for the reliability tests: the fake on a loopback port, and ways to count
what a run leaves behind (sockets, pooled connections, tasks).

Sockets are counted from ``/proc/self/net/tcp{,6}``, keeping only the rows whose
inode is one of this process's open file descriptors: a socket the SDK closed is
gone from there (a ``TIME_WAIT`` row has no descriptor), one it leaked is not.
"""

from __future__ import annotations

import os
import asyncio
import contextlib
from typing import Any, Set, List, AsyncIterator
from pathlib import Path
from dataclasses import dataclass

import httpx
import pytest

from microdc import AsyncMicroDC
from microdc.testing import FakeMicroDC

API_KEY = "sk-reliability-7f3e9c1d5b2a4e6f8a0b"

_TCP_TABLES = (Path("/proc/self/net/tcp"), Path("/proc/self/net/tcp6"))
SETTLE_SECONDS = 5.0
"""How long a test waits for closing connections and finishing tasks to settle."""


@dataclass
class Served:
    """A fake MicroDC listening on 127.0.0.1."""

    fake: FakeMicroDC
    base_url: str

    @property
    def port(self) -> int:
        port = httpx.URL(self.base_url).port
        assert port is not None
        return port

    def client(self, **kwargs: Any) -> AsyncMicroDC:
        """A client with its own default connection pool, talking to the fake over the socket."""
        kwargs.setdefault("api_key", self.fake.api_key)
        return AsyncMicroDC(base_url=self.base_url, **kwargs)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """A fake (jobs take 60 s, so they stay cancellable) served on a free loopback port."""
    fake = FakeMicroDC(api_key=API_KEY, job_duration=60.0, seed=7, keepalive_interval=0.05)
    async with fake.serve(port=0) as base_url:
        yield Served(fake, base_url)


def proc_net_available() -> bool:
    return _TCP_TABLES[0].exists()


needs_proc_net = pytest.mark.skipif(not proc_net_available(), reason="counts sockets through /proc/self/net/tcp")


def _socket_inodes() -> Set[str]:
    inodes: Set[str] = set()
    fd_dir = Path("/proc/self/fd")
    for name in os.listdir(fd_dir):
        with contextlib.suppress(OSError):  # closed while we looked
            target = os.readlink(fd_dir / name)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def open_connections(port: int) -> int:
    """TCP sockets this process holds open to ``port`` (the client side of each connection)."""
    inodes = _socket_inodes()
    count = 0
    for table in _TCP_TABLES:
        with contextlib.suppress(FileNotFoundError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[9] in inodes:
                    count += 1
    return count


def pool_connections(http_client: httpx.AsyncClient) -> List[Any]:
    """The httpcore connections in ``http_client``'s pool (default transport only)."""
    transport: Any = http_client._transport
    connections: List[Any] = list(transport._pool.connections)
    return connections


def http_client_of(client: AsyncMicroDC) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` a client sends through."""
    return client._client


def other_tasks() -> Set[asyncio.Task[Any]]:
    """Every unfinished task of the running loop except the caller's."""
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current and not task.done()}


async def settle(condition: Any, *, seconds: float = SETTLE_SECONDS) -> bool:
    """Wait (a bounded number of short steps) until ``condition()`` holds; return whether it did."""
    steps = int(seconds / 0.01)
    for _ in range(steps):
        if condition():
            return True
        await asyncio.sleep(0.01)
    result: bool = condition()
    return result
