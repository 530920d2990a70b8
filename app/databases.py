"""Where the records live: SQLite on the service's disk (one server), or PostgreSQL (several instances).

``Records`` speaks SQL through this small interface, with ``?`` placeholders and the same schema steps
on both. SQLite (the embedded default, ``$DATA_FOLDER/app.db``) runs in WAL mode with one connection
and a lock; a write that power loss may undo safely skips its fsync. PostgreSQL (``DATABASE_URL``) runs
on a pool of autocommit connections (every statement its own committed transaction), and applies the
schema steps under an advisory lock, so instances starting together do not race.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol

from app.deadlines import SocketDeadlines

Row = dict[str, Any]
RECORDS_FILE = "app.db"  # the SQLite records, in DATA_FOLDER
SCHEMA_LOCK = 0x65706869  # pg_advisory_xact_lock key for schema steps ("ephi")


class DatabaseUnavailableError(RuntimeError):
    """The records' database did not answer (a PostgreSQL server down or unreachable)."""


class Database(Protocol):
    """One committed statement per call; rows as dicts."""

    kind: str

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]: ...

    def write(self, sql: str, params: tuple[Any, ...] = (), durable: bool = True) -> list[Row]: ...

    def schema_version(self) -> int: ...

    def upgrade(self, steps: tuple[str, ...]) -> None: ...

    def backup_to(self, path: Path) -> bool: ...

    def close(self) -> None: ...


class SqliteDatabase:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed record survives power loss

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, params).fetchall()]

    def write(self, sql: str, params: tuple[Any, ...] = (), durable: bool = True) -> list[Row]:
        """``durable=False``: no fsync; the next durable commit, appended after it to the same WAL, takes it
        to disk as well (for writes a rerun redoes)."""
        with self._lock:
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:  # fetchall: the statement runs to its end, so it commits before the lock is let go
                return [dict(row) for row in self._db.execute(sql, params).fetchall()]
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

    def schema_version(self) -> int:
        return int(self.rows("PRAGMA user_version")[0]["user_version"])

    def upgrade(self, steps: tuple[str, ...]) -> None:
        with self._lock:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            for number in range(version, len(steps)):
                self._db.executescript(f"BEGIN; {steps[number]}; PRAGMA user_version = {number + 1}; COMMIT;")

    def backup_to(self, path: Path) -> bool:
        """A consistent copy of the whole database at ``path`` (SQLite's online backup API), however busy.

        From a connection of its own, in one step: in WAL mode that is one read transaction, a snapshot that
        the app's writes (on its own connection, under its lock) neither wait for nor disturb."""
        with closing(sqlite3.connect(self.path)) as source, closing(sqlite3.connect(path)) as target:
            source.backup(target)
        return True

    def close(self) -> None:
        self._db.close()


# libpq's side of a bounded wait: a refused or unreachable server fails a connect in seconds, a dead peer on
# an idle connection is noticed by keepalives, and unacknowledged data (a partition) by tcp_user_timeout. The
# server ends a statement at its statement timeout; the client's deadline, two seconds later, ends the wait
# for one that never answers at all.
CONNECTION_BOUNDS = {"connect_timeout": 2, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                     "keepalives_count": 2, "tcp_user_timeout": 10_000}
STATEMENT_SECONDS = 15.0
CLIENT_MARGIN = 2.0  # seconds past the statement timeout before the client gives up on the server
WAIT_FOR_CONNECTION = 0.9  # seconds a request waits for a pooled connection before its 503 (target: 1 s)
RECONNECT_FOR = 3.0  # the pool's own retries give up after this; the next request starts a new attempt at once
FAIL_FAST_SECONDS = 1.0  # after the server did not answer, requests fail at once unless the pool has a connection


class PostgresDatabase:
    kind = "postgres"

    def __init__(self, url: str, max_connections: int = 10, timeout: float = WAIT_FOR_CONNECTION,
                 statement_seconds: float = STATEMENT_SECONDS) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        # reconnect_timeout bounds the pool's backoff: its default (5 minutes, doubling from 1 s) kept instances
        # answering 503 for ~50 s after PostgreSQL came back. check= drops connections the outage broke.
        self._pool = ConnectionPool(url, min_size=1, max_size=max_connections, timeout=timeout, open=False,
                                    reconnect_timeout=RECONNECT_FOR, check=self._check,
                                    kwargs={"autocommit": True, "row_factory": dict_row, **CONNECTION_BOUNDS,
                                            "options": f"-c statement_timeout={round(statement_seconds * 1000)}"})
        self._deadlines = SocketDeadlines(statement_seconds + CLIENT_MARGIN)
        self._down_until = 0.0
        with self._errors():
            self._pool.open(wait=True, timeout=timeout)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self._errors(), self._pool.connection() as connection, self._deadlines.bound(connection.fileno()):
            cursor = connection.execute(_placeholders(sql), params)
            return cursor.fetchall() if cursor.description else []  # type: ignore[return-value]  # dict_row

    def write(self, sql: str, params: tuple[Any, ...] = (), durable: bool = True) -> list[Row]:
        return self.rows(sql, params)  # every commit is durable here

    def _check(self, connection: Any) -> None:
        """The pool's check of a connection before lending it, within the deadline too."""
        from psycopg_pool import ConnectionPool

        with self._deadlines.bound(connection.fileno()):
            ConnectionPool.check_connection(connection)

    def schema_version(self) -> int:
        with self._errors(), self._pool.connection() as connection:
            return _pg_version(connection)

    def upgrade(self, steps: tuple[str, ...]) -> None:
        """The missing steps in one transaction, one instance at a time."""
        with self._errors(), self._pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for number in range(_pg_version(connection), len(steps)):
                connection.execute(steps[number].encode())  # bytes: several statements, no placeholders
                connection.execute("UPDATE ephitup_schema SET version = %s", (number + 1,))

    def backup_to(self, path: Path) -> bool:
        """PostgreSQL keeps its own backups (Render's daily ones, point-in-time recovery): none is taken here."""
        return False

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver errors as ``DatabaseUnavailableError``; while the server was just found away, a request with no
        pooled connection to use fails at once instead of waiting out the pool's timeout again."""
        import psycopg
        from psycopg_pool import PoolTimeout

        if time.monotonic() < self._down_until and not self._pool.get_stats().get("pool_available"):
            raise DatabaseUnavailableError("the records' PostgreSQL database did not answer a moment ago")
        try:
            yield
        except (psycopg.OperationalError, PoolTimeout) as error:
            self._down_until = time.monotonic() + FAIL_FAST_SECONDS
            raise DatabaseUnavailableError(f"the records' PostgreSQL database did not answer: "
                                           f"{type(error).__name__}") from None


def _pg_version(connection: Any) -> int:
    connection.execute("CREATE TABLE IF NOT EXISTS ephitup_schema (version INTEGER NOT NULL)")
    row = connection.execute("SELECT version FROM ephitup_schema").fetchone()
    if row is None:
        connection.execute("INSERT INTO ephitup_schema VALUES (0)")
        return 0
    return int(row["version"])


def _placeholders(sql: str) -> str:
    """``?`` as psycopg spells it, ``%`` in literals (``LIKE 's3://%'``) kept literal."""
    return sql.replace("%", "%%").replace("?", "%s")


def open_database(database_url: str | None, data_folder: Path,
                  statement_seconds: float = STATEMENT_SECONDS) -> Database:
    """PostgreSQL when a URL is given, else SQLite in the data folder."""
    if database_url:
        return PostgresDatabase(database_url, statement_seconds=statement_seconds)
    return SqliteDatabase(data_folder / RECORDS_FILE)
