"""The records rebuilt from what the stores hold: every described file becomes its record again.

``scan`` walks the data folder and the bucket (one listing per prefix; a HEAD per object, sixteen at a time,
for its metadata) and reads the tombstones. ``plan`` compares that with the records a database holds: what
to add, what to forget (deleted since: a tombstone), and which ids are held twice (the copy whose SHA-256
verifies wins, S3 before the disk, then the newest). ``apply`` writes it; every write is idempotent
(``INSERT ... ON CONFLICT DO NOTHING``), so a rebuild killed halfway is finished by running it again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.inventory import KEPT_ORPHANS, PREFIXES
from app.records import Episode, Records, Source
from app.recovery.tombstones import Tombstones
from app.storage import ObjectStat, Storage
from app.storage.descriptions import Description
from app.storage.stores import Stores

HEADS_AT_ONCE = 16


@dataclass(frozen=True)
class Copy:
    """One stored file and what it says about itself."""

    store: Storage
    key: str
    size: int
    etag: str
    modified: float
    description: Description

    @property
    def reference(self) -> str:
        return self.store.reference(self.key)

    def verifies(self) -> bool:
        """Its bytes have the SHA-256 its description names (read in full: asked only of an id held twice)."""
        return self.description.sha256 is None or self.store.digest(self.key).sha256_hex == self.description.sha256


@dataclass
class Scan:
    copies: dict[str, list[Copy]] = field(default_factory=lambda: defaultdict(list))  # by record id
    undescribed: list[str] = field(default_factory=list)  # references of files that say nothing of themselves
    deleted: set[str] = field(default_factory=set)  # ids whose deletion was acknowledged


@dataclass
class Plan:
    episodes: list[Episode] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)  # ids the database holds that were deleted since
    conflicts: list[str] = field(default_factory=list)  # one line each: where, and which copy won
    undescribed: list[str] = field(default_factory=list)
    cut_names: list[str] = field(default_factory=list)  # ids whose name S3's metadata limit shortened
    held: int = 0  # described records the database has already (a rerun, or a restored backup)
    unknown: list[str] = field(default_factory=list)  # ids the database holds that no file describes

    @property
    def changes(self) -> int:
        return len(self.episodes) + len(self.sources) + len(self.forget)


def scan(stores: Stores, progress: Callable[[int], None] = lambda seen: None) -> Scan:
    found = Scan(deleted=Tombstones(stores.durable).ids())
    seen = 0
    for store in _stores_to_scan(stores):
        for stat, description in _described(store):
            if description is None:
                found.undescribed.append(store.reference(stat.key))
            else:
                found.copies[description.id].append(
                    Copy(store, stat.key, stat.size, stat.etag, stat.last_modified.timestamp(), description))
            seen += 1
            progress(seen)
    return found


def _stores_to_scan(stores: Stores) -> list[Storage]:
    return ([] if stores.scaled else [stores.local]) + ([stores.remote] if stores.remote is not None else [])


def _described(store: Storage) -> Iterator[tuple[ObjectStat, Description | None]]:
    stats = (stat for prefix in PREFIXES[store.kind] for stat in store.list(prefix)
             if not stat.key.startswith(KEPT_ORPHANS))
    if store.kind == "local":
        yield from ((stat, store.description(stat.key)) for stat in stats)
        return
    with ThreadPoolExecutor(HEADS_AT_ONCE, thread_name_prefix="ephitup-rebuild") as heads:
        yield from heads.map(lambda stat: (stat, store.description(stat.key)), stats)


def plan(found: Scan, records: Records, stores: Stores) -> Plan:
    held = {episode.id for episode in records.episodes()} | {source.id for source in records.sources()}
    result = Plan(undescribed=found.undescribed, forget=sorted(held & found.deleted))
    for record_id, copies in sorted(found.copies.items()):
        if record_id in found.deleted:
            continue
        if record_id in held:
            result.held += 1
            continue
        winner = _choose(copies, result.conflicts)
        if winner.description.name_cut:
            result.cut_names.append(record_id)
        if winner.description.kind == "source":
            result.sources.append(_source(winner))
        else:
            result.episodes.append(_episode(winner, copies, stores))
    result.unknown = sorted(held - found.copies.keys() - found.deleted)
    return result


def _choose(copies: list[Copy], conflicts: list[str]) -> Copy:
    if len(copies) == 1:
        return copies[0]
    verified = [copy for copy in copies if copy.verifies()]
    winner = max(verified or copies, key=lambda copy: (copy.store.kind != "local", copy.modified))
    why = "its SHA-256 verifies" if verified else "none verifies: the newest in S3 first"
    others = ", ".join(copy.reference for copy in copies if copy is not winner)
    conflicts.append(f"{winner.description.kind} {winner.description.id}: kept {winner.reference} ({why}); "
                     f"also in {others}")
    return winner


def _episode(winner: Copy, copies: list[Copy], stores: Stores) -> Episode:
    """Stored where it is found; a copy only on the disk, with S3 on, is an upload still to make."""
    described = winner.description
    local_copy = next((copy.key for copy in copies if copy.store.kind == "local"), None)
    pending = winner.store.kind == "local" and stores.remote is not None
    return Episode(
        id=described.id, name=described.name, user_id=described.user_id, audio_ref=winner.reference,
        local_key=local_copy if stores.remote is not None and not stores.scaled else None,
        content_type=described.content_type, size=winner.size, sha256=described.sha256 or "",
        etag=winner.etag if winner.store.kind != "local" else None,
        state="pending_upload" if pending else "stored", attempts=0, next_attempt_at=0.0, last_error=None,
        created_at=described.created_at, updated_at=described.created_at)


def _source(winner: Copy) -> Source:
    described = winner.description
    return Source(described.id, described.name, winner.reference, described.content_type, winner.size,
                  described.created_at)


def apply(result: Plan, records: Records) -> None:
    """Add what is missing and forget what was deleted; safe to repeat."""
    records.adopt(result.episodes, result.sources)
    for record_id in result.forget:
        records.delete_episode(record_id)
        records.delete_source(record_id)
