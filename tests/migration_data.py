"""Data folders for the migration tests, built through the app's own finalize step."""

from __future__ import annotations

import io
import os
from pathlib import Path

from app.episodes import Episodes
from app.records import Episode, Records
from app.storage import LocalStorage


def build_local_episodes(data_folder: Path, count: int, size: int, users: int = 3) -> dict[str, bytes]:
    """``count`` episodes finalized in local mode; returns {episode id: audio bytes}."""
    records = Records(data_folder / "app.db")
    episodes = Episodes(records, LocalStorage(data_folder), None)
    audio: dict[str, bytes] = {}
    try:
        for n in range(count):
            data = os.urandom(size)
            episode: Episode = episodes.create(f"Show {n}: part {n}", f"user:u{n % users}", io.BytesIO(data),
                                               "audio/mpeg")
            audio[episode.id] = data
    finally:
        records.close()
    return audio


def add_orphan(data_folder: Path, name: str, data: bytes) -> str:
    """An audio file under podcasts/episodes/ that no record points at (seed layout)."""
    key = f"podcasts/episodes/{name}/audio/{name}.mp3"
    LocalStorage(data_folder).save_stream(key, io.BytesIO(data), "audio/mpeg")
    return key
