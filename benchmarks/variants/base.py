"""What every client variant implements, and a minimal SSE line parser for the raw ones."""

from __future__ import annotations

import abc
from typing import List, Tuple, Optional

from ..models import Job, JobOutputDelta

API_KEY = "bench-key"
JOB_ID = "job_01JD7Q3M8ZK4X2N6V9B5T1R0AC"


class Unavailable(Exception):
    """The variant cannot run here (a package missing, an SDK feature not written yet)."""


class Variant(abc.ABC):
    """One client, opened once per worker process and reused for every call."""

    @abc.abstractmethod
    async def open(self, base_url: str) -> None:
        """Create the client; raise :class:`Unavailable` when it cannot be made."""

    @abc.abstractmethod
    async def get(self, job_id: str) -> object:
        """``GET /api/v1/jobs/{id}``, parsed into a Job."""

    @abc.abstractmethod
    async def create(self) -> object:
        """``POST /api/v1/jobs/submit`` with an llm_chat body, parsed into a Job."""

    @abc.abstractmethod
    async def paginate(self, limit: int, max_items: int) -> int:
        """Every job of ``GET /api/v1/jobs``, ``limit`` per page; returns how many were seen
        (stops early at ``max_items``)."""

    @abc.abstractmethod
    async def stream(self, job_id: str) -> int:
        """The whole SSE stream of a job, each event parsed; returns how many events."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the client."""


class SSELines:
    """Turns SSE lines into ``(event, data)`` pairs (enough of the spec for the raw loops)."""

    __slots__ = ("data", "event")

    def __init__(self) -> None:
        self.event = ""
        self.data: List[str] = []

    def feed(self, line: str) -> Optional[Tuple[str, str]]:
        if not line:
            if not self.data:
                self.event = ""
                return None
            out = (self.event or "message", "\n".join(self.data))
            self.event = ""
            self.data = []
            return out
        if line[0] == ":":
            return None
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            self.data.append(value)
        elif field == "event":
            self.event = value
        return None

    def parse(self, line: str) -> bool:
        """Feed ``line``; when it completes an event, validate it as the raw loops do and return True."""
        event = self.feed(line)
        if event is None:
            return False
        name, data = event
        if name == "job.output.delta":
            JobOutputDelta.model_validate_json(data)
        else:
            Job.model_validate_json(data)
        return True
