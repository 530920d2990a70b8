"""The merge of a store's listing with the records' keys: every key once, in the store's byte order, with what
each side holds; the records' keys sorted in SQLite the same way the store lists."""

from __future__ import annotations

from datetime import UTC, datetime

from app.key_merge import merged
from app.storage import ObjectStat
from app.storage.sorted_entries import KeySort

# around "/" in byte order: "a b" < "a-b" < "a.b" < "a/b" < "a0" < "é"
KEYS = ["a b", "a-b", "a.b", "a/b", "a/c", "a0", "é"]


def stat(key: str) -> ObjectStat:
    return ObjectStat(key=key, size=len(key), etag="", last_modified=datetime.now(UTC), content_type=None)


def test_every_key_once_in_byte_order_with_both_sides() -> None:
    listed = [stat(key) for key in ("a b", "a.b", "a/b", "é")]
    known = [("a-b", "r1"), ("a.b", "r2"), ("a.b", "r3"), ("a0", "r4"), ("é", "r5")]
    steps = [(key, stat.key if stat else None, [row[1] for row in rows]) for key, stat, rows in merged(listed, known)]
    assert steps == [("a b", "a b", []), ("a-b", None, ["r1"]), ("a.b", "a.b", ["r2", "r3"]), ("a/b", "a/b", []),
                     ("a0", None, ["r4"]), ("é", "é", ["r5"])]


def test_either_side_empty() -> None:
    assert [(key, rows) for key, _, rows in merged([], [("k", 1)])] == [("k", [("k", 1)])]
    assert [(key, s is not None) for key, s, _ in merged([stat("k")], [])] == [("k", True)]


def test_the_sort_reads_each_group_back_in_the_stores_byte_order() -> None:
    with KeySort(columns=1) as keys:
        keys.add(("local", key, n) for n, key in enumerate(reversed(KEYS)))
        keys.add([("s3", "z", 0), ("s3", "a", 1)])
        assert [key for key, _ in keys.in_order("local")] == sorted(KEYS, key=lambda k: k.encode())
        assert list(keys.in_order("s3")) == [("a", 1), ("z", 0)]
