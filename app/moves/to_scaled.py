"""``migrate to-scaled``: a single-server environment's files and records, ready for the scaled topology.

Run in the single service (its disk, its S3 settings) with the new Render Postgres as the target. The
episodes' audio must be in S3 already (``migrate to-s3`` first). Source uploads go from the disk to S3
under the same ``uploads/`` keys, each verified against the SHA-256 of the file; then the records are
copied into PostgreSQL with the sources pointing at S3, and the copy is checked (every id, size and
SHA-256). Nothing on the single side changes: its records and files stay as they are, so going back is
switching the service back. A rerun skips what is done (one listing; inserts that exist are left).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from app.episodes import Episodes
from app.moves.base import Move
from app.moves.plan import Action, Item, Plan
from app.moves.runner import Handler
from app.records import Records
from app.recovery.describing import of_source
from app.storage import ObjectStat, StorageError
from app.storage.checksums import digest_file

UPLOADS = "uploads/"


class ScaledCopyMismatchError(StorageError):
    """The records in PostgreSQL differ from the ones on the disk after the copy."""


class ToScaled(Move):
    def __init__(self, episodes: Episodes, target: Records) -> None:
        super().__init__(episodes)
        self.target = target

    def plan(self, held: int | None = None) -> Plan:
        plan = Plan(held=held)
        for episode, location in self.located(plan):
            if not location.is_s3:
                plan.problems.append(f"episode {episode.id}: its audio is on the disk ({episode.audio_ref}): "
                                     "run `ephitup migrate to-s3` first")
        for source in self.records.sources():
            location = self.episodes.stores.where(source.ref)
            if not location.is_s3:
                plan.add(Item(Action.UPLOAD, location.key, location.key, source.size, source.id))
        if plan.total:
            plan.listing = self.remote_listing(UPLOADS)
        return plan

    def handlers(self, plan: Plan) -> Mapping[Action, Handler]:
        return {Action.UPLOAD: functools.partial(self.upload_source, plan.listing)}

    def upload_source(self, listing: dict[str, ObjectStat], item: Item) -> bool:
        """The file to S3 under its own key, unless S3 holds these very bytes (a rerun)."""
        path = self.local.path(item.source)
        sha256 = digest_file(path).sha256_hex
        if self.held_copy(listing, item.dest, item.size, sha256) is not None:
            return True
        source = self.records.source(item.record_id)
        self.remote.save_file(item.dest, path, source.content_type, expected_sha256=sha256,
                              description=of_source(source))
        return False

    def copy_records(self) -> tuple[int, int]:
        """Every record into the target (sources pointing at S3), then the copy checked; (episodes, sources)."""
        sources = []
        for source in self.records.sources():
            location = self.episodes.stores.where(source.ref)
            sources.append(source if location.is_s3 else source.moved_to(self.remote.reference(location.key)))
        episodes = self.records.episodes()
        self.target.adopt(episodes, sources)
        theirs = {e.id: (e.size, e.sha256, e.audio_ref) for e in self.target.episodes()}
        ours = {e.id: (e.size, e.sha256, e.audio_ref) for e in episodes}
        if {k: theirs.get(k) for k in ours} != ours:
            raise ScaledCopyMismatchError("the episodes in PostgreSQL differ from the disk's after the copy")
        their_sources = {s.id: (s.size, s.ref) for s in self.target.sources()}
        if {s.id: their_sources.get(s.id) for s in sources} != {s.id: (s.size, s.ref) for s in sources}:
            raise ScaledCopyMismatchError("the sources in PostgreSQL differ from the disk's after the copy")
        return len(episodes), len(sources)
