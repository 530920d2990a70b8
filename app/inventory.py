"""What the records know against what the stores hold: the orphans on each side, and the space used.

One pass over the records (a page at a time), one walk of the data folder and at most one S3 listing per
prefix, merged in key order; nothing here changes anything (``remove`` is the one writer, and only for
what ``find_orphans`` returned).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from app.databases import RECORDS_FILE
from app.key_merge import merged
from app.records import Records
from app.storage import InvalidReferenceError, ObjectStat, Storage, StorageError
from app.storage.sorted_entries import KeySort
from app.storage.stores import Stores

PREFIXES = {"local": ("podcasts/", "uploads/"), "s3": ("episodes/", "uploads/")}  # what the app writes
KEPT_ORPHANS = "episodes/_orphans/"  # audio `migrate to-s3` kept safe on purpose: never an orphan


@dataclass
class Orphans:
    objects: list[ObjectStat] = field(default_factory=list)  # in S3, no record points at them
    files: list[ObjectStat] = field(default_factory=list)  # under DATA_FOLDER, no record points at them
    missing: list[str] = field(default_factory=list)  # records whose object or file is gone
    young: list[ObjectStat] = field(default_factory=list)  # unreferenced but within the grace period: kept

    @property
    def count(self) -> int:
        return len(self.objects) + len(self.files) + len(self.missing)


def listing(storage: Storage) -> Iterator[ObjectStat]:
    """Everything the app may have written to this store, in key order (one listing per prefix)."""
    for prefix in PREFIXES[storage.kind]:
        yield from storage.list(prefix)


def find_orphans(records: Records, stores: Stores, grace_seconds: float, now: float | None = None) -> Orphans:
    """Each store's listing merged with the records' references sorted the same way (``app.key_merge``)."""
    now = time.time() if now is None else now
    found, missing = Orphans(), []
    with KeySort(columns=2) as references:
        missing += _sort_references(records, stores, references)
        stores_and_orphans: list[tuple[Storage, list[ObjectStat]]] = [(stores.local, found.files)]
        if stores.remote is not None:
            stores_and_orphans.append((stores.remote, found.objects))
        for storage, orphans in stores_and_orphans:
            for key, stat, known in merged(listing(storage), references.in_order(storage.kind)):
                if stat is None:
                    missing += [(record, reference, f"{record}: {reference}") for _, record, reference in known]
                elif not known and not key.startswith(KEPT_ORPHANS):
                    (found.young if now - stat.last_modified.timestamp() < grace_seconds else orphans).append(stat)
    # the live app deletes the record first, then the file: one deleted meanwhile is not missing
    found.missing = [text for record, reference, text in missing if _still_refers(records, record, reference)]
    return found


def _sort_references(records: Records, stores: Stores, references: KeySort) -> list[tuple[str, str, str]]:
    """Every reference of a listed prefix, by store: (key, record, reference); those the listings cannot answer
    for (a key outside the listed prefixes, a store this app lacks) are checked one by one: the missing ones."""
    missing = []
    every = records.references()
    while batch := list(islice(every, 1000)):
        rows = []
        for record, reference in batch:
            try:
                storage, key = stores.locate(reference)
                if key.startswith(PREFIXES[storage.kind]):
                    rows.append((storage.kind, key, record, reference))
                elif not storage.exists(key):
                    missing.append((record, reference, f"{record}: {reference}"))
            except (StorageError, InvalidReferenceError) as error:
                missing.append((record, reference, f"{record}: {reference} ({error})"))
        references.add(rows)
    return missing


def _still_refers(records: Records, record: str, reference: str) -> bool:
    kind, _, record_id = record.partition(" ")
    try:
        if kind == "source":
            return records.source(record_id).ref == reference
        episode = records.episode(record_id)
    except KeyError:
        return False
    return reference in (episode.audio_ref, episode.local_key, episode.superseded_ref)


def remove(orphans: Orphans, stores: Stores) -> list[str]:
    """Delete the orphaned objects and files (never a record, never a young one); returns what failed."""
    failed = []
    for storage, stats in ((stores.remote, orphans.objects), (stores.local, orphans.files)):
        for stat in stats:
            try:
                storage.delete(stat.key)  # type: ignore[union-attr]
            except StorageError as error:
                failed.append(f"{stat.key}: {error}")
    return failed


def _on_disk(stores: Stores, reference: str) -> bool:
    try:
        return not stores.where(reference).is_s3
    except InvalidReferenceError:  # a path outside the data folder (`ephitup orphans` reports it): not on this disk
        return False


@dataclass(frozen=True)
class Usage:
    disk_total: int
    disk_free: int
    by_folder: dict[str, int]  # uploads, podcasts, records, other: bytes under DATA_FOLDER
    s3_bytes: int | None  # None without S3
    s3_objects: int | None
    local_growth_per_day: float  # bytes a day the records say reached the disk, over the window
    window_days: float

    @property
    def days_left(self) -> float | None:
        return self.disk_free / self.local_growth_per_day if self.local_growth_per_day > 0 else None


def measure_usage(records: Records, stores: Stores, total: int, free: int, window_days: float = 30.0,
                  now: float | None = None) -> Usage:
    now = time.time() if now is None else now
    by_folder = {"uploads": 0, "podcasts": 0, "records": 0, "other": 0}
    for stat in stores.local.list():
        top = stat.key.split("/", 1)[0]
        name = top if top in ("uploads", "podcasts") else "records" if top.startswith(RECORDS_FILE) else "other"
        by_folder[name] += stat.size
    s3_bytes = s3_objects = None
    if stores.remote is not None:
        s3_bytes = s3_objects = 0
        for stat in listing(stores.remote):
            s3_bytes, s3_objects = s3_bytes + stat.size, s3_objects + 1
    since = now - window_days * 86400
    first, recent = now, 0
    for created_at, size, reference in records.stored_sizes():
        first = min(first, created_at)
        if created_at >= since and _on_disk(stores, reference):
            recent += size
    days = max(min(window_days, (now - first) / 86400), 1 / 24)
    return Usage(total, free, by_folder, s3_bytes, s3_objects, recent / days, days)
