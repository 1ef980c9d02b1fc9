"""``Idempotency-Key``: the first answer for a key is kept for 24 hours and replayed.

A key is bound to a fingerprint of the request (method, path and body, with a
multipart boundary taken out so that a re-encoded upload of the same file matches).
A repeat with the same fingerprint gets the stored answer; one with another
fingerprint gets 422 ``idempotency_key_reused``; one that arrives while the first is
still being answered gets 409 ``idempotency_key_in_use`` (worth retrying).
"""

from __future__ import annotations

import json
import hashlib
import contextlib
from typing import Dict, List, Tuple, Union, Optional
from dataclasses import dataclass

__all__ = ["IdempotencyStore", "InFlight", "Reserved", "Reused", "StoredAnswer", "fingerprint"]

KEY_TTL_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: Tuple[Tuple[str, str], ...]
    body: bytes


@dataclass
class _Entry:
    fingerprint: str
    created: float
    answer: Optional[StoredAnswer] = None


@dataclass(frozen=True)
class Reserved:
    """The key is new: answer the request, then :meth:`IdempotencyStore.complete`."""


@dataclass(frozen=True)
class InFlight:
    """The first request with this key is still being answered."""


@dataclass(frozen=True)
class Reused:
    """The key was used for a different request."""


Lookup = Union[Reserved, InFlight, Reused, StoredAnswer]


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    """What must match for a replay: the method, the path and the body's content."""
    if content_type.startswith("application/json"):
        with contextlib.suppress(ValueError):
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    elif content_type.startswith("multipart/form-data") and "boundary=" in content_type:
        boundary = content_type.split("boundary=", 1)[1].split(";", 1)[0].strip().strip('"')
        if boundary:
            body = body.replace(boundary.encode("latin-1"), b"BOUNDARY")
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self) -> None:
        self._entries: Dict[str, _Entry] = {}

    def begin(self, key: str, print_: str, now: float) -> Lookup:
        entry = self._entries.get(key)
        if entry is not None and now - entry.created >= KEY_TTL_SECONDS:
            del self._entries[key]
            entry = None
        if entry is None:
            self._entries[key] = _Entry(print_, now)
            return Reserved()
        if entry.fingerprint != print_:
            return Reused()
        if entry.answer is None:
            return InFlight()
        return entry.answer

    def complete(self, key: str, answer: StoredAnswer) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.answer = answer

    def release(self, key: str) -> None:
        """Forget a key whose request got no answer worth keeping (a fault, a crash)."""
        entry = self._entries.get(key)
        if entry is not None and entry.answer is None:
            del self._entries[key]

    def keys(self) -> List[str]:
        return list(self._entries)
