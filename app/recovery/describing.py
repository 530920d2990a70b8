"""A record's durable fields as the description its file carries, and the backfill for files stored before
descriptions existed (resumable: a file that already carries its description is skipped)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.records import Episode, Records, Source
from app.storage import InvalidReferenceError, StorageError
from app.storage.descriptions import Description
from app.storage.stores import Stores


def of_episode(episode: Episode) -> Description:
    return Description(episode.id, "episode", episode.name, episode.content_type, episode.created_at,
                       user_id=episode.user_id, size=episode.size, sha256=episode.sha256)


def of_source(source: Source) -> Description:
    return Description(source.id, "source", source.filename, source.content_type, source.created_at,
                       size=source.size)


@dataclass
class BackfillReport:
    described: list[str] = field(default_factory=list)  # references given a description (or that would be)
    already: int = 0  # files that carried theirs
    failed: list[str] = field(default_factory=list)  # "reference: why"


def backfill(records: Records, stores: Stores, dry_run: bool = True,
             progress: Callable[[int, int], None] = lambda done, total: None) -> BackfillReport:
    """Every file a record points at (audio, a local copy, a source) given its record's description."""
    wanted = [(reference, of_episode(episode)) for episode in records.episodes()
              for reference in {episode.audio_ref, episode.local_key} - {None}]
    wanted += [(source.ref, of_source(source)) for source in records.sources()]
    report = BackfillReport()
    for done, (reference, description) in enumerate(wanted, 1):
        try:
            storage, key = stores.locate(reference)  # type: ignore[arg-type]
            if storage.description(key) is not None:
                report.already += 1
            else:
                if not dry_run:
                    storage.describe(key, description)
                report.described.append(reference)  # type: ignore[arg-type]
        except (StorageError, InvalidReferenceError) as error:
            report.failed.append(f"{reference}: {error}")
        progress(done, len(wanted))
    return report
