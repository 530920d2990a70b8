"""Episodes: the finalize step by which audio reaches storage, and the reconciler's single pass.

Finalize order (DESIGN.md): local file → (S3) upload with checksum and verify → commit the record →
only then delete the local copy. The record exists, pointing at the local file, before any upload
starts, so at every instant it points at audio that exists; a crash anywhere leaves at worst a
pending upload or a spare local copy, both of which ``reconcile`` finishes.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from app.records import Episode, RecordNotFoundError, Records
from app.recovery.describing import of_episode
from app.recovery.tombstones import Tombstones
from app.storage import InvalidReferenceError, StorageError, StorageUnavailableError, build_episode_asset_key
from app.storage.checksums import Readable, digest_file
from app.storage.descriptions import Description
from app.storage.stores import Stores

log = logging.getLogger("ephitup.episodes")

AUDIO_TYPES = {
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a",
    "audio/aac": ".aac", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/ogg": ".ogg",
    "audio/webm": ".webm", "audio/flac": ".flac",
}
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 15 * 60.0
LOCAL_EPISODES = "podcasts/episodes/"
APP_FOLDER = re.compile(r"-(?P<id>[0-9a-f]{8})$")  # what episode_folder() appends
FINALIZE_LEASE_SECONDS = 300.0  # a new record is the API's to finalize; the reconciler waits this long
DIRECT_UPLOAD_ATTEMPTS = 3  # scaled: tries within one request before it answers 503
DIRECT_UPLOAD_BACKOFF = 0.5  # seconds, times the attempt number
SPOOL_CHUNK = 1024 * 1024


class EpisodeDeletedError(Exception):
    """The episode was deleted while it was being finalized; nothing of it is left."""


def episode_folder(name: str, episode_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "episode"
    return f"{slug}-{episode_id[:8]}"


def local_audio_key(folder: str, extension: str) -> str:
    """The seed's layout: ``podcasts/episodes/<name>/audio/<name>.mp3``."""
    return f"podcasts/episodes/{folder}/audio/{folder}{extension}"


@dataclass
class ReconcileReport:
    uploaded: list[str] = field(default_factory=list)
    still_pending: list[str] = field(default_factory=list)
    local_copies_removed: list[str] = field(default_factory=list)


class Episodes:
    """Episode audio through its life: finalize, retry, let go of local copies, delete."""

    def __init__(self, records: Records, stores: Stores, clock: Callable[[], float] = time.time,
                 observe: Callable[[str, int], None] = lambda outcome, uploaded_bytes: None) -> None:
        """``observe(outcome, uploaded_bytes)`` is told how each finalize ended: stored, pending or deleted."""
        self.records, self.stores, self.clock, self.observe = records, stores, clock, observe
        self.local, self.remote = stores.local, stores.remote
        self.tombstones = Tombstones(stores.durable)

    def create(self, name: str, user_id: str | None, audio: Readable, content_type: str) -> Episode:
        """Store finished audio and finalize it (the API's path; a generator's worker uses the same)."""
        episode_id = uuid.uuid4().hex
        key = local_audio_key(episode_folder(name, episode_id), AUDIO_TYPES[content_type])
        described = Description(episode_id, "episode", name, content_type, time.time(), user_id=user_id)
        if self.stores.scaled:
            return self._create_in_s3(described, audio, PurePosixPath(key).name)
        self.local.save_stream(key, audio, content_type, description=described)
        digest = self.local.digest(key)
        episode = self.records.add_episode(
            id=episode_id, name=name, user_id=user_id, audio_ref=self.local.reference(key),
            local_key=key if self.remote else None, content_type=content_type, size=digest.size,
            sha256=digest.sha256_hex, state="pending_upload" if self.remote else "stored",
            next_attempt_at=self.clock() + FINALIZE_LEASE_SECONDS, created_at=described.created_at,
        )
        if self.remote:
            return self.finalize(episode)
        self.observe("stored", 0)  # on the disk, where it belongs: nothing uploaded
        return episode

    def _create_in_s3(self, described: Description, audio: Readable, filename: str) -> Episode:
        """Scaled: no record may point at an instance's disk, which a deploy or a restart wipes. The audio goes
        to S3 first (retried for a moment), and only then is it recorded, as stored. If S3 stays unreachable
        the request fails (503, Retry-After) and nothing is recorded: the client still holds the audio.
        A crash between upload and record leaves an object no record knows, for ``ephitup orphans``."""
        assert self.remote is not None
        episode_id, name, user_id, content_type = (described.id, described.name, described.user_id,
                                                   described.content_type)
        key = build_episode_asset_key(user_id, episode_id, filename)
        with tempfile.NamedTemporaryFile(prefix="ephitup-audio-") as spool:  # this request's only, then gone
            shutil.copyfileobj(audio, spool, SPOOL_CHUNK)  # type: ignore[misc]
            spool.flush()
            digest = digest_file(Path(spool.name))
            for attempt in range(1, DIRECT_UPLOAD_ATTEMPTS + 1):
                try:
                    stat = self.remote.save_file(key, Path(spool.name), content_type, expected_sha256=digest.sha256_hex,
                                                 description=described)
                    break
                except StorageUnavailableError:
                    if attempt == DIRECT_UPLOAD_ATTEMPTS:
                        self.observe("refused", 0)  # answered 503: the client keeps the audio
                        raise
                    time.sleep(DIRECT_UPLOAD_BACKOFF * attempt)
        try:
            episode = self.records.add_episode(
                id=episode_id, name=name, user_id=user_id, audio_ref=self.remote.reference(key), local_key=None,
                content_type=content_type, size=digest.size, sha256=digest.sha256_hex, state="stored",
                etag=stat.etag, created_at=described.created_at)
        except Exception:  # the records refused (a database outage answers 503): no object without its record
            self._forget_upload(key)
            raise
        self.observe("stored", digest.size)
        return episode

    def _forget_upload(self, key: str) -> None:
        assert self.remote is not None
        try:
            self.remote.delete(key)
        except StorageError as error:  # left for `ephitup orphans`, which finds objects no record knows
            log.warning("an upload whose record could not be written stays in S3: %s", error)

    def finalize(self, episode: Episode) -> Episode:
        """Upload a pending episode; on any failure keep it pending, playable from disk, and retry later.

        A delete that comes while the upload runs wins: the record is gone, so the upload's object and
        the local copy are removed here and ``EpisodeDeletedError`` tells the caller.
        """
        assert self.remote is not None and episode.local_key is not None
        key = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(episode.local_key).name)
        try:
            return self._upload_and_commit(episode, key)
        except RecordNotFoundError:
            self.observe("deleted", 0)
            self._discard(episode, key)
            raise EpisodeDeletedError(f"episode {episode.id} was deleted while it was being stored") from None

    def _upload_and_commit(self, episode: Episode, key: str) -> Episode:
        """Upload (or find the upload), verify, commit; any failure but the record's disappearance keeps the
        episode pending. A bug is re-raised once the episode is safely pending."""
        assert self.remote is not None and episode.local_key is not None
        try:
            if self.local.exists(episode.local_key):
                stat = self.remote.save_file(key, self.local.path(episode.local_key), episode.content_type,
                                             expected_sha256=episode.sha256, description=of_episode(episode))
            else:  # only S3 can still hold it (the local copy went after an upload that was not recorded)
                stat = self.remote.stat(key)
                if stat.size != episode.size:
                    raise StorageError(f"local copy {episode.local_key} is gone and S3 holds no full copy")
            stored = self.commit_remote(episode, key, stat.etag)
        except RecordNotFoundError:
            raise
        except Exception as error:
            self._retry_later(episode, error)
            self.observe("pending", 0)
            if isinstance(error, StorageError):
                return self.records.episode(episode.id)
            raise
        self.observe("stored", stat.size)
        return stored

    def _discard(self, episode: Episode, key: str) -> None:
        """What a finalize that lost the race with a delete leaves: its object, and the local copy."""
        assert self.remote is not None
        for storage, stored in ((self.remote, key), (self.local, episode.local_key)):
            try:
                storage.delete(stored)  # type: ignore[arg-type]
            except StorageError as error:
                log.warning("episode %s was deleted; its copy %s is left: %s", episode.id, stored, error)

    def commit_remote(self, episode: Episode, key: str, etag: str, keep_local: bool = False) -> Episode:
        """Point the record at a verified S3 object, and only then let go of the local copy."""
        assert self.remote is not None
        # A kept copy is not one to let go of: the record forgets it in the same write.
        local_key = None if keep_local else episode.local_key or self._local_key_of(episode)
        episode = self.records.mark_stored(episode.id, self.remote.reference(key), etag, local_key)
        return self.release_local_copy(episode)

    def _local_key_of(self, episode: Episode) -> str | None:
        location = self.stores.where(episode.audio_ref)
        return None if location.is_s3 else location.key

    def _retry_later(self, episode: Episode, error: Exception) -> None:
        delay = min(RETRY_BASE_SECONDS * 2**episode.attempts, RETRY_MAX_SECONDS)
        log.warning("episode %s stays pending (retry in %.0fs): %s", episode.id, delay, error)
        self.records.schedule_retry(episode.id, episode.attempts + 1, self.clock() + delay, str(error))

    def release_local_copy(self, episode: Episode, keep: bool = False) -> Episode:
        """Once the record points at S3: delete the local copy (unless kept), then forget it.

        The forgetting needs no fsync: lost to power loss, it only makes a rerun find the copy (gone or
        kept) and forget it again.
        """
        if episode.local_key:
            if not keep:
                self.local.delete(episode.local_key)
            episode = self.records.forget_local_copy(episode.id)
        return episode

    def remove_unrecorded_audio(self, recorded: Callable[[str], bool], written_before: float, start_after: str = "",
                                reached: Callable[[str], None] = lambda key: None) -> list[str]:
        """Audio files this app wrote whose record never came: a crash between writing and recording.

        Only files in the app's own layout (``<slug>-<id8>/audio/<slug>-<id8>.<ext>``) for whose id8
        ``recorded`` says no record exists: the request that wrote one never answered, so nobody was told it
        was stored. Other files (the seed's, orphans ``migrate to-s3`` keeps) are left alone, and so is
        anything written after ``written_before`` (an upload in progress whose record is about to come). Files
        are met in key order from ``start_after``; ``reached`` hears of each once it is dealt with.
        """
        removed = []
        for stat in self.local.list(LOCAL_EPISODES, start_after=start_after):
            parts = PurePosixPath(stat.key).parts
            mine = len(parts) == 5 and parts[3] == "audio" and PurePosixPath(parts[4]).stem == parts[2]
            match = APP_FOLDER.search(parts[2]) if mine else None
            if match and stat.last_modified.timestamp() < written_before and not recorded(match["id"]):
                self.local.delete(stat.key)
                removed.append(stat.key)
            reached(stat.key)
        return removed

    def delete(self, episode: Episode) -> None:
        """A tombstone, then the record, then the files: a crash then leaves at worst a file no record knows,
        never a dangling record, and no rebuild brings the episode back."""
        self.tombstones.bury(episode.id)
        self.records.delete_episode(episode.id)
        for reference in {episode.audio_ref, episode.local_key} - {None}:
            try:
                storage, key = self.stores.locate(reference)  # type: ignore[arg-type]
                storage.delete(key)
            except (StorageError, InvalidReferenceError) as error:
                log.warning("episode %s deleted; its audio %s was not: %s", episode.id, reference, error)

    def reconcile(self, force: bool = False) -> ReconcileReport:
        """One pass: upload what is due, and drop local copies that S3 already holds."""
        report = ReconcileReport()
        if self.remote is None:
            return report
        # A forced pass (at start) also takes what a crash left mid-finalize, leases and all: only where no
        # other instance can be finalizing it (SQLite is one server's). Otherwise each due upload is
        # claimed, so several instances never upload the same one.
        if force and self.records.engine == "sqlite":
            due = self.records.pending_uploads()
        else:
            due = self.records.claim_due_uploads(self.clock(), FINALIZE_LEASE_SECONDS)
        for episode in due:
            try:
                episode = self.finalize(episode)
            except EpisodeDeletedError:
                continue
            (report.uploaded if episode.state == "stored" else report.still_pending).append(episode.id)
        for episode in self.records.stored_with_local_copies():  # a crash came between commit and delete
            storage, key = self.stores.locate(episode.audio_ref)
            try:
                held = storage.stat(key).size == episode.size
            except StorageError as error:
                log.warning("episode %s keeps its local copy for now: %s", episode.id, error)
                continue
            if held:
                try:
                    self.release_local_copy(episode)
                except RecordNotFoundError:  # deleted meanwhile: the delete removed the copy
                    continue
                report.local_copies_removed.append(episode.id)
        return report
