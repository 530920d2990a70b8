"""What the records refer to against what a store lists, both in key order, merged: no question to the store
per record, and memory bounded whatever the library's size.

A store lists in key order (S3 by its API, the disk by ``LocalStorage.list``, in S3's byte order); the
records come in creation order, so their keys are sorted first in a temporary SQLite file (its ``BINARY``
order of UTF-8 text is the same byte order). ``ephitup orphans`` and ``migrate to-s3`` both merge this way.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any

from app.storage import ObjectStat

Row = tuple[Any, ...]  # (key, what the caller keeps beside it ...)


class KeySort:
    """Rows added in any order under a group name, read back one group at a time in key order."""

    def __init__(self, columns: int) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="ephitup-keys-")
        self._db = sqlite3.connect(Path(self._folder.name) / "keys.db")
        self._db.execute(f"CREATE TABLE keys (grp TEXT, key TEXT, {', '.join(f'v{n}' for n in range(columns))})")
        self._columns = columns

    def add(self, rows: Iterable[Row]) -> None:
        """Rows of (group, key, values ...)."""
        self._db.executemany(f"INSERT INTO keys VALUES ({', '.join('?' * (self._columns + 2))})", rows)

    def in_order(self, group: str) -> Iterator[Row]:
        values = ", ".join(f"v{n}" for n in range(self._columns))
        yield from self._db.execute(f"SELECT key, {values} FROM keys WHERE grp = ? ORDER BY key", (group,))

    def __enter__(self) -> KeySort:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._db.close()
        self._folder.cleanup()


def merged(listed: Iterable[ObjectStat], known: Iterable[Row]) -> Iterator[tuple[str, ObjectStat | None, list[Row]]]:
    """Each key either side holds, in key order: (key, its listed stat or None, the known rows at that key)."""
    groups = ((key, list(rows)) for key, rows in groupby(known, key=itemgetter(0)))
    group = next(groups, None)
    for stat in listed:
        while group is not None and group[0] < stat.key:
            yield group[0], None, group[1]
            group = next(groups, None)
        if group is not None and group[0] == stat.key:
            yield stat.key, stat, group[1]
            group = next(groups, None)
        else:
            yield stat.key, stat, []
    while group is not None:
        yield group[0], None, group[1]
        group = next(groups, None)
