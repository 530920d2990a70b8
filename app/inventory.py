"""What the records know against what the stores hold: the orphans on each side, and the space used.

One pass over the records, one walk of the data folder and at most one S3 listing per prefix; nothing
here changes anything (``remove`` is the one writer, and only for what ``find_orphans`` returned).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.databases import RECORDS_FILE
from app.records import Records
from app.storage import InvalidReferenceError, ObjectStat, Storage, StorageError
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


def referenced(records: Records, stores: Stores) -> tuple[set[str], set[str], list[tuple[str, str]]]:
    """(local keys, S3 keys, [(record, reference)]) of every reference a record holds."""
    local: set[str] = set()
    remote: set[str] = set()
    every: list[tuple[str, str]] = []
    for episode in records.episodes():
        for reference in (episode.audio_ref, episode.local_key, episode.superseded_ref):
            if reference:
                every.append((f"episode {episode.id}", reference))
    every += [(f"source {source.id}", source.ref) for source in records.sources()]
    for _, reference in every:
        try:
            location = stores.where(reference)
        except InvalidReferenceError:
            continue
        (remote if location.is_s3 else local).add(location.key)
    return local, remote, every


def listing(storage: Storage) -> list[ObjectStat]:
    """Everything the app may have written to this store (one listing per prefix)."""
    return [stat for prefix in PREFIXES[storage.kind] for stat in storage.list(prefix)]


def find_orphans(records: Records, stores: Stores, grace_seconds: float, now: float | None = None) -> Orphans:
    now = time.time() if now is None else now
    local_keys, remote_keys, every = referenced(records, stores)
    found = Orphans()
    stores_and_keys: list[tuple[Storage, set[str], list[ObjectStat]]] = [(stores.local, local_keys, found.files)]
    if stores.remote is not None:
        stores_and_keys.append((stores.remote, remote_keys, found.objects))
    for storage, keys, orphans in stores_and_keys:
        for stat in listing(storage):
            if stat.key in keys or stat.key.startswith(KEPT_ORPHANS):
                continue
            (found.young if now - stat.last_modified.timestamp() < grace_seconds else orphans).append(stat)
    missing: dict[tuple[str, str], str] = {}
    for record, reference in every:
        try:
            storage, key = stores.locate(reference)
            if not storage.exists(key):
                missing[(record, reference)] = f"{record}: {reference}"
        except (StorageError, InvalidReferenceError) as error:
            missing[(record, reference)] = f"{record}: {reference} ({error})"
    if missing:  # the live app deletes the record first, then the file: one deleted meanwhile is not missing
        still = set(referenced(records, stores)[2])
        found.missing = [text for pair, text in missing.items() if pair in still]
    return found


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
    remote = listing(stores.remote) if stores.remote is not None else None
    since = now - window_days * 86400
    first, recent = now, 0
    for created_at, size, reference in records.stored_sizes():
        first = min(first, created_at)
        if created_at >= since and _on_disk(stores, reference):
            recent += size
    days = max(min(window_days, (now - first) / 86400), 1 / 24)
    return Usage(total, free, by_folder, sum(s.size for s in remote) if remote is not None else None,
                 len(remote) if remote is not None else None, recent / days, days)
