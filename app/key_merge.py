"""What the records refer to against what a store lists, both in key order, merged: no question to the store
per record, and memory bounded whatever the library's size.

A store lists in key order (S3 by its API, the disk by ``LocalStorage.list``, in S3's byte order); the
records come in creation order, so their keys are sorted first in a temporary SQLite file (``KeySort``, the
sort the local listing uses for a folder too large for memory). ``ephitup orphans`` and ``migrate to-s3`` both
merge this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any

from app.storage import ObjectStat

Row = tuple[Any, ...]  # (key, what the caller keeps beside it ...)


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
