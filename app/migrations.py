"""Moving an environment's audio between the disk and S3, and repairing old references and keys.

Every move follows the finalize order: the data is copied and verified first, the record is switched
second, and the old copy is deleted last. A process killed at any instant therefore leaves every
record pointing at audio that exists; a rerun sees what is already done (from one S3 listing, not a
HEAD per file) and finishes the rest.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TextIO

from app.episodes import AUDIO_TYPES, Episodes, episode_folder, local_audio_key
from app.records import Episode
from app.storage import InvalidReferenceError, Location, StorageError, build_episode_asset_key, parse_reference
from app.storage.base import ChecksumMismatchError, ChunkReader, ObjectStat
from app.storage.checksums import digest_file
from app.storage.references import sanitize_segment
from app.storage.s3 import S3Storage

LOCAL_EPISODES = "podcasts/episodes/"
ORPHAN_PREFIX = "episodes/_orphans/"
DISK_HEADROOM = 256 * 1024 * 1024  # never fill the disk to the last byte: the app still writes there


@dataclass(frozen=True)
class Item:
    """One unit of work: ``action`` moves ``source`` to ``dest`` for an episode (or an orphan file)."""

    action: str  # upload | finish | orphan | download | relink | copy
    source: str
    dest: str
    size: int
    episode_id: str | None = None

    def describe(self) -> str:
        return f"{self.action:8} {self.source} -> {self.dest} ({self.size} bytes)"


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what cannot be done, and why
    listing: dict[str, ObjectStat] = field(default_factory=dict)  # S3 as the plan saw it (one listing)

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.items)

    def print(self, out: TextIO, first: int = 10) -> None:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.action] = counts.get(item.action, 0) + 1
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing to do"
        print(f"plan: {len(self.items)} items ({summary}), {self.bytes / 2**20:.1f} MiB", file=out)
        for item in self.items[:first]:
            print(f"  {item.describe()}", file=out)
        if len(self.items) > first:
            print(f"  ... and {len(self.items) - first} more", file=out)
        for problem in self.problems:
            print(f"  cannot: {problem}", file=out)


@dataclass
class Report:
    done: list[Item] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)  # already in place: nothing transferred
    failed: list[tuple[Item, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.done)

    def print(self, out: TextIO) -> None:
        rate = self.bytes / 2**20 / self.seconds if self.seconds else 0.0
        print(f"done: {len(self.done)} moved, {len(self.skipped)} already in place, {len(self.failed)} failed, "
              f"{self.bytes / 2**20:.1f} MiB in {self.seconds:.1f}s ({rate:.1f} MiB/s)", file=out)
        for item, error in self.failed:
            print(f"  failed: {item.describe()}: {error}", file=out)


class Progress:
    """A bar (files, bytes, rate) on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, total_files: int, total_bytes: int, out: TextIO = sys.stderr, interval: float = 2.0) -> None:
        self.total_files, self.total_bytes, self.out, self.interval = total_files, total_bytes, out, interval
        self.files = self.bytes = 0
        self.started = self.last = time.monotonic()
        self.tty = out.isatty()
        self.lock = threading.Lock()

    def advance(self, size: int) -> None:
        with self.lock:
            self.files += 1
            self.bytes += size
            now = time.monotonic()
            if self.tty or now - self.last >= self.interval or self.files == self.total_files:
                self.last = now
                self._show(now)

    def _show(self, now: float) -> None:
        rate = self.bytes / 2**20 / max(now - self.started, 1e-6)
        text = (f"{self.files}/{self.total_files} files, {self.bytes / 2**20:.1f}/{self.total_bytes / 2**20:.1f} MiB, "
                f"{rate:.1f} MiB/s")
        if self.tty:
            filled = int(30 * self.files / max(self.total_files, 1))
            self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}")
            if self.files == self.total_files:
                self.out.write("\n")
        else:
            self.out.write(f"progress: {text}\n")
        self.out.flush()


class Migrator:
    def __init__(self, episodes: Episodes, concurrency: int = 8, out: TextIO = sys.stderr) -> None:
        if episodes.remote is None:
            raise StorageError("migrations need S3 settings (S3_BUCKET_NAME and both AWS keys)")
        if concurrency < 1:
            raise ValueError(f"--concurrency {concurrency}: must be at least 1")
        self.episodes, self.records, self.local = episodes, episodes.records, episodes.local
        self.remote: S3Storage = episodes.remote
        self.concurrency, self.out = concurrency, out

    # -- to S3 ------------------------------------------------------------------------------------

    def plan_to_s3(self) -> Plan:
        plan = Plan()
        referenced: set[str] = set()
        for episode, location in self._located(plan):
            if location.is_s3:
                if episode.local_key:  # switched to S3, local copy not yet deleted
                    referenced.add(episode.local_key)
                    plan.items.append(Item("finish", episode.local_key, location.key, 0, episode.id))
                continue
            referenced.add(location.key)
            if not self.local.exists(location.key):
                plan.problems.append(f"episode {episode.id}: {episode.audio_ref} is missing on disk")
                continue
            dest = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(location.key).name)
            plan.items.append(Item("upload", location.key, dest, episode.size, episode.id))
        for stat in self.local.list(LOCAL_EPISODES):
            if stat.key not in referenced and PurePosixPath(stat.key).suffix in set(AUDIO_TYPES.values()):
                dest = ORPHAN_PREFIX + "/".join(
                    sanitize_segment(part, "_", record_id=False)
                    for part in PurePosixPath(stat.key[len(LOCAL_EPISODES):]).parts)
                plan.items.append(Item("orphan", stat.key, dest, stat.size))
        if plan.items:  # a rerun with nothing local left makes no S3 request at all
            plan.listing = self._remote_listing("episodes/")
        return plan

    def to_s3(self, plan: Plan, keep_local: bool = False) -> Report:
        remote = plan.listing

        def move(item: Item) -> bool:
            if item.action == "finish":
                episode = self.records.episode(item.episode_id)  # type: ignore[arg-type]
                held = remote.get(item.dest)
                if held is None or held.size != episode.size:
                    raise StorageError(f"s3 holds no full copy of {item.dest}: keeping {item.source}")
                self.episodes.release_local_copy(episode, keep=keep_local)
                return False
            record = self.records.episode(item.episode_id) if item.episode_id else None  # orphans have none
            expected = record.sha256 if record else None
            source, path = self.local.stat(item.source), self.local.path(item.source)
            held = remote.get(item.dest)
            skipped = False
            if held is not None and held.size == source.size:  # maybe there already: the listed ETag tells
                digest = digest_file(path, self.remote.part_size)
                if expected and digest.sha256_hex != expected:
                    raise ChecksumMismatchError(f"{item.source} does not match its record's SHA-256: left as it is")
                skipped = digest.matches_etag(held.etag)
            if held and skipped:
                etag = held.etag
            else:
                etag = self.remote.save_file(item.dest, path, source.content_type or "application/octet-stream",
                                             expected_sha256=expected).etag
            if record:
                self.episodes.commit_remote(record, item.dest, etag, keep_local=keep_local)
            return skipped

        return self._run(plan, move)

    # -- to local ---------------------------------------------------------------------------------

    def plan_to_local(self, delete_remote: bool = False) -> Plan:
        plan = Plan(listing=self._remote_listing("episodes/") if delete_remote else {})
        for episode, location in self._located(plan):
            if not location.is_s3:
                key = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(location.key).name)
                if key in plan.listing:  # back on disk, but a run killed before its delete left the S3 copy
                    plan.items.append(Item("delete", key, "", 0, episode.id))
                continue
            extension = AUDIO_TYPES.get(episode.content_type, PurePosixPath(location.key).suffix or ".mp3")
            dest = local_audio_key(episode_folder(episode.name, episode.id), extension)
            action = "relink" if self._local_matches(dest, episode) else "download"
            plan.items.append(Item(action, location.key, dest, episode.size, episode.id))
        return plan

    def missing_space(self, plan: Plan) -> int:
        """Bytes the disk lacks for the plan's downloads (0 when they fit with headroom)."""
        needed = sum(item.size for item in plan.items if item.action == "download") + DISK_HEADROOM
        self.local.root.mkdir(parents=True, exist_ok=True)
        return max(0, needed - shutil.disk_usage(self.local.root).free)

    def to_local(self, plan: Plan, delete_remote: bool = False) -> Report:
        def move(item: Item) -> bool:
            if item.action == "delete":  # the record already points at the disk
                self.remote.delete(item.source)
                return False
            episode = self.records.episode(item.episode_id)  # type: ignore[arg-type]
            skipped = self._local_matches(item.dest, episode)
            if not skipped:
                chunks = self.remote.open_range(item.source)
                self.local.save_stream(item.dest, ChunkReader(chunks), episode.content_type)
                if not self._local_matches(item.dest, episode):
                    self.local.delete(item.dest)
                    raise StorageError(f"download of {item.source} does not match its record's SHA-256")
            self.records.update_episode(episode.id, audio_ref=self.local.reference(item.dest), etag=None,
                                        local_key=None, state="stored")
            if delete_remote:
                self.remote.delete(item.source)
            return skipped

        return self._run(plan, move)

    # -- fix keys ---------------------------------------------------------------------------------

    def plan_fix_keys(self) -> Plan:
        plan = Plan()
        for episode, location in self._located(plan):
            if episode.superseded_ref:  # a run killed after the switch: the old copy still has to go
                old = parse_reference(episode.superseded_ref, self.local.root)
                plan.items.append(Item("cleanup", old.key, location.key, 0, episode.id))
                continue
            if location.is_s3:
                canonical = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(location.key).name)
                if location.key != canonical:
                    plan.items.append(Item("copy", location.key, canonical, episode.size, episode.id))
                elif episode.audio_ref != self.remote.reference(canonical):  # e.g. an access-point ARN
                    plan.items.append(Item("relink", location.key, canonical, 0, episode.id))
            elif episode.audio_ref != self.local.reference(location.key):  # a legacy absolute path
                if self.local.exists(location.key):
                    plan.items.append(Item("relink", episode.audio_ref, location.key, 0, episode.id))
                else:
                    plan.problems.append(f"episode {episode.id}: {episode.audio_ref} is not at "
                                         f"{self.local.reference(location.key)} under DATA_FOLDER")
        return plan

    def fix_keys(self, plan: Plan) -> Report:
        def move(item: Item) -> bool:
            episode = self.records.episode(item.episode_id)  # type: ignore[arg-type]
            if item.action == "copy":
                already = self._remote_stat(item.dest)
                if already is None or already.size != episode.size:
                    self.remote.copy(item.source, item.dest)  # verified against the upload's SHA-256
                self.records.update_episode(episode.id, audio_ref=self.remote.reference(item.dest),
                                            superseded_ref=episode.audio_ref)
                item = Item("cleanup", item.source, item.dest, 0, episode.id)
            if item.action == "cleanup":
                self.remote.delete(item.source)
                self.records.update_episode(episode.id, durable=False, superseded_ref=None)  # a rerun redoes it
            elif self.episodes.locate(episode.audio_ref)[0] is self.remote:
                self.records.update_episode(episode.id, audio_ref=self.remote.reference(item.dest))
            else:
                self.records.update_episode(episode.id, audio_ref=self.local.reference(item.dest))
            return False

        return self._run(plan, move)

    # -- shared -----------------------------------------------------------------------------------

    def _run(self, plan: Plan, move: Callable[[Item], bool]) -> Report:
        report = Report()
        progress = Progress(len(plan.items), plan.bytes, self.out)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ephitup-migrate") as pool:
            futures = {pool.submit(move, item): item for item in plan.items}
            for future in as_completed(futures):
                item = futures[future]
                try:
                    (report.skipped if future.result() else report.done).append(item)
                except (StorageError, OSError, KeyError, ValueError) as error:
                    report.failed.append((item, f"{type(error).__name__}: {error}"))
                progress.advance(item.size)
        report.seconds = time.monotonic() - started
        return report

    def _remote_listing(self, prefix: str) -> dict[str, ObjectStat]:
        """Everything under ``prefix`` in one paginated listing: size and ETag per key."""
        return {stat.key: stat for stat in self.remote.list(prefix)}

    def _remote_stat(self, key: str) -> ObjectStat | None:
        try:
            return self.remote.stat(key)
        except FileNotFoundError:
            return None

    def _located(self, plan: Plan) -> Iterator[tuple[Episode, Location]]:
        """Every episode with where its audio is; what cannot be located goes to the plan's problems."""
        for episode in self.records.episodes():
            try:
                location = parse_reference(episode.audio_ref, self.local.root)
            except InvalidReferenceError as error:
                plan.problems.append(f"episode {episode.id}: {error}")
                continue
            if location.is_s3 and not self.remote.holds(location.bucket or ""):
                plan.problems.append(f"episode {episode.id}: {episode.audio_ref} is in another bucket")
                continue
            yield episode, location

    def _local_matches(self, key: str, episode: Episode) -> bool:
        if not self.local.exists(key):
            return False
        digest = self.local.digest(key)
        return digest.size == episode.size and digest.sha256_hex == episode.sha256


def open_migrator(concurrency: int, out: TextIO = sys.stderr) -> tuple[Migrator, Callable[[], None]]:
    """A migrator over the environment's records and stores, and a function that closes them."""
    from app.records import Records
    from app.settings import Settings, SettingsError
    from app.storage import LocalStorage

    settings = Settings.from_env()
    missing = settings.missing_s3_settings()
    if missing:
        raise SettingsError(f"migrations need S3: {', '.join(missing)} not set (run with the app's environment, "
                            "e.g. `set -a; . ./.env; set +a`)")
    records = Records(settings.data_folder / "app.db")
    episodes = Episodes(records, LocalStorage(settings.data_folder), S3Storage(settings))
    return Migrator(episodes, concurrency, out), records.close
