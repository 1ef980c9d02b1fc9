"""The state file of ``submit_many``: what a batch has submitted, finished and spent.

The file is JSON, rewritten whole and atomically (a temporary file in the same
directory, flushed and fsynced, then ``os.replace``), so a crash leaves either the
previous version or the new one, never half of one::

    {
      "format": "microdc.batch",
      "version": 1,
      "batch_id": "batch_5f0c...",
      "created_at": "2025-01-01T12:00:00Z",
      "updated_at": "2025-01-01T12:03:10Z",
      "spent_usd": 0.0421,
      "items": {
        "0": {"params_hash": "9c1f...", "job_id": "job_abc", "status": "completed", "cost_usd": 0.0001},
        "1": {"params_hash": "77ab...", "job_id": "job_def", "status": "submitted", "cost_usd": 0.0}
      }
    }

(One line per item, so the file stays readable and diffable.)

``items`` holds the inputs (by position) that have a job: ``submitted`` or a terminal
status. Inputs that failed to submit or were skipped for the budget are not kept,
so a re-run tries them again. ``spent_usd`` is the sum of the items' costs, kept for
people reading the file; loading recomputes it.
"""

from __future__ import annotations

import os
import re
import json
import uuid
import hashlib
import datetime
from typing import Any, Dict, List, Tuple, Union, Mapping, Optional, cast
from pathlib import Path
from dataclasses import dataclass

from ..._exceptions import MicroDCError

__all__ = ["BatchState", "BatchStateError", "StateEntry", "hash_params", "new_batch_id", "validate_batch_id"]

STATE_FORMAT = "microdc.batch"
STATE_VERSION = 1
RECORDED_STATUSES = frozenset({"submitted", "completed", "failed", "cancelled"})
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

StrPath = Union[str, "os.PathLike[str]"]


class BatchStateError(MicroDCError, ValueError):
    """A ``state_file`` that ``submit_many`` cannot use: unreadable, not a batch state,
    or written for other inputs. The file is never changed when this is raised."""

    path: Path

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"Cannot resume from batch state file {str(path)!r}: {reason}. The file was left untouched; "
            "fix it, or pass another state_file (a missing file starts a new batch)."
        )
        self.path = path


@dataclass
class StateEntry:
    """One input that has a job: its content hash, the job, and where it stands."""

    params_hash: str
    job_id: str
    status: str = "submitted"
    cost_usd: float = 0.0

    def to_json(self) -> Dict[str, Any]:
        return {
            "params_hash": self.params_hash,
            "job_id": self.job_id,
            "status": self.status,
            "cost_usd": self.cost_usd,
        }


def new_batch_id() -> str:
    return f"batch_{uuid.uuid4().hex}"


def validate_batch_id(batch_id: str) -> str:
    if not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(
            "batch_id must be 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit; "
            f"got {batch_id!r}"
        )
    return batch_id


def hash_params(params: Mapping[str, Any]) -> str:
    """A short, stable hash of a job's parameters (key order does not matter)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BatchState:
    """A batch's id and its inputs' jobs, kept in ``path`` (``None``: in memory only)."""

    def __init__(
        self,
        path: Optional[Path],
        batch_id: str,
        entries: Optional[Dict[int, StateEntry]] = None,
        created_at: Optional[str] = None,
    ) -> None:
        self.path = path
        self.batch_id = batch_id
        self.entries: Dict[int, StateEntry] = entries if entries is not None else {}
        self.created_at = created_at or _now()

    @classmethod
    def open(cls, path: Optional[StrPath], batch_id: Optional[str]) -> Tuple[BatchState, bool]:
        """The state in ``path`` (and True) if the file exists, else a new one (and False).

        A new state is saved at once when it has a path, so the batch id is on disk
        before anything is submitted under it.
        """
        if batch_id is not None:
            validate_batch_id(batch_id)
        if path is None:
            return cls(None, batch_id or new_batch_id()), False
        file = Path(path)
        if file.exists():
            state = cls.load(file)
            if batch_id is not None and batch_id != state.batch_id:
                raise BatchStateError(file, f"it holds batch {state.batch_id!r}, not the batch_id given ({batch_id!r})")
            return state, True
        state = cls(file, batch_id or new_batch_id())
        state.save()
        return state, False

    @classmethod
    def load(cls, path: Path) -> BatchState:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise BatchStateError(path, f"it is not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise BatchStateError(path, f"it cannot be read ({exc.strerror or exc})") from exc
        try:
            data: object = json.loads(text)
        except ValueError as exc:
            raise BatchStateError(path, f"it is not valid JSON ({exc})") from None
        return cls._from_json(path, data)

    @classmethod
    def _from_json(cls, path: Path, data: object) -> BatchState:
        def bad(reason: str) -> BatchStateError:
            return BatchStateError(path, reason)

        if not isinstance(data, dict):
            raise bad("it is not a JSON object")
        doc = cast(Dict[str, object], data)
        if doc.get("format") != STATE_FORMAT:
            raise bad(f'it is not a microdc batch state (no "format": "{STATE_FORMAT}")')
        if doc.get("version") != STATE_VERSION:
            raise bad(f"its version is {doc.get('version')!r}; this microdc reads version {STATE_VERSION}")
        batch_id = doc.get("batch_id")
        if not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id):
            raise bad(f"its batch_id is missing or malformed ({batch_id!r})")
        created_at = doc.get("created_at")
        items = doc.get("items")
        if not isinstance(items, dict):
            raise bad('its "items" is not an object')
        entries: Dict[int, StateEntry] = {}
        for key, raw in cast(Dict[str, object], items).items():
            if not key.isdigit():
                raise bad(f"item key {key!r} is not an input position")
            entries[int(key)] = cls._entry(bad, key, raw)
        return cls(path, batch_id, entries, created_at if isinstance(created_at, str) else None)

    @staticmethod
    def _entry(bad: Any, key: str, raw: object) -> StateEntry:
        if not isinstance(raw, dict):
            raise bad(f"item {key} is not an object")
        item = cast(Dict[str, object], raw)
        params_hash, job_id, status, cost = (item.get(k) for k in ("params_hash", "job_id", "status", "cost_usd"))
        if not isinstance(params_hash, str) or not params_hash:
            raise bad(f"item {key} has no params_hash")
        if not isinstance(job_id, str) or not job_id:
            raise bad(f"item {key} has no job_id")
        if status not in RECORDED_STATUSES:
            raise bad(f"item {key} has status {status!r}, not one of {sorted(RECORDED_STATUSES)}")
        if cost is None:
            cost = 0.0
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0:
            raise bad(f"item {key} has cost_usd {cost!r}, not a number >= 0")
        return StateEntry(params_hash=params_hash, job_id=job_id, status=str(status), cost_usd=float(cost))

    def check_inputs(self, hashes: List[Optional[str]]) -> None:
        """Raise ``BatchStateError`` unless every recorded input is still there, unchanged."""
        path = self.path if self.path is not None else Path("<memory>")
        for index, entry in sorted(self.entries.items()):
            if index >= len(hashes):
                raise BatchStateError(path, f"it records input {index}, but only {len(hashes)} input(s) were given")
            if hashes[index] != entry.params_hash:
                raise BatchStateError(
                    path, f"input {index} differs from the one submitted as {entry.job_id} (its parameters changed)"
                )

    @property
    def spent_usd(self) -> float:
        return sum(entry.cost_usd for entry in self.entries.values())

    def to_json(self) -> Dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "batch_id": self.batch_id,
            "created_at": self.created_at,
            "updated_at": _now(),
            "spent_usd": round(self.spent_usd, 10),
            "items": {str(index): entry.to_json() for index, entry in sorted(self.entries.items())},
        }

    def dumps(self) -> str:
        """The state as JSON text: one line per field and per item, so people can read it too."""
        doc = self.to_json()
        items: Dict[str, Any] = doc.pop("items")
        lines = [f"  {json.dumps(name)}: {json.dumps(value)}," for name, value in doc.items()]
        entries = [f"    {json.dumps(key)}: {json.dumps(item)}" for key, item in items.items()]
        body = "{\n" + ",\n".join(entries) + "\n  }" if entries else "{}"
        return "{\n" + "\n".join(lines) + f'\n  "items": {body}\n}}\n'

    def save(self) -> None:
        """Write the state to ``path`` atomically (nothing to do without a path)."""
        if self.path is not None:
            write_atomically(self.path, self.dumps())


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a temp file beside it, fsynced, then ``os.replace``."""
    directory = path.parent
    temp = directory / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a directory, and
    # the replace is already atomic there.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
