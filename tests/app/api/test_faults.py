"""Faults during finalize lose nothing: the audio stays playable and S3 gets it later."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import httpx
import pytest

import app.episodes
from app.records import Records
from tests.support.aws import REGION, StoppableMoto, s3_env
from tests.support.live import LiveApp, answers, free_port, wait_for
from tests.support.paths import ROOT

AUDIO = os.urandom(200_000)


@pytest.fixture
def env(moto: StoppableMoto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(app.episodes, "RETRY_BASE_SECONDS", 0.2)
    return s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket,
                  S3_MAX_ATTEMPTS="1", S3_CONNECT_TIMEOUT="1", RECONCILE_INTERVAL_SECONDS="0.1")


def post_episode(client: httpx.Client, name: str = "show") -> httpx.Response:
    return client.post("/api/podcasts/episodes", data={"name": name, "user_id": "u1"},
                       files={"audio": ("a.mp3", AUDIO, "audio/mpeg")})


def local_mp3s(env: dict[str, str]) -> list[Path]:
    return list(Path(env["DATA_FOLDER"]).rglob("*.mp3"))


def s3_keys(moto: StoppableMoto) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)
    return [item["Key"] for item in s3.list_objects_v2(Bucket=moto.bucket).get("Contents", [])]


def state(client: httpx.Client, episode_id: str) -> str:
    return client.get(f"/api/podcasts/episodes/{episode_id}").json()["state"]  # type: ignore[no-any-return]


def test_s3_down_during_finalize_keeps_audio_pending_and_playable(env: dict, moto: StoppableMoto) -> None:
    with LiveApp(env) as client:
        moto.stop()
        created = post_episode(client)
        assert created.status_code == 201
        episode = created.json()
        assert episode["state"] == "pending_upload" and "unreachable" in episode["last_error"]
        assert client.get(episode["audio_url"]).content == AUDIO  # played from disk meanwhile
        assert client.get(episode["audio_url"], headers={"Range": "bytes=0-1"}).status_code == 206
        assert client.get("/health").json()["pending_uploads"]["episodes"] == [episode["id"]]
        assert len(local_mp3s(env)) == 1

        moto.start()
        wait_for(lambda: state(client, episode["id"]) == "stored", "the reconciler to upload")
        assert local_mp3s(env) == []
        assert s3_keys(moto) == [f"episodes/u1/{episode['id']}/{local_name(episode)}"]
        assert client.get(episode["audio_url"]).content == AUDIO
        assert client.get("/health").json()["pending_uploads"]["count"] == 0


def local_name(episode: dict) -> str:
    return Path(episode["audio_ref"]).name if "://" not in episode["audio_ref"] else \
        episode["audio_ref"].rsplit("/", 1)[1]


def test_failure_between_upload_and_commit_loses_nothing(env: dict, moto: StoppableMoto,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    commit = Records.mark_stored
    failures = []

    def failing_once(self: Records, episode_id: str, *args: object) -> object:
        if not failures:
            failures.append(episode_id)
            raise RuntimeError("injected: the record commit failed")
        return commit(self, episode_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Records, "mark_stored", failing_once)
    live = LiveApp({**env, "RECONCILE_INTERVAL_SECONDS": "3600"})  # this test runs the pass itself
    with live as client:
        # Its own connection: after an unhandled error uvicorn closes the socket, which a pooled
        # client could otherwise try to reuse for the next request.
        with httpx.Client(base_url=client.base_url, timeout=30) as once:
            assert post_episode(once).status_code == 500
        (episode_id,) = failures
        assert len(s3_keys(moto)) == 1 and len(local_mp3s(env)) == 1  # uploaded, local copy kept
        assert state(client, episode_id) == "pending_upload"
        assert client.get(f"/api/podcasts/episodes/{episode_id}/audio").content == AUDIO
        live.app.state.runtime.reconciler.once(force=True)
        assert state(client, episode_id) == "stored"
        assert local_mp3s(env) == []
        assert client.get(f"/api/podcasts/episodes/{episode_id}/audio").content == AUDIO


def test_process_killed_between_upload_and_commit_loses_nothing(env: dict, moto: StoppableMoto) -> None:
    port = free_port()
    # The third commit of an upload (the first two episodes go through) kills the app before it runs.
    kill_before_third_commit = [sys.executable, "-m", "tests.support.kill_at", "before",
                                "app.records:Records.mark_stored", "3", "--", "serve", "--port", str(port)]
    process = subprocess.Popen(kill_before_third_commit,
                               env={**os.environ, **env}, cwd=ROOT)
    try:
        crashing = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_for(lambda: answers(crashing), "the crashing app to start")
        before = [post_episode(crashing, f"ok-{n}").json() for n in range(2)]
        with pytest.raises(httpx.TransportError):
            post_episode(crashing, "crash-here")
        assert process.wait(timeout=30) == -9
    finally:
        process.kill()
    # At the instant of the kill the upload was verified but not recorded: the local copy must remain.
    assert len(local_mp3s(env)) == 1 and len(s3_keys(moto)) == 3

    with LiveApp(env) as client:  # restart: the forced first pass finishes the half-done work
        episodes = client.get("/api/podcasts/episodes").json()
        assert len(episodes) == 3
        for episode in episodes:
            wait_for(lambda e=episode: state(client, e["id"]) == "stored", "recovery")
            assert client.get(episode["audio_url"]).content == AUDIO
        assert local_mp3s(env) == []
        assert {e["id"] for e in before} < {e["id"] for e in episodes}



def test_audio_deleted_from_s3_behind_the_apps_back_is_410_for_head_and_get_and_an_error_in_health(
        env: dict, moto: StoppableMoto) -> None:
    with LiveApp(env) as client:
        episode = post_episode(client).json()
        assert episode["state"] == "stored" and client.head(episode["audio_url"]).status_code == 200
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)
        s3.delete_object(Bucket=moto.bucket, Key=s3_keys(moto)[0])
        assert client.head(episode["audio_url"]).status_code == 410
        assert client.get(episode["audio_url"]).status_code == 410
        health = client.get("/health").json()
        assert health["status"] == "error"
        assert any("point at a file missing from its store" in p["message"] for p in health["problems"])
