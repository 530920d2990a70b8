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
from contextlib import closing
from itertools import islice
from pathlib import Path

IN_MEMORY = 50_000
BATCH = 10_000


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
    with tempfile.TemporaryDirectory(prefix="ephitup-listing-") as folder, \
            closing(sqlite3.connect(Path(folder) / "names.db")) as names:
        names.execute("CREATE TABLE names (name BLOB)")
        names.executemany("INSERT INTO names VALUES (?)", ((_bytes(name),) for name in first))
        first.clear()
        while batch := list(islice(rest, BATCH)):
            names.executemany("INSERT INTO names VALUES (?)", ((_bytes(name),) for name in batch))
        cursor = names.execute("SELECT name FROM names ORDER BY name")
        while rows := cursor.fetchmany(BATCH):
            yield from (bytes(row[0]).decode("utf-8", "surrogateescape") for row in rows)


def _bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")
