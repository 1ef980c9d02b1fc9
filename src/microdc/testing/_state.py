"""Everything the fake remembers: jobs, files, download tokens, the requests it saw,
and the ids it hands out — plus a way to wait until any of it changes.

Items are ordered by a sequence number taken when they are created, never by time,
so "newest first" lists stay stable when items are created between two pages.
"""

from __future__ import annotations

import random
import asyncio
import hashlib
from typing import Any, Set, Dict, List, Tuple, Optional
from dataclasses import field, dataclass
from urllib.parse import parse_qs

import anyio

from ._jobs import WallTime, JobRecord, OutputPlan
from ._clock import Clock, isoformat
from ._idempotency import IdempotencyStore

__all__ = ["FileRecord", "RecordedRequest", "Store"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class RecordedRequest:
    """One request the fake received (``fake.requests``).

    ``headers`` has lower-case names and ``authorization`` redacted; ``status`` is the
    answer's status, or None when the connection was dropped without one; ``fault``
    names the injected fault (``"error"``, ``"rate_limit"``, ``"reset"``,
    ``"lost_answer"``), if any; ``replayed`` is true when the answer was an
    idempotent replay.
    """

    method: str
    path: str
    query: str
    headers: Dict[str, str]
    body: bytes
    request_id: str
    status: Optional[int] = None
    fault: Optional[str] = None
    replayed: bool = False

    @property
    def params(self) -> Dict[str, List[str]]:
        """The query string, parsed: ``{"status": ["queued,running"], ...}``."""
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def idempotency_key(self) -> Optional[str]:
        return self.headers.get("idempotency-key")


@dataclass
class FileRecord:
    id: str
    seq: int
    filename: str
    content: bytes
    content_type: str
    purpose: str
    created: float
    token: str
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.content).hexdigest()

    def view(self, wall: WallTime) -> Dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "filename": self.filename,
            "bytes": len(self.content),
            "content_type": self.content_type,
            "purpose": self.purpose,
            "sha256": self.sha256,
            "created_at": wall(self.created),
            "token": self.token,
        }

    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class Changes:
    """Lets event streams sleep until something happens (a cancel, a clock jump)."""

    def __init__(self) -> None:
        self._waiters: Set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: Optional[float]) -> bool:
        """True when notified, False when ``timeout`` (real seconds) passed first."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            # anyio, not asyncio.wait_for: the latter can lose a cancellation before 3.12.
            with anyio.move_on_after(timeout):
                await waiter
                return True
            return False
        finally:
            self._waiters.discard(waiter)


class Store:
    """The fake's state. Not thread-safe: one event loop serves it."""

    def __init__(self, clock: Clock, seed: Optional[int]) -> None:
        self.clock = clock
        self.seed = seed
        self._rng = random.Random(seed)
        self._seq = 0
        self.jobs: Dict[str, JobRecord] = {}
        self.files: Dict[str, FileRecord] = {}
        self.file_ids_by_token: Dict[str, str] = {}
        self.download_tokens: Dict[str, Tuple[str, float]] = {}
        self.seq_of: Dict[str, int] = {}
        self.requests: List[RecordedRequest] = []
        self.idempotency = IdempotencyStore()
        self.changes = Changes()
        clock.add_listener(self.changes.notify)

    def now(self) -> float:
        return self.clock.now()

    def wall(self, t: float) -> str:
        return isoformat(self.clock.wall_time(t))

    def new_id(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._rng.choice(_ALPHABET) for _ in range(length))

    def next_seq(self, item_id: str) -> int:
        self._seq += 1
        self.seq_of[item_id] = self._seq
        return self._seq

    def add_job(self, params: Dict[str, Any], duration: float, *, invalid_output: bool = False) -> JobRecord:
        job_id = self.new_id("job_")
        documents = [self.files[self.file_ids_by_token[token]].text() for token in params.get("file_tokens", [])]
        job = JobRecord(
            id=job_id,
            seq=self.next_seq(job_id),
            params=params,
            created=self.now(),
            duration=duration,
            documents=documents,
            output=OutputPlan(seed=self.seed, invalid=invalid_output),
        )
        self.jobs[job_id] = job
        self.changes.notify()
        return job

    def add_file(self, *, filename: str, content: bytes, content_type: str, purpose: str) -> FileRecord:
        file_id = self.new_id("file_")
        record = FileRecord(
            id=file_id,
            seq=self.next_seq(file_id),
            filename=filename,
            content=content,
            content_type=content_type,
            purpose=purpose,
            created=self.now(),
            token=self.new_id("ftok_"),
        )
        self.files[file_id] = record
        self.file_ids_by_token[record.token] = file_id
        return record

    def delete_file(self, file_id: str) -> None:
        record = self.files.pop(file_id)
        self.file_ids_by_token.pop(record.token, None)
        for token, (owner, _) in list(self.download_tokens.items()):
            if owner == file_id:
                del self.download_tokens[token]

    def file_token_exists(self, token: str) -> bool:
        return token in self.file_ids_by_token
