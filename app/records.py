"""Episode and source records in SQLite (``$DATA_FOLDER/app.db``, WAL), schema versioned.

``SCHEMA_STEPS[i]`` takes a database from version ``i`` to ``i + 1`` (``PRAGMA user_version``); a later
change appends a step and existing databases are brought forward at open. Callers use the named
queries and writes below; no SQL leaves this module.

An episode's ``audio_ref`` is where its audio is authoritative *now*; ``local_key`` names a local
copy that still exists (before upload, or until it is safely deleted after one).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

EpisodeState = Literal["stored", "pending_upload"]

SCHEMA_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE episodes (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        user_id TEXT,
        audio_ref TEXT NOT NULL,
        local_key TEXT,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        etag TEXT,
        state TEXT NOT NULL CHECK (state IN ('stored', 'pending_upload')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX episodes_pending ON episodes (state, next_attempt_at);
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        filename TEXT NOT NULL,
        ref TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # v2: the reference an episode's audio had before `fix-keys` moved it, until the old copy is gone
    "ALTER TABLE episodes ADD COLUMN superseded_ref TEXT",
)


class RecordNotFoundError(KeyError):
    """No record with that id: never created, or deleted (perhaps while another thread worked on it)."""


@dataclass(frozen=True)
class Episode:
    id: str
    name: str
    user_id: str | None
    audio_ref: str
    local_key: str | None
    content_type: str
    size: int
    sha256: str
    etag: str | None
    state: EpisodeState
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    updated_at: float
    superseded_ref: str | None = None



@dataclass(frozen=True)
class Source:
    id: str
    filename: str
    ref: str
    content_type: str
    size: int
    created_at: float



class Records:
    """A small thread-safe repository; every write is one committed transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed record survives power loss
        self._upgrade_schema()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _upgrade_schema(self) -> None:
        with self._transaction() as db:
            for version in range(self.schema_version, len(SCHEMA_STEPS)):
                db.executescript(f"BEGIN; {SCHEMA_STEPS[version]}; PRAGMA user_version = {version + 1}; COMMIT;")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        self._db.close()

    def _one(self, kind: type, table: str, record_id: str) -> Any:
        """The record with this id; ``KeyError`` when there is none."""
        rows = self._query(f"SELECT * FROM {table} WHERE id = ?", (record_id,))
        if not rows:
            raise RecordNotFoundError(record_id)
        return _row(kind, rows[0])

    # -- episodes ---------------------------------------------------------------------------------

    def add_episode(self, *, id: str, name: str, user_id: str | None, audio_ref: str, local_key: str | None,
                    content_type: str, size: int, sha256: str, state: EpisodeState,
                    next_attempt_at: float = 0.0) -> Episode:
        now = time.time()
        values = {"id": id, "name": name, "user_id": user_id, "audio_ref": audio_ref, "local_key": local_key,
                  "content_type": content_type, "size": size, "sha256": sha256, "state": state, "attempts": 0,
                  "next_attempt_at": next_attempt_at, "last_error": None, "etag": None, "created_at": now,
                  "updated_at": now}
        columns = ", ".join(values)
        with self._transaction() as db:
            db.execute(f"INSERT INTO episodes ({columns}) VALUES ({', '.join('?' * len(values))})",
                       tuple(values.values()))
        return self.episode(id)

    def mark_stored(self, episode_id: str, audio_ref: str, etag: str | None, local_key: str | None) -> Episode:
        """The audio is verified where ``audio_ref`` points; ``local_key`` is a copy still to let go of."""
        return self._update(episode_id, audio_ref=audio_ref, etag=etag, local_key=local_key, state="stored",
                            last_error=None)

    def schedule_retry(self, episode_id: str, attempts: int, next_attempt_at: float, error: str) -> Episode:
        return self._update(episode_id, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error)

    def forget_local_copy(self, episode_id: str) -> Episode:
        """Power loss may undo this safely: the next run finds the copy (gone or kept) and forgets it again."""
        return self._update(episode_id, durable=False, local_key=None)

    def move_audio(self, episode_id: str, audio_ref: str, superseded_ref: str | None = None) -> Episode:
        """Point at a verified copy elsewhere; ``superseded_ref`` remembers the old one until it is deleted."""
        return self._update(episode_id, audio_ref=audio_ref, superseded_ref=superseded_ref)

    def forget_superseded(self, episode_id: str) -> Episode:
        """Once the old copy is gone; a rerun redoes it, so no fsync."""
        return self._update(episode_id, durable=False, superseded_ref=None)

    def _update(self, episode_id: str, durable: bool = True, **values: Any) -> Episode:
        """One committed UPDATE; returns the row as written.

        ``durable=False`` is for a write that power loss may undo safely because the next run redoes it:
        it skips the fsync, and the next durable commit, appended after it to the same WAL, takes it to
        disk as well.
        """
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self._transaction() as db:
            if not durable:
                db.execute("PRAGMA synchronous=NORMAL")
            try:  # fetchall: the statement runs to its end, so it commits before the lock is let go
                rows = db.execute(f"UPDATE episodes SET {assignments} WHERE id = ? RETURNING *",
                                  (*values.values(), episode_id)).fetchall()
            finally:
                if not durable:
                    db.execute("PRAGMA synchronous=FULL")
        if not rows:
            raise RecordNotFoundError(episode_id)
        return _row(Episode, rows[0])

    def episode(self, episode_id: str) -> Episode:
        return self._one(Episode, "episodes", episode_id)  # type: ignore[no-any-return]

    def episodes(self) -> list[Episode]:
        return self._episodes("1")

    def pending_uploads(self) -> list[Episode]:
        return self._episodes("state = 'pending_upload'")

    def due_uploads(self, now: float) -> list[Episode]:
        return self._episodes("state = 'pending_upload' AND next_attempt_at <= ?", now)

    def pending_summary(self) -> tuple[int, float | None, str | None]:
        """How many uploads are pending, when the oldest was created, and its last error."""
        rows = self._query("SELECT COUNT(*), MIN(created_at) FROM episodes WHERE state = 'pending_upload'")
        count, oldest = rows[0][0], rows[0][1]
        last = self._query("SELECT last_error FROM episodes WHERE state = 'pending_upload' ORDER BY created_at LIMIT 1")
        return count, oldest, last[0][0] if last else None

    def stored_sizes(self) -> list[tuple[float, int, str]]:
        """(created at, bytes, reference) of every episode's audio and every source."""
        rows = self._query("SELECT created_at, size, audio_ref FROM episodes UNION ALL "
                           "SELECT created_at, size, ref FROM sources")
        return [(row[0], row[1], row[2]) for row in rows]

    def s3_audio_refs(self) -> list[str]:
        """Every episode reference into S3 (``s3://...``)."""
        return [row[0] for row in self._query("SELECT audio_ref FROM episodes WHERE audio_ref LIKE 's3://%'")]

    def stored_with_local_copies(self) -> list[Episode]:
        """Switched to S3 but a local copy is still known: a crash came before it was let go of."""
        return self._episodes("state = 'stored' AND local_key IS NOT NULL")

    def _episodes(self, where: str, *params: Any) -> list[Episode]:
        rows = self._query(f"SELECT * FROM episodes WHERE {where} ORDER BY created_at", params)
        return [_row(Episode, row) for row in rows]

    def delete_episode(self, episode_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM episodes WHERE id = ?", (episode_id,))

    # -- sources ----------------------------------------------------------------------------------

    def add_source(self, source: Source) -> Source:
        with self._transaction() as db:
            db.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                       tuple(getattr(source, f.name) for f in fields(Source)))
        return source

    def source(self, source_id: str) -> Source:
        return self._one(Source, "sources", source_id)  # type: ignore[no-any-return]

    def sources(self) -> list[Source]:
        return [_row(Source, row) for row in self._query("SELECT * FROM sources ORDER BY created_at")]

    def delete_source(self, source_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sources WHERE id = ?", (source_id,))


def _row(kind: type, row: sqlite3.Row) -> Any:
    return kind(**{f.name: row[f.name] for f in fields(kind)})
