"""What every move shares: the records and both stores, a plan, and a handler for each of its actions."""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

from app.episodes import Episodes
from app.moves.plan import Action, OrphanFile, Plan, Report
from app.moves.runner import Handler, Subscriber, Task, run
from app.records import Episode
from app.storage import InvalidReferenceError, Location, ObjectExistsError, ObjectStat, Storage, StorageError
from app.storage.descriptions import Description


class Move(abc.ABC):
    def __init__(self, episodes: Episodes) -> None:
        if episodes.remote is None:
            raise StorageError("moving audio needs S3 settings (S3_BUCKET_NAME and both AWS keys)")
        self.episodes, self.records, self.local = episodes, episodes.records, episodes.local
        self.remote: Storage = episodes.remote

    @abc.abstractmethod
    def plan(self, held: int | None = None) -> Plan:
        """What is left to do, decided from the records and the data folder (and at most one S3 listing); a plan
        only shown (a dry run) keeps its first ``held`` units of work (``Plan.held``)."""

    @abc.abstractmethod
    def handlers(self, plan: Plan) -> Mapping[Action, Handler]:
        """The function that carries out each action this move plans."""

    def run(self, plan: Plan, concurrency: int, on_done: Subscriber = lambda *_: None) -> Report:
        handlers = self.handlers(plan)
        tasks: list[Task] = [(item, functools.partial(handlers[item.action], item)) for item in plan.items]
        tasks += [(orphan, functools.partial(self.keep_orphan, orphan)) for orphan in plan.orphans]
        return run(tasks, concurrency, on_done)

    def keep_orphan(self, orphan: OrphanFile) -> bool:
        """Only ``migrate to-s3`` plans orphan files; a move that plans none never gets one."""
        raise NotImplementedError(f"{type(self).__name__} plans no orphan files")

    def located(self, plan: Plan) -> Iterator[tuple[Episode, Location]]:
        """Every episode with where its audio is; what cannot be located goes to the plan's problems."""
        for episode in self.records.every_episode():
            try:
                location = self.episodes.stores.where(episode.audio_ref)
            except InvalidReferenceError as error:
                plan.problems.append(f"episode {episode.id}: {error}")
                continue
            if location.is_s3 and not self.remote.holds(location.bucket or ""):
                plan.problems.append(f"episode {episode.id}: {episode.audio_ref} is in another bucket")
                continue
            yield episode, location

    def remote_listing(self, prefix: str) -> dict[str, ObjectStat]:
        """Everything under ``prefix`` in one paginated listing: size and ETag per key."""
        return {stat.key: stat for stat in self.remote.list(prefix)}

    def held_copy(self, listing: dict[str, ObjectStat], key: str, size: int, sha256: str) -> ObjectStat | None:
        """S3's object at ``key`` when it holds these very bytes (a rerun): the listing says the size, and one
        HEAD, only for a key the listing shows, the SHA-256 its upload recorded. For files every run meets
        again (sources the single side keeps): one listing, not a HEAD or an upload each."""
        held = listing.get(key)
        if held is not None and held.size == size and self.remote_matches(key, sha256):
            return held
        return None

    def save_once(self, key: str, path: Path, content_type: str, sha256: str,
                  description: Description | None = None) -> tuple[ObjectStat, bool]:
        """Upload a file whose record then moves to S3 unless S3 holds these very bytes at ``key`` already (a run
        killed after this upload, before the switch); True: held.

        Nothing is listed or asked first: the PUT is create-only, and only where S3 refuses it (an object is
        there) is that object checked: a HEAD for the SHA-256 its upload recorded, a second for its ETag when
        it is kept. A listing would cost a round trip per 1000 keys of the
        whole bucket before the first upload, to find at most the few uploads a killed run left."""
        try:
            return self.remote.save_file(key, path, content_type, expected_sha256=sha256, if_absent=True,
                                         description=description), False
        except ObjectExistsError:
            if self.remote_matches(key, sha256):
                return self.remote.stat(key), True
            return self.remote.save_file(key, path, content_type, expected_sha256=sha256,  # other bytes
                                         description=description), False

    def remote_matches(self, key: str, sha256: str) -> bool:
        """Whether S3 holds content with this SHA-256 at ``key`` (the twin of ``local_matches``): one HEAD, for
        the SHA-256 every upload records."""
        try:
            return self.remote.content_sha256(key) == sha256
        except FileNotFoundError:
            return False

    def remote_stat(self, key: str) -> ObjectStat | None:
        try:
            return self.remote.stat(key)
        except FileNotFoundError:
            return None

    def local_matches(self, key: str, episode: Episode) -> bool:
        if not self.local.exists(key):
            return False
        digest = self.local.digest(key)
        return digest.size == episode.size and digest.sha256_hex == episode.sha256
