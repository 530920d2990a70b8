"""The crash clean-up runs in the background once the app serves: /health says so until it ends, and a file
written after the start (an upload whose record is about to come) is never taken for a crash's leftover."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from app.storage import LocalStorage
from tests.support.live import LiveApp, wait_for


def test_the_app_serves_while_the_clean_up_runs_and_health_says_so(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    original = LocalStorage.remove_partials

    def slow(self: LocalStorage, older_than: float = 3600.0) -> tuple[str, ...]:
        time.sleep(1.5)  # a big library's walk
        return original(self, older_than)

    monkeypatch.setattr(LocalStorage, "remove_partials", slow)
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        started = time.monotonic()
        health = client.get("/health").json()
        assert time.monotonic() - started < 1.0  # answered during the walk, not after it
        assert "start-up clean-up is running" in str(health)
        created = client.post("/api/podcasts/episodes", data={"name": "during"},
                              files={"audio": ("a.mp3", b"x" * 100, "audio/mpeg")})
        assert created.status_code == 201
        wait_for(lambda: "clean-up" not in client.get("/health").text, "the clean-up to end")
        assert client.get(created.json()["audio_url"]).content == b"x" * 100


def test_a_file_written_after_the_start_is_never_removed_as_a_crash_leftover(tmp_path: Path) -> None:
    from app.runtime import Runtime
    from app.settings import Settings

    with Runtime.open(Settings.from_env({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"})) as runtime:
        started = time.time()
        folder = "podcasts/episodes/new-0123abcd/audio/new-0123abcd.mp3"  # the app's layout, no record yet
        runtime.stores.local.save_stream(folder, io.BytesIO(b"x"), "audio/mpeg")
        assert runtime.episodes.remove_unrecorded_audio(runtime.records.has_id_starting, started) == []
        assert runtime.episodes.remove_unrecorded_audio(runtime.records.has_id_starting, time.time() + 1) == [folder]
