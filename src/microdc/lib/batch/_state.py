"""A batch's state file: an SQLite database (stdlib ``sqlite3``) with one row per input.

::

    meta(key, value)        format = "microdc.batch", batch_id, created_at
    items(idx PRIMARY KEY,  the input's position
          params_hash,      a hash of its parameters (a re-run checks the inputs did not change)
          status,           submitted | completed | failed | cancelled | error | skipped_budget
          job_id,           the job, once there is one
          cost_usd,         what the input's finished jobs cost (its earlier jobs', while a re-ask runs)
          estimate_usd,     its worst case when it was admitted (reserved while it runs)
          maybe_created,    1 for an error that may hide a job (a lost answer): its worst case stays reserved
          error)            what went wrong, for an ``error`` row

``PRAGMA application_id`` marks the file as a microdc batch state and ``PRAGMA
user_version`` holds the schema version. The database runs in WAL mode with
``locking_mode=EXCLUSIVE``: the run that opens it holds its lock until it closes it,
so a second process (or a second run in this one) gets :class:`BatchStateError`
instead of writing beside it. Rows are written in transactions of many rows at a
time; a crash mid-write leaves the last committed transaction, never half of one.

Every method here blocks (disk I/O): the batch engine calls them from a worker
thread (``anyio.to_thread``), never in the event loop, one call at a time.
"""

from __future__ import annotations

import os
import re
import json
import uuid
import shutil
import hashlib
import sqlite3
import datetime
import tempfile
import threading
from typing import Any, Dict, List, Tuple, Union, Mapping, Optional, Sequence, NamedTuple
from pathlib import Path
from urllib.parse import quote

from ..._spec import TERMINAL_JOB_STATES
from .._money import PICODOLLARS_PER_USD
from ..._exceptions import MicroDCError

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "BatchState",
    "BatchStateError",
    "StateRow",
    "StrPath",
    "hash_params",
    "new_batch_id",
    "validate_batch_id",
]

STATE_FORMAT = "microdc.batch"
SCHEMA_VERSION = 1
APPLICATION_ID = 0x6D646362  # "mdcb"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

StrPath = Union[str, "os.PathLike[str]"]


def _picodollars(column: str) -> str:
    """SQL for a REAL column of US dollars as whole picodollars (exact for the amounts of one input)."""
    return f"CAST(round({column} * {PICODOLLARS_PER_USD}) AS INTEGER)"


# The highest position, the rows, what the finished jobs cost (a submitted row's cost is that of
# its input's earlier jobs: the re-asks of a reply) and the worst cases still reserved; amounts
# summed as whole picodollars, so exactly. (Parameters: the terminal states.)
_SUMMARY = (
    "SELECT max(idx), count(*),"
    f" sum(CASE WHEN status IN ({', '.join('?' for _ in TERMINAL_JOB_STATES)}, 'submitted')"
    f" THEN {_picodollars('cost_usd')} END),"
    f" sum(CASE WHEN status = 'submitted' OR maybe_created THEN {_picodollars('estimate_usd')} END)"
    " FROM items"
)

_SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    idx INTEGER PRIMARY KEY,
    params_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    job_id TEXT,
    cost_usd REAL NOT NULL DEFAULT 0,
    estimate_usd REAL NOT NULL DEFAULT 0,
    maybe_created INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""


class BatchStateError(MicroDCError, ValueError):
    """A ``state_file`` a batch cannot use: in use by another run, not a batch state,
    another batch's, or written for other inputs. The file is left as it was."""

    path: Path
    reason: str
    """Why the file cannot be used, without the advice (for callers that word their own, as the CLI does)."""

    def __init__(self, path: Path, reason: str, *, hint: Optional[str] = None) -> None:
        hint = hint or "fix it, or pass another state_file (a missing file starts a new batch)"
        super().__init__(f"Cannot use batch state file {str(path)!r}: {reason}. The file was left untouched; {hint}.")
        self.path = path
        self.reason = reason


class StateRow(NamedTuple):
    """One input's row (the columns of ``items``)."""

    idx: int
    params_hash: str
    status: str
    job_id: Optional[str] = None
    cost_usd: float = 0.0
    estimate_usd: float = 0.0
    maybe_created: bool = False
    error: Optional[str] = None


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
    """An open state file (or, for a batch without ``state_file``, a temporary one).

    Open with :meth:`open`; the lock is held until :meth:`close`. ``resumed`` tells
    whether the file already held this batch; then ``last_index`` is the highest
    input position it records, ``prior_spent`` what its finished jobs cost and
    ``prior_reserved`` the worst cases of the jobs it lists as still running (both
    in picodollars, summed exactly).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, batch_id: str, *, temporary: bool) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.path = path
        self.batch_id = batch_id
        self.temporary = temporary
        self.resumed = False
        self.last_index = -1
        self.recorded = 0
        self.prior_spent = 0
        self.prior_reserved = 0
        self._closed = False

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Optional[StrPath], batch_id: Optional[str]) -> BatchState:
        """The state in ``path``: checked and locked if the file exists, else created.

        Raises :class:`BatchStateError` (the file unchanged) when it is in use, not a
        batch state, of another schema version, or of another batch than ``batch_id``.
        """
        if batch_id is not None:
            validate_batch_id(batch_id)
        if path is None:
            directory = Path(tempfile.mkdtemp(prefix="microdc-batch-"))
            return cls._create(directory / "state.sqlite3", batch_id or new_batch_id(), temporary=True)
        file = Path(path)
        if file.exists():
            return cls._open_existing(file, batch_id)
        return cls._create(file, batch_id or new_batch_id(), temporary=False)

    @classmethod
    def _connect(cls, file: Path, mode: str) -> sqlite3.Connection:
        uri = f"file:{quote(str(file.absolute()))}?mode={mode}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=0)
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        return conn

    @classmethod
    def _create(cls, file: Path, batch_id: str, *, temporary: bool) -> BatchState:
        conn = cls._connect(file, "rwc")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # One transaction: a crash leaves no half-made state. (The values are safe to
            # inline: the batch id was validated and the others are ours.)
            meta = ", ".join(
                f"('{k}', '{v}')" for k, v in (("format", STATE_FORMAT), ("batch_id", batch_id), ("created_at", _now()))
            )
            conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} INSERT INTO meta(key, value) VALUES {meta}; COMMIT;")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc):
                raise _in_use(file) from None
            raise BatchStateError(file, f"it cannot be created ({exc})") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, file, batch_id, temporary=temporary)

    @classmethod
    def _open_existing(cls, file: Path, batch_id: Optional[str]) -> BatchState:
        try:
            with open(file, "rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise BatchStateError(file, f"it cannot be read ({exc.strerror or exc})") from exc
        if not head:
            raise BatchStateError(file, "it is empty, not a microdc batch state")
        if head != _SQLITE_MAGIC:
            raise BatchStateError(file, "it is not an SQLite database, so not a microdc batch state")
        try:
            conn = cls._connect(file, "rw")
        except sqlite3.Error as exc:
            raise BatchStateError(file, f"it cannot be opened ({exc})") from exc
        try:
            state = cls._check(conn, file, batch_id)
        except BaseException:
            conn.close()
            raise
        return state

    @classmethod
    def _check(cls, conn: sqlite3.Connection, file: Path, batch_id: Optional[str]) -> BatchState:
        try:
            # The first read of a WAL database in exclusive mode takes the lock for good.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _in_use(file) from None
            raise BatchStateError(file, f"it cannot be read as a database ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise BatchStateError(file, f"it is not a readable SQLite database ({exc})") from None
        if app_id != APPLICATION_ID:
            raise BatchStateError(file, "it is an SQLite database, but not a microdc batch state")
        if version != SCHEMA_VERSION:
            raise BatchStateError(file, f"its schema version is {version}; this microdc reads version {SCHEMA_VERSION}")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            summary = conn.execute(_SUMMARY, TERMINAL_JOB_STATES).fetchone()
        except sqlite3.DatabaseError as exc:
            raise BatchStateError(file, f"its tables are not those of a batch state ({exc})") from None
        recorded_id = meta.get("batch_id")
        if meta.get("format") != STATE_FORMAT or not isinstance(recorded_id, str) or not _BATCH_ID.match(recorded_id):
            raise BatchStateError(file, "its meta table does not describe a microdc batch")
        if batch_id is not None and batch_id != recorded_id:
            raise BatchStateError(
                file,
                f"it holds batch {recorded_id!r}, not the batch_id given ({batch_id!r})",
                hint="pass that batch's own id (or none), or another state_file",
            )
        conn.execute("PRAGMA synchronous = NORMAL")
        state = cls(conn, file, recorded_id, temporary=False)
        state.resumed = True
        last, count, spent, reserved = summary
        state.last_index = -1 if last is None else int(last)
        state.recorded = int(count)
        state.prior_spent = int(spent or 0)
        state.prior_reserved = int(reserved or 0)
        return state

    # --- reading and writing (blocking: call from a worker thread) --------------------------

    def rows(self, start: int, stop: int) -> Dict[int, StateRow]:
        """The rows of the inputs at positions ``start`` to ``stop - 1``."""
        with self._lock:
            cursor = self._conn.execute(
                "SELECT idx, params_hash, status, job_id, cost_usd, estimate_usd, maybe_created, error"
                " FROM items WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, stop),
            )
            return {values[0]: _row(values) for values in cursor}

    def write(self, rows: Sequence[StateRow]) -> None:
        """Insert or replace ``rows``, all in one transaction."""
        if not rows:
            return
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def unfinished(self, after: int, limit: int) -> List[StateRow]:
        """Rows still ``submitted`` (with a job), past position ``after``, at most ``limit``, in order."""
        with self._lock:
            cursor = self._conn.execute(
                "SELECT idx, params_hash, status, job_id, cost_usd, estimate_usd, maybe_created, error"
                " FROM items WHERE status = 'submitted' AND job_id IS NOT NULL AND idx > ? ORDER BY idx LIMIT ?",
                (after, limit),
            )
            return [_row(values) for values in cursor]

    def close(self) -> None:
        """Release the lock (a temporary state is deleted); calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()
        if self.temporary:
            shutil.rmtree(self.path.parent, ignore_errors=True)


def _row(values: Tuple[Any, ...]) -> StateRow:
    index, params_hash, status, job_id, cost, estimate, maybe_created, error = values
    return StateRow(index, params_hash, status, job_id, cost, estimate, bool(maybe_created), error)


def _in_use(file: Path) -> BatchStateError:
    return BatchStateError(
        file,
        "it is in use by another run (another process, or another batch in this one, holds its lock)",
        hint="wait for that run to end, or give this run its own state_file",
    )
