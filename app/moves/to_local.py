"""``migrate to-local``: every episode's audio from S3 back to the disk (optionally deleting the S3 copy)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import PurePosixPath

from app.episodes import AUDIO_TYPES, Episodes, episode_folder, local_audio_key
from app.moves.base import Move
from app.moves.plan import Action, Item, Plan
from app.moves.runner import Handler
from app.recovery.describing import of_episode
from app.storage import build_episode_asset_key
from app.storage.base import ChunkReader

DISK_HEADROOM = 256 * 1024 * 1024  # never fill the disk to the last byte: the app still writes there


class ToLocal(Move):
    def __init__(self, episodes: Episodes, delete_remote: bool = False) -> None:
        super().__init__(episodes)
        self.delete_remote = delete_remote

    def plan(self, held: int | None = None) -> Plan:
        plan = Plan(held=held, listing=self.remote_listing("episodes/") if self.delete_remote else {})
        for episode, location in self.located(plan):
            if not location.is_s3:
                key = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(location.key).name)
                if key in plan.listing:  # back on disk, but a run killed before its delete left the S3 copy
                    plan.add(Item(Action.DELETE, key, "", 0, episode.id))
                continue
            extension = AUDIO_TYPES.get(episode.content_type, PurePosixPath(location.key).suffix or ".mp3")
            dest = local_audio_key(episode_folder(episode.name, episode.id), extension)
            action = Action.RELINK if self.local_matches(dest, episode) else Action.DOWNLOAD
            plan.add(Item(action, location.key, dest, episode.size, episode.id))
        return plan

    def missing_space(self, plan: Plan) -> int:
        """Bytes the disk lacks for the plan's downloads (0 when they fit with headroom)."""
        needed = plan.sizes[Action.DOWNLOAD] + DISK_HEADROOM
        self.local.root.mkdir(parents=True, exist_ok=True)
        return max(0, needed - shutil.disk_usage(self.local.root).free)

    def handlers(self, plan: Plan) -> Mapping[Action, Handler]:
        return {Action.DOWNLOAD: self.download, Action.RELINK: self.download, Action.DELETE: self.delete}

    def download(self, item: Item) -> bool:
        episode = self.records.episode(item.record_id)
        skipped = self.local_matches(item.dest, episode)
        if not skipped:
            chunks = self.remote.open_range(item.source)
            self.local.save_stream(item.dest, ChunkReader(chunks), episode.content_type, expected_sha256=episode.sha256,
                                   description=of_episode(episode))
        self.records.mark_stored(episode.id, self.local.reference(item.dest), etag=None, local_key=None)
        if self.delete_remote:
            self.remote.delete(item.source)
        return skipped

    def delete(self, item: Item) -> bool:
        """The record already points at the disk: only the S3 copy is left to go."""
        self.remote.delete(item.source)
        return False
