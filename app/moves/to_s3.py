"""``migrate to-s3``: every episode's audio from the disk to S3, plus audio files no record knows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from app.episodes import AUDIO_TYPES, LOCAL_EPISODES, Episodes
from app.key_merge import Row, merged
from app.moves.base import Move
from app.moves.plan import Action, Item, OrphanFile, Plan
from app.moves.runner import Handler
from app.records import Episode, RecordNotFoundError
from app.recovery.describing import of_episode
from app.storage import ChecksumMismatchError, StorageError, build_episode_asset_key
from app.storage.checksums import digest_file
from app.storage.references import sanitize_segment
from app.storage.sorted_entries import KeySort

ORPHAN_PREFIX = "episodes/_orphans/"
LOCAL, UPLOAD, KEPT = "local", "upload", "kept"  # the sort's one group; what a record keeps at a key
MISSING = "episode {}: {} is missing on disk"


def kept_copy_key(s3_key: str) -> str:
    """Where the seed's layout kept an S3 episode's audio on the disk (what ``--keep-local`` leaves there)."""
    name = PurePosixPath(s3_key).name
    return f"{LOCAL_EPISODES}{PurePosixPath(name).stem}/audio/{name}"


def orphan_key(local_key: str) -> str:
    """Where an audio file no record knows is kept safe in S3."""
    return ORPHAN_PREFIX + "/".join(sanitize_segment(part, "_", record_id=False)
                                    for part in PurePosixPath(local_key[len(LOCAL_EPISODES):]).parts)


class ToS3(Move):
    def __init__(self, episodes: Episodes, keep_local: bool = False) -> None:
        super().__init__(episodes)
        self.keep_local = keep_local

    def plan(self, held: int | None = None) -> Plan:
        """The records' files on the disk merged with its listing in key order (``app.key_merge``): no stat per
        record, and nothing asked of S3 (a rerun with nothing local left makes no S3 request at all)."""
        plan = Plan(held=held)
        with KeySort(columns=5) as on_disk:
            on_disk.add(self._disk_references(plan))
            for key, stat, known in merged(self.local.list(LOCAL_EPISODES), on_disk.in_order(LOCAL)):
                uploads = [row for row in known if row[1] == UPLOAD]
                for _, _, record_id, dest, size, reference in uploads:
                    if stat is None:
                        plan.problems.append(MISSING.format(record_id, reference))
                    else:
                        plan.add(Item(Action.UPLOAD, key, dest, size, record_id))
                if stat is not None and not known and PurePosixPath(key).suffix in set(AUDIO_TYPES.values()):
                    plan.add(OrphanFile(Action.ORPHAN, key, orphan_key(key), stat.size))
        return plan

    def _disk_references(self, plan: Plan) -> Iterator[Row]:
        """What the records keep on the disk: (LOCAL, key, UPLOAD or KEPT, episode id, S3 key, size, reference).
        An episode in S3 whose local copy is still held is planned here (FINISH); a file outside the listed
        folder is asked about on its own."""
        for episode, location in self.located(plan):
            if location.is_s3:
                yield LOCAL, kept_copy_key(location.key), KEPT, episode.id, "", 0, ""  # a kept copy: no orphan
                if episode.local_key:  # switched to S3, local copy not yet let go of
                    yield LOCAL, episode.local_key, KEPT, episode.id, "", 0, ""
                    plan.add(Item(Action.FINISH, episode.local_key, location.key, 0, episode.id))
                continue
            dest = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(location.key).name)
            if location.key.startswith(LOCAL_EPISODES):
                yield LOCAL, location.key, UPLOAD, episode.id, dest, episode.size, episode.audio_ref
            elif self.local.exists(location.key):
                plan.add(Item(Action.UPLOAD, location.key, dest, episode.size, episode.id))
            else:
                plan.problems.append(MISSING.format(episode.id, episode.audio_ref))

    def handlers(self, plan: Plan) -> Mapping[Action, Handler]:
        return {Action.UPLOAD: self.upload, Action.FINISH: self.finish}

    def upload(self, item: Item) -> bool:
        """The episode's audio to S3 (create-only: a killed run's upload is found, not sent again), then its
        record switched to it."""
        record = self.records.episode(item.record_id)
        path = self.local.path(item.source)
        stat, held = self.save_once(item.dest, path, record.content_type, self._sha256(path, record),
                                    of_episode(record))
        try:
            self.episodes.commit_remote(record, item.dest, stat.etag, keep_local=self.keep_local)
        except RecordNotFoundError:  # deleted by the live app during the upload: leave no object behind
            self.remote.delete(item.dest)
            raise
        return held

    def keep_orphan(self, item: OrphanFile) -> bool:
        """A file no record knows stays on the disk and is met by every run: one HEAD before sending it."""
        path = self.local.path(item.source)
        sha256 = self._sha256(path, None)
        if self.remote_matches(item.dest, sha256):
            return True
        content_type = self.local.stat(item.source).content_type or "application/octet-stream"
        self.remote.save_file(item.dest, path, content_type, expected_sha256=sha256)
        return False

    def finish(self, item: Item) -> bool:
        episode = self.records.episode(item.record_id)
        held = self.remote_stat(item.dest)
        if held is None or held.size != episode.size:
            raise StorageError(f"s3 holds no full copy of {item.dest}: keeping {item.source}")
        self.episodes.release_local_copy(episode, keep=self.keep_local)
        return False

    @staticmethod
    def _sha256(path: Path, record: Episode | None) -> str:
        """The record's SHA-256 when the file is as the record left it (size, not modified since): no hashing.

        A file changed since is hashed, and refused when it no longer matches its record."""
        info = path.stat()
        if record is not None and info.st_size == record.size and info.st_mtime <= record.updated_at:
            return record.sha256
        sha256 = digest_file(path).sha256_hex
        if record is not None and sha256 != record.sha256:
            raise ChecksumMismatchError(f"{path.name} has SHA-256 {sha256}, its record says {record.sha256}: "
                                        "nothing was uploaded")
        return sha256
