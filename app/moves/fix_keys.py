"""``fix-keys``: references and keys off the seed's canonical layout, repaired (copy, verify, switch, delete)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from app.moves.base import Move
from app.moves.plan import Action, Item, Plan
from app.moves.runner import Handler
from app.storage import build_episode_asset_key


class FixKeys(Move):
    def plan(self, held: int | None = None) -> Plan:
        plan = Plan(held=held)
        for episode, location in self.located(plan):
            if episode.superseded_ref:  # a run killed after the switch: the old copy still has to go
                old = self.episodes.stores.where(episode.superseded_ref)
                plan.add(Item(Action.CLEANUP, old.key, location.key, 0, episode.id))
                continue
            if location.is_s3:
                canonical = build_episode_asset_key(episode.user_id, episode.id, PurePosixPath(location.key).name)
                if location.key != canonical:
                    plan.add(Item(Action.COPY, location.key, canonical, episode.size, episode.id))
                elif episode.audio_ref != self.remote.reference(canonical):  # e.g. an access-point ARN
                    plan.add(Item(Action.RELINK, location.key, canonical, 0, episode.id))
            elif episode.audio_ref != self.local.reference(location.key):  # a legacy absolute path
                if self.local.exists(location.key):
                    plan.add(Item(Action.RELINK, episode.audio_ref, location.key, 0, episode.id))
                else:
                    plan.problems.append(f"episode {episode.id}: {episode.audio_ref} is not at "
                                         f"{self.local.reference(location.key)} under DATA_FOLDER")
        return plan

    def handlers(self, plan: Plan) -> Mapping[Action, Handler]:
        return {Action.COPY: self.copy, Action.CLEANUP: self.cleanup, Action.RELINK: self.relink}

    def copy(self, item: Item) -> bool:
        episode = self.records.episode(item.record_id)
        already = self.remote_stat(item.dest)
        if already is None or already.size != episode.size:
            self.remote.copy(item.source, item.dest)  # verified against the upload's SHA-256
        self.records.move_audio(episode.id, self.remote.reference(item.dest), superseded_ref=episode.audio_ref)
        return self.cleanup(item)

    def cleanup(self, item: Item) -> bool:
        self.remote.delete(item.source)
        self.records.forget_superseded(item.record_id)
        return False

    def relink(self, item: Item) -> bool:
        """The bytes are where they belong: only the reference is rewritten (to S3 or to the disk)."""
        episode = self.records.episode(item.record_id)
        storage = self.episodes.stores.locate(episode.audio_ref)[0]
        self.records.move_audio(episode.id, storage.reference(item.dest))
        return False
