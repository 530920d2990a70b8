"""Data folders for the migration tests, built through the app's own finalize step."""

from __future__ import annotations

import io
import os
from pathlib import Path

from app.runtime import Runtime
from app.settings import Settings
from app.storage import LocalStorage, Storage


def build_local_episodes(data_folder: Path, count: int, size: int, users: int = 3) -> dict[str, bytes]:
    """``count`` episodes finalized in local mode; returns {episode id: audio bytes}."""
    audio: dict[str, bytes] = {}
    with Runtime.open(Settings.from_env({"DATA_FOLDER": str(data_folder), "STORAGE_MODE": "local"})) as runtime:
        for n in range(count):
            data = os.urandom(size)
            episode = runtime.episodes.create(f"Show {n}: part {n}", f"user:u{n % users}", io.BytesIO(data),
                                              "audio/mpeg")
            audio[episode.id] = data
    return audio


def add_orphan(data_folder: Path, name: str, data: bytes) -> str:
    """An audio file under podcasts/episodes/ that no record points at (seed layout)."""
    key = f"podcasts/episodes/{name}/audio/{name}.mp3"
    LocalStorage(data_folder).save_stream(key, io.BytesIO(data), "audio/mpeg")
    return key


def read_all(storage: Storage, key: str) -> bytes:
    """A stored object's whole content, through the storage interface."""
    return b"".join(storage.open_range(key))
