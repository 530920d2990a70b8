"""A folder's entries in key order, with memory bounded however many it holds.

S3 lists keys in order, so the local store lists its files in the same order (``LocalStorage.list``). A
folder is sorted in memory up to ``IN_MEMORY`` entries; a larger one (the seed's layout puts every episode
in one folder: a million of them) is sorted in a temporary SQLite file, whose order (its BINARY collation:
the UTF-8 bytes) is Python's order of the same names (of every name that is valid UTF-8).

An entry's name ends in "/" for a folder and in NUL for a link (which keeps its place among the names).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

IN_MEMORY = 50_000


def sorted_entries(directory: str) -> Iterator[str]:
    with os.scandir(directory) as scan:
        entries = (_marked(entry) for entry in scan if _listed(entry))
        first = list(islice(entries, IN_MEMORY + 1))
        if len(first) <= IN_MEMORY:
            yield from sorted(first)
            return
        yield from _sorted_on_disk(first, entries)


def _listed(entry: os.DirEntry[str]) -> bool:
    return entry.is_dir(follow_symlinks=False) or entry.is_symlink() or entry.is_file(follow_symlinks=False)


def _marked(entry: os.DirEntry[str]) -> str:
    return entry.name + ("/" if entry.is_dir(follow_symlinks=False) else "\0" if entry.is_symlink() else "")


def _sorted_on_disk(first: list[str], rest: Iterable[str]) -> Iterator[str]:
    with KeySort() as names:  # as bytes: a name that is not valid UTF-8 (surrogate-escaped) sorts by its bytes too
        names.add(("", _bytes(name)) for name in first)
        first.clear()
        names.add(("", _bytes(name)) for name in rest)
        yield from (bytes(name).decode("utf-8", "surrogateescape") for name, in names.in_order(""))


class KeySort:
    """Rows of (group, key, values ...) added in any order, read back one group at a time in key order, from a
    temporary SQLite file: memory stays a page however many there are. Keys sort by their bytes (text by its
    UTF-8, as S3 orders keys)."""

    def __init__(self, columns: int = 0) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="ephitup-sort-")
        self._db = sqlite3.connect(Path(self._folder.name) / "keys.db")
        self._values = "".join(f", v{n}" for n in range(columns))
        self._db.execute(f"CREATE TABLE keys (grp, key{self._values})")
        self._marks = ", ".join("?" * (columns + 2))

    def add(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._db.executemany(f"INSERT INTO keys VALUES ({self._marks})", rows)

    def in_order(self, group: str) -> Iterator[tuple[Any, ...]]:
        """(key, values ...) of ``group``, read as they are taken."""
        yield from self._db.execute(f"SELECT key{self._values} FROM keys WHERE grp = ? ORDER BY key", (group,))

    def __enter__(self) -> KeySort:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()
        self._folder.cleanup()


def _bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")
