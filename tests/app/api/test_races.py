"""A delete that races a finalize (the API's or the reconciler's), and a crash before the record: nothing is
left without a record, and no request answers 500."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.aws import s3_env
from tests.support.faults import s3_error
from tests.support.live import LiveApp, answers, free_port, wait_for
from tests.support.paths import ROOT

AUDIO = os.urandom(100_000)


@pytest.fixture
def env(tmp_path: Path, moto_server: str, server_bucket) -> dict[str, str]:  # type: ignore[no-untyped-def]
    name, _ = server_bucket
    return s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name, S3_MAX_ATTEMPTS="1",
                  RECONCILE_INTERVAL_SECONDS="3600")  # these tests run the reconciler's pass themselves


def slow_puts(live: LiveApp, seconds: float) -> threading.Event:
    """Every upload of audio waits ``seconds`` before it is sent (a delete's tombstone goes at once); the event
    is set when one starts waiting."""
    started = threading.Event()

    def wait(request: Any, **_: Any) -> None:
        if "/episodes/" in request.url:
            started.set()
            time.sleep(seconds)

    live.app.state.runtime.stores.remote.client.meta.events.register("before-send.s3.PutObject", wait)
    return started


def leftovers(env: dict[str, str], bucket_client: Any, bucket: str) -> tuple[list[str], list[Path]]:
    """Audio left in S3 and on the disk (a delete's tombstone, under backups/, is meant to stay)."""
    objects = [o["Key"] for o in bucket_client.list_objects_v2(Bucket=bucket, Prefix="episodes/").get("Contents", [])]
    return objects, list(Path(env["DATA_FOLDER"]).rglob("*.mp3"))


@pytest.mark.parametrize("attempt", range(3))
def test_a_delete_during_the_apis_finalize_wins_cleanly(env: dict[str, str], server_bucket, attempt: int) -> None:
    name, s3 = server_bucket
    live = LiveApp(env)
    with live as client:
        uploading = slow_puts(live, 1.0)
        answer: list[httpx.Response] = []
        poster = threading.Thread(target=lambda: answer.append(client.post(
            "/api/podcasts/episodes", data={"name": "raced"}, files={"audio": ("a.mp3", AUDIO, "audio/mpeg")})))
        poster.start()
        assert uploading.wait(10)
        (episode,) = client.get("/api/podcasts/episodes").json()
        assert episode["state"] == "pending_upload"
        assert client.delete(f"/api/podcasts/episodes/{episode['id']}").status_code == 204
        poster.join(30)
        assert answer[0].status_code == 409 and "deleted while it was being stored" in answer[0].json()["detail"]
        assert client.get("/api/podcasts/episodes").json() == []
    assert leftovers(env, s3, name) == ([], [])


def test_a_delete_during_the_reconcilers_finalize_wins_cleanly(env: dict[str, str], server_bucket) -> None:
    name, s3 = server_bucket
    live = LiveApp(env)
    with live as client:
        remote = live.app.state.runtime.stores.remote
        def refuse(**_: Any) -> Any:
            return s3_error(503, "SlowDown")

        remote.client.meta.events.register("before-send.s3.PutObject", refuse)
        created = client.post("/api/podcasts/episodes", data={"name": "later"},
                              files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
        assert created["state"] == "pending_upload"
        remote.client.meta.events.unregister("before-send.s3.PutObject", refuse)
        uploading = slow_puts(live, 1.0)
        puts: list[int] = []
        remote.client.meta.events.register(  # the audio's upload; the delete's tombstone is a PUT too
            "before-parameter-build.s3.PutObject",
            lambda params, **_: params["Key"].startswith("episodes/") and puts.append(1))
        reconciler = threading.Thread(target=live.app.state.runtime.reconciler.once, args=(True,))
        reconciler.start()
        assert uploading.wait(10)
        assert client.delete(f"/api/podcasts/episodes/{created['id']}").status_code == 204
        reconciler.join(30)
        assert puts == [1], "the reconciler's upload did not go through"
        assert live.app.state.runtime.reconciler.error is None
        assert client.get("/health").json()["status"] == "ok"
    assert leftovers(env, s3, name) == ([], [])


def test_audio_a_crash_left_before_its_record_is_removed_at_start(tmp_path: Path) -> None:
    env = {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local"}
    port = free_port()
    kill_after_the_file = [sys.executable, "-m", "tests.support.kill_at", "after",
                           "app.storage.local:LocalStorage.save_stream", "3", "--", "serve", "--port", str(port)]
    process = subprocess.Popen(kill_after_the_file, cwd=ROOT, env={**os.environ, **env})
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_for(lambda: answers(client), "the app to start")
        kept = client.post("/api/podcasts/episodes", data={"name": "kept"},
                           files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
        with pytest.raises(httpx.TransportError):  # killed between writing the file (the 3rd save: the first
            # episode's audio and its description came before) and recording it
            client.post("/api/podcasts/episodes", data={"name": "lost"},
                        files={"audio": ("b.mp3", AUDIO, "audio/mpeg")})
        assert process.wait(30) == -9
    finally:
        process.kill()
    seed_file = Path(env["DATA_FOLDER"]) / "podcasts/episodes/Old Show/audio/Old Show.mp3"  # not ours: kept
    seed_file.parent.mkdir(parents=True)
    seed_file.write_bytes(b"ID3 seed audio")
    assert len(list(Path(env["DATA_FOLDER"]).rglob("*.mp3"))) == 3
    with LiveApp(env) as client:
        assert [e["id"] for e in client.get("/api/podcasts/episodes").json()] == [kept["id"]]
        assert client.get(kept["audio_url"]).content == AUDIO
        wait_for(lambda: "clean-up" not in client.get("/health").text, "the start-up clean-up (in the background)")
    names = sorted(p.name for p in Path(env["DATA_FOLDER"]).rglob("*.mp3"))
    assert names == sorted(["Old Show.mp3", Path(kept["audio_ref"]).name])


def test_a_play_that_finds_its_copy_just_moved_plays_it_from_where_the_record_points_now(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A move switches the record, then deletes the old copy: a play that read the record just before the
    switch finds the old copy gone, reads the record again, and plays the new copy (it answered 410)."""
    from app.storage import LocalStorage

    live = LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"})
    with live as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "moving"},
                              files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
        runtime, moved = live.app.state.runtime, []

        def move_first(original: Any) -> Any:
            def opened(self: LocalStorage, key: str, *args: Any, **kwargs: Any) -> Any:
                if not moved:  # the move runs between this play's record lookup and its open
                    moved.append(f"podcasts/episodes/moved/audio/{Path(key).name}")
                    self.save_file(moved[0], self.path(key), "audio/mpeg")
                    runtime.records.move_audio(episode["id"], self.reference(moved[0]))
                    self.delete(key)
                return original(self, key, *args, **kwargs)
            return opened

        for opening in ("open_range", "open_file"):  # streamed, or sent by sendfile(2) (under uvicorn)
            monkeypatch.setattr(LocalStorage, opening, move_first(getattr(LocalStorage, opening)))
        answer = client.get(episode["audio_url"])
        assert answer.status_code == 200 and answer.content == AUDIO and moved
