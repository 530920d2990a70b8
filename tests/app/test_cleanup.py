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


def test_the_walk_follows_only_a_stop_that_was_not_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deploy's restart (a clean stop) does not walk the library again; a crash, or another process's write to
    the disk (a migration, which may crash), brings the walk back at the next start."""
    from app.cleanup import CrashCleanup
    from app.runtime import Runtime
    from app.settings import Settings

    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    walks, original = [], LocalStorage.remove_partials

    def counted(self: LocalStorage, older_than: float = 3600.0) -> tuple[str, ...]:
        walks.append(self.root)
        return original(self, older_than)

    def start_and_stop() -> None:
        with LiveApp(env) as client:
            wait_for(lambda: "clean-up" not in client.get("/health").text, "the clean-up to end")

    monkeypatch.setattr(LocalStorage, "remove_partials", counted)
    start_and_stop()  # a first start: nothing says the disk is clean
    start_and_stop()  # after a clean stop
    assert len(walks) == 1
    LocalStorage(tmp_path).save_stream("uploads/u/s/x.txt", io.BytesIO(b"x"), "text/plain")  # `ephitup migrate`
    start_and_stop()
    assert len(walks) == 2
    with Runtime.open(Settings.from_env(env)) as runtime:  # a start that crashes: `stopped()` never runs
        CrashCleanup(runtime.episodes, runtime.gate)
    start_and_stop()
    assert len(walks) == 3


def test_a_look_a_clean_stop_cut_short_goes_on_from_where_it_was(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cleanup import CrashCleanup, ShuttingDown
    from app.records import Records
    from app.runtime import Runtime
    from app.settings import Settings

    local = LocalStorage(tmp_path)
    leftovers = [f"podcasts/episodes/show-{n}0000000/audio/show-{n}0000000.mp3" for n in range(5)]
    for key in leftovers:  # audio a crash left before its record came
        local.save_stream(key, io.BytesIO(b"x"), "audio/mpeg")
    asked: list[str] = []
    original, cut_short = Records.has_id_starting, [True, False]

    def lookup(self: Records, prefix: str) -> bool:
        if len(asked) == 2 and cut_short[0]:
            raise ShuttingDown  # what the records' gate says once the app stops
        asked.append(prefix)
        return original(self, prefix)

    monkeypatch.setattr(Records, "has_id_starting", lookup)
    env = Settings.from_env({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"})
    while cut_short:  # a start the app's stop cuts short after two files, then one left to end
        time.sleep(0.01)  # the files were written before this start
        with Runtime.open(env) as runtime:
            cleanup = CrashCleanup(runtime.episodes, runtime.gate)
            cleanup.run()
            cleanup.stopped()
        cut_short.pop(0)
    assert asked == ["00000000", "10000000", "20000000", "30000000", "40000000"]  # each looked at once
    assert [key for key in leftovers if local.exists(key)] == []
    with Runtime.open(env) as runtime:
        assert CrashCleanup(runtime.episodes, runtime.gate).finished  # ended: the next start has nothing to do
