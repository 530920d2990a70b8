"""Consistent copies of the records' SQLite database, taken while the app runs, kept where a disk's loss cannot
take them along.

SQLite's online backup API copies a consistent database however busy it is (a disk snapshot of a live
database may come back corrupted, Render warns). With S3 on, each copy goes to the bucket under
``backups/records/`` (checksummed like audio); with S3 off, beside the database under the same key in the data
folder, so Render's daily disk snapshot always holds a consistent copy. PostgreSQL (scaled) keeps its own
backups: nothing is taken here.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.background import Gate, every
from app.databases import RECORDS_FILE
from app.records import Records
from app.storage import LocalStorage, ObjectStat, Storage, StorageError
from app.storage.base import ChunkReader

log = logging.getLogger("ephitup")

PREFIX = "backups/records/"
CONTENT_TYPE = "application/vnd.sqlite3"
KEEP = 48  # copies kept; older ones are deleted after each new one


def backup_key(at: float) -> str:
    return f"{PREFIX}app-{datetime.fromtimestamp(at, UTC):%Y%m%dT%H%M%SZ}.db"


def taken_at(key: str) -> float | None:
    """When a backup was taken, from its key; None for a key that is not one."""
    try:
        stamp = datetime.strptime(key.removeprefix(PREFIX), "app-%Y%m%dT%H%M%SZ.db").replace(tzinfo=UTC)
    except ValueError:
        return None
    return stamp.timestamp()


def backups_in(store: Storage) -> list[ObjectStat]:
    """Every backup in ``store``, oldest first."""
    return sorted((stat for stat in store.list(PREFIX) if taken_at(stat.key) is not None), key=lambda s: s.key)


@dataclass
class RecordsBackups:
    """Takes a backup every ``interval`` seconds (the loop is its own), and says how old the last good one is."""

    records: Records
    store: Storage
    gate: Gate
    interval: float
    clock: Callable[[], float] = time.time
    last_good: float | None = None
    error: str | None = None

    def once(self) -> str | None:
        """One backup, then the oldest beyond ``KEEP`` deleted; its key, or None where the engine keeps its own."""
        with self.gate.open() as usable, tempfile.TemporaryDirectory(prefix="ephitup-backup-") as folder:
            copy = Path(folder) / RECORDS_FILE
            if not usable or not self.records.backup_to(copy):
                return None
            at = self.clock()
            key = backup_key(at)
            try:
                self.store.save_file(key, copy, CONTENT_TYPE)
            except Exception as error:
                self.error = f"{type(error).__name__}: {error}"
                raise
        self.last_good, self.error = at, None
        for old in backups_in(self.store)[:-KEEP]:
            self.store.delete(old.key)
        return key

    def age(self) -> float | None:
        """Seconds since the last good backup this process knows of (taken now or found at start)."""
        return None if self.last_good is None else self.clock() - self.last_good

    def find_last(self) -> None:
        """At start: the newest backup already in the store, so the age is right across restarts."""
        found = backups_in(self.store)
        self.last_good = taken_at(found[-1].key) if found else None

    async def forever(self) -> None:
        """The first backup one interval after start: a start does no work it can leave for later."""
        import asyncio

        await asyncio.sleep(self.interval)
        await every(self.interval, self.once, "records backup")


class RestoreRefusedError(StorageError):
    """A restore that would replace records still held, or that has no backup to restore."""


def restore(source: Storage, local: LocalStorage, at: float | None = None, force: bool = False,
            dry_run: bool = False) -> ObjectStat:
    """The newest backup in ``source`` taken at or before ``at`` (default: the newest) becomes ``app.db``.

    Checked before it replaces anything (SQLite's integrity check); an ``app.db`` that still holds records is
    replaced only with ``force``. The old database's write-ahead log goes with it: applied to another database,
    it would corrupt it. Run with the app stopped."""
    found = [stat for stat in backups_in(source) if at is None or (taken_at(stat.key) or 0) <= at]
    if not found:
        raise RestoreRefusedError(f"no backup of the records in {source.name} under {PREFIX}"
                                  f"{'' if at is None else ' taken by then'}")
    chosen = found[-1]
    held = _records_in(local, RECORDS_FILE)
    if held and not force:
        raise RestoreRefusedError(f"{RECORDS_FILE} still holds {held} records: stop the app, and pass --force to "
                                  "replace them")
    if dry_run:
        return chosen
    local.save_stream(RESTORING, ChunkReader(source.open_range(chosen.key)), CONTENT_TYPE)
    try:
        problem = _integrity(local.path(RESTORING))
        if problem:
            raise RestoreRefusedError(f"{chosen.key} fails SQLite's integrity check ({problem}): pass --at to pick "
                                      "an older backup")
        for leftover in (f"{RECORDS_FILE}-wal", f"{RECORDS_FILE}-shm"):
            local.delete(leftover)
        local.save_file(RECORDS_FILE, local.path(RESTORING), CONTENT_TYPE)
    finally:
        local.delete(RESTORING)
    return chosen


RESTORING = f"{RECORDS_FILE}.restoring"


def _records_in(local: LocalStorage, key: str) -> int:
    if not local.exists(key):
        return 0
    with closing(sqlite3.connect(f"file:{local.path(key)}?mode=ro", uri=True)) as db:
        try:
            return sum(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("episodes", "sources"))
        except sqlite3.DatabaseError:  # no tables yet, or not a database: nothing to keep
            return 0


def _integrity(path: Path) -> str | None:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            result = str(db.execute("PRAGMA integrity_check").fetchone()[0])
        except sqlite3.DatabaseError as error:
            return str(error)
    return None if result == "ok" else result
