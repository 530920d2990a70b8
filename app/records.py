"""Episode and source records, schema versioned, in SQLite (``$DATA_FOLDER/app.db``) or PostgreSQL.

The schema's steps (``app/schema.py``) bring a database forward at open. Callers use the named queries
and writes below; no other SQL leaves this module, and ``app/databases.py`` is the only place that knows
the engine.

An episode's ``audio_ref`` is where its audio is authoritative *now*; ``local_key`` names a local
copy that still exists (before upload, or until it is safely deleted after one).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from app.databases import Database, Row, SqliteDatabase
from app.schema import BUCKETS_FILLED, SCHEMA_STEPS, Episode, EpisodeState, Position, Source
from app.storage.references import InvalidReferenceError, parse_s3_url


class RecordNotFoundError(KeyError):
    """No record with that id: never created, or deleted (perhaps while another thread worked on it)."""


class Records:
    """A small thread-safe repository; every write is one committed statement."""

    def __init__(self, database: Database | Path) -> None:
        self._db = SqliteDatabase(database) if isinstance(database, Path) else database
        self._db.upgrade(SCHEMA_STEPS[:BUCKETS_FILLED])
        if self._db.schema_version() == BUCKETS_FILLED:  # the column is there, its index not yet
            self._fill_buckets()
        self._db.upgrade(SCHEMA_STEPS)

    def _fill_buckets(self) -> None:
        """Each S3 episode's ``audio_bucket``, one bucket at a time (there are few); a rerun after a crash
        finds the rest, as the version stays below the index's until it is done."""
        while found := self._query("SELECT audio_ref FROM episodes WHERE audio_bucket IS NULL AND audio_ref LIKE "
                                   "'s3://%' LIMIT 1"):
            bucket = bucket_of(found[0]["audio_ref"])
            self._db.write("UPDATE episodes SET audio_bucket = ? WHERE audio_bucket IS NULL AND audio_ref LIKE ?",
                           (bucket, f"s3://{bucket}/%"))

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
                  "updated_at": now, "audio_bucket": bucket_of(audio_ref)}
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
        if "audio_ref" in values:
            values["audio_bucket"] = bucket_of(values["audio_ref"])
        assignments = ", ".join(f"{column} = ?" for column in values)
        rows = self._db.write(f"UPDATE episodes SET {assignments} WHERE id = ? RETURNING *",
                              (*values.values(), episode_id), durable=durable)
        if not rows:
            raise RecordNotFoundError(episode_id)
        return _row(Episode, rows[0])

    def has_id_starting(self, prefix: str) -> bool:
        """Whether an episode's id starts with ``prefix`` (ids are lowercase hex: a range of the primary key)."""
        return bool(self._query("SELECT 1 FROM episodes WHERE id >= ? AND id < ? LIMIT 1", (prefix, prefix + "~")))

    def episode(self, episode_id: str) -> Episode:
        return self._one(Episode, "episodes", episode_id)  # type: ignore[no-any-return]

    def episodes(self) -> list[Episode]:
        return self._episodes("TRUE")

    def every_episode(self) -> Iterator[Episode]:
        """Every episode in creation order, read a page at a time (``_paged``: memory holds one page)."""
        return (_row(Episode, row) for row in self._paged("episodes", tuple(f.name for f in fields(Episode))))

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
        (summary,) = self._query(  # one statement: /health asks on every call, over the network on PostgreSQL
            "SELECT COUNT(*) AS count, MIN(created_at) AS oldest, (SELECT last_error FROM episodes WHERE state = "
            "'pending_upload' ORDER BY created_at LIMIT 1) AS last_error FROM episodes WHERE state = 'pending_upload'")
        return int(summary["count"]), summary["oldest"], summary["last_error"]

    def stored_sizes(self) -> Iterator[tuple[float, int, str]]:
        """(created at, bytes, reference) of every episode's audio and every source, a page at a time."""
        for row in self._paged("episodes", ("size", "audio_ref")):
            yield row["created_at"], row["size"], row["audio_ref"]
        for row in self._paged("sources", ("size", "ref")):
            yield row["created_at"], row["size"], row["ref"]

    def episodes_by_bucket(self, leaving_out: set[str]) -> dict[str, int]:
        """How many episodes have their audio in each bucket (or access point) but those left out: the few
        buckets are read from their index one after the other (a loose index scan), then only the episodes of
        the buckets asked about are counted; the work grows with those, not with the library."""
        buckets = self._query(
            "WITH RECURSIVE b(bucket) AS (SELECT MIN(audio_bucket) FROM episodes UNION ALL SELECT (SELECT "
            "MIN(audio_bucket) FROM episodes WHERE audio_bucket > b.bucket) FROM b WHERE b.bucket IS NOT NULL) "
            "SELECT bucket FROM b WHERE bucket IS NOT NULL")
        return {row["bucket"]: self._query("SELECT COUNT(*) AS n FROM episodes WHERE audio_bucket = ?",
                                           (row["bucket"],))[0]["n"]
                for row in buckets if row["bucket"] not in leaving_out}

    def stored_with_local_copies(self) -> list[Episode]:
        """Switched to S3 but a local copy is still known: a crash came before it was let go of."""
        return self._episodes("local_key IS NOT NULL AND state = 'stored'")

    def references(self) -> Iterator[tuple[str, str]]:
        """("episode <id>" or "source <id>", reference) of every reference a record holds, a page at a time."""
        for table, columns in (("episodes", ("audio_ref", "local_key", "superseded_ref")), ("sources", ("ref",))):
            for row in self._paged(table, columns):
                yield from ((f"{table[:-1]} {row['id']}", row[c]) for c in columns if row[c])

    def _paged(self, table: str, columns: tuple[str, ...], page: int = 1000) -> Iterator[Row]:
        """Every row of ``table`` in (created_at, id) order, read a page at a time: the lock is held for a page,
        never for the library, and memory holds one page."""
        after: Position | None = None
        selected = ", ".join(dict.fromkeys(("created_at", "id", *columns)))  # the position's columns, once
        while rows := self._query(f"SELECT {selected} FROM {table} WHERE "
                                  f"{_after(after, None)[0]} ORDER BY created_at, id LIMIT ?",
                                  (*_after(after, None)[1], page)):
            yield from rows
            after = (rows[-1]["created_at"], rows[-1]["id"])

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
            columns = [f.name for f in fields(kind)] + (["audio_bucket"] if kind is Episode else [])
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                   "ON CONFLICT (id) DO NOTHING")
            for row in rows:
                bucket = (bucket_of(row.audio_ref),) if isinstance(row, Episode) else ()
                self._db.write(sql, (*astuple(row), *bucket))

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


def bucket_of(reference: str) -> str | None:
    """The bucket or access point of an ``s3://`` reference; None for one on the disk."""
    try:
        return parse_s3_url(reference)[0] if reference.startswith("s3://") else None
    except InvalidReferenceError:
        return None


def _row(kind: type, row: Row) -> Any:
    return kind(**{f.name: row[f.name] for f in fields(kind)})
