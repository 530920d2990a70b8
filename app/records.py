"""Episode and source records, schema versioned, in SQLite (``$DATA_FOLDER/app.db``) or PostgreSQL.

``SCHEMA_STEPS[i]`` takes a database from version ``i`` to ``i + 1``; a later change appends a step and
existing databases are brought forward at open. The steps are written once for both engines (types
both read the same way: BIGINT, DOUBLE PRECISION, TEXT). Callers use the named queries and writes
below; no SQL leaves this module, and ``app/databases.py`` is the only place that knows the engine.

An episode's ``audio_ref`` is where its audio is authoritative *now*; ``local_key`` names a local
copy that still exists (before upload, or until it is safely deleted after one).
"""

from __future__ import annotations

import time
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from app.databases import Database, Row, SqliteDatabase

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
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        etag TEXT,
        state TEXT NOT NULL CHECK (state IN ('stored', 'pending_upload')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX episodes_pending ON episodes (state, next_attempt_at);
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        filename TEXT NOT NULL,
        ref TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # v2: the reference an episode's audio had before `fix-keys` moved it, until the old copy is gone
    "ALTER TABLE episodes ADD COLUMN superseded_ref TEXT",
    # v3: the orders listings are paged in (keyset: after (created_at, id)), overall and per user; the few
    # episodes with a local copy to let go of, which the reconciler looks for on every pass
    """
    CREATE INDEX episodes_by_time ON episodes (created_at, id);
    CREATE INDEX episodes_by_user ON episodes (user_id, created_at, id);
    CREATE INDEX sources_by_time ON sources (created_at, id);
    CREATE INDEX episodes_local_copies ON episodes (state, created_at) WHERE local_key IS NOT NULL;
    """,
)

Position = tuple[float, str]  # (created_at, id): where a page of a listing starts after


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

    def moved_to(self, ref: str) -> Source:
        return replace(self, ref=ref)



class Records:
    """A small thread-safe repository; every write is one committed statement."""

    def __init__(self, database: Database | Path) -> None:
        self._db = SqliteDatabase(database) if isinstance(database, Path) else database
        self._db.upgrade(SCHEMA_STEPS)

    @property
    def engine(self) -> str:
        return self._db.kind

    @property
    def schema_version(self) -> int:
        return self._db.schema_version()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return self._db.rows(sql, params)

    def backup_to(self, path: Path) -> bool:
        """A consistent copy at ``path``; False where the engine keeps its own backups (PostgreSQL)."""
        return self._db.backup_to(path)

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
                    next_attempt_at: float = 0.0, etag: str | None = None,
                    created_at: float | None = None) -> Episode:
        now = time.time()
        values = {"id": id, "name": name, "user_id": user_id, "audio_ref": audio_ref, "local_key": local_key,
                  "content_type": content_type, "size": size, "sha256": sha256, "state": state, "attempts": 0,
                  "next_attempt_at": next_attempt_at, "last_error": None, "etag": etag,
                  "created_at": now if created_at is None else created_at,
                  "updated_at": now}
        columns = ", ".join(values)
        self._db.write(f"INSERT INTO episodes ({columns}) VALUES ({', '.join('?' * len(values))})",
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

        ``durable=False`` is for a write that power loss may undo safely because the next run redoes it
        (SQLite then skips the fsync).
        """
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in values)
        rows = self._db.write(f"UPDATE episodes SET {assignments} WHERE id = ? RETURNING *",
                              (*values.values(), episode_id), durable=durable)
        if not rows:
            raise RecordNotFoundError(episode_id)
        return _row(Episode, rows[0])

    def episode(self, episode_id: str) -> Episode:
        return self._one(Episode, "episodes", episode_id)  # type: ignore[no-any-return]

    def episodes(self) -> list[Episode]:
        return self._episodes("TRUE")

    def pending_uploads(self) -> list[Episode]:
        return self._episodes("state = 'pending_upload'")

    def oldest_pending_ids(self, limit: int) -> list[str]:
        """The ids of the ``limit`` oldest pending uploads (the pending index serves it, whatever their number)."""
        rows = self._query("SELECT id FROM episodes WHERE state = 'pending_upload' ORDER BY created_at LIMIT ?",
                           (limit,))
        return [row["id"] for row in rows]

    def claim_due_uploads(self, now: float, lease_seconds: float, limit: int = 100) -> list[Episode]:
        """The pending uploads due by ``now``, each claimed for ``lease_seconds`` in the same statement: an
        instance claiming at the same moment gets others (PostgreSQL skips rows another claim holds), so
        each pending upload is handled by exactly one instance."""
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._db.kind == "postgres" else ""
        rows = self._db.write(
            "UPDATE episodes SET next_attempt_at = ? WHERE id IN (SELECT id FROM episodes WHERE state = "
            f"'pending_upload' AND next_attempt_at <= ? ORDER BY created_at LIMIT ?{skip_locked}) RETURNING *",
            (now + lease_seconds, now, limit), durable=False)
        return sorted((_row(Episode, row) for row in rows), key=lambda episode: episode.created_at)

    def pending_summary(self) -> tuple[int, float | None, str | None]:
        """How many uploads are pending, when the oldest was created, and its last error."""
        (summary,) = self._query("SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM episodes "
                                 "WHERE state = 'pending_upload'")
        last = self._query("SELECT last_error FROM episodes WHERE state = 'pending_upload' ORDER BY created_at LIMIT 1")
        return int(summary["count"]), summary["oldest"], last[0]["last_error"] if last else None

    def stored_sizes(self) -> list[tuple[float, int, str]]:
        """(created at, bytes, reference) of every episode's audio and every source."""
        rows = self._query("SELECT created_at, size, audio_ref AS ref FROM episodes UNION ALL "
                           "SELECT created_at, size, ref FROM sources")
        return [(row["created_at"], row["size"], row["ref"]) for row in rows]

    def s3_audio_refs(self) -> list[str]:
        """Every episode reference into S3 (``s3://...``)."""
        return [row["audio_ref"] for row in self._query("SELECT audio_ref FROM episodes WHERE audio_ref LIKE 's3://%'")]

    def stored_with_local_copies(self) -> list[Episode]:
        """Switched to S3 but a local copy is still known: a crash came before it was let go of."""
        return self._episodes("local_key IS NOT NULL AND state = 'stored'")

    def episode_page(self, after: Position | None, limit: int, user_id: str | None = None) -> list[Episode]:
        """At most ``limit`` episodes in creation order after ``after``: stable while records come and go,
        and as cheap on the millionth page as on the first (an index serves each order)."""
        where, params = _after(after, ("user_id = ?", (user_id,)) if user_id is not None else None)
        rows = self._query(f"SELECT * FROM episodes WHERE {where} ORDER BY created_at, id LIMIT ?", (*params, limit))
        return [_row(Episode, row) for row in rows]

    def source_page(self, after: Position | None, limit: int) -> list[Source]:
        where, params = _after(after, None)
        rows = self._query(f"SELECT * FROM sources WHERE {where} ORDER BY created_at, id LIMIT ?", (*params, limit))
        return [_row(Source, row) for row in rows]

    def _episodes(self, where: str, *params: Any) -> list[Episode]:
        rows = self._query(f"SELECT * FROM episodes WHERE {where} ORDER BY created_at", params)
        return [_row(Episode, row) for row in rows]

    def delete_episode(self, episode_id: str) -> None:
        self._db.write("DELETE FROM episodes WHERE id = ?", (episode_id,))

    def adopt(self, episodes: list[Episode], sources: list[Source]) -> None:
        """Records from another database, as they are; those already here are left alone (a rerun)."""
        for kind, table, rows in ((Episode, "episodes", episodes), (Source, "sources", sources)):
            columns = [f.name for f in fields(kind)]
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                   "ON CONFLICT (id) DO NOTHING")
            for row in rows:
                self._db.write(sql, astuple(row))

    # -- sources ----------------------------------------------------------------------------------

    def add_source(self, source: Source) -> Source:
        self._db.write("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                       tuple(getattr(source, f.name) for f in fields(Source)))
        return source

    def source(self, source_id: str) -> Source:
        return self._one(Source, "sources", source_id)  # type: ignore[no-any-return]

    def sources(self) -> list[Source]:
        return [_row(Source, row) for row in self._query("SELECT * FROM sources ORDER BY created_at")]

    def delete_source(self, source_id: str) -> None:
        self._db.write("DELETE FROM sources WHERE id = ?", (source_id,))


def _after(after: Position | None, also: tuple[str, tuple[Any, ...]] | None) -> tuple[str, tuple[Any, ...]]:
    """The WHERE of a keyset page: past ``after`` in (created_at, id) order (a row-value comparison)."""
    clauses: list[str] = []
    params: list[Any] = []
    if also is not None:
        clauses.append(also[0])
        params += also[1]
    if after is not None:
        clauses.append("(created_at, id) > (?, ?)")
        params += after
    return " AND ".join(clauses) or "TRUE", tuple(params)


def _row(kind: type, row: Row) -> Any:
    return kind(**{f.name: row[f.name] for f in fields(kind)})
