"""`ephitup migrate to-scaled`: a single server's data set, built through the app, then served by the scaled
topology byte for byte; a rerun does nothing; an interrupted move finishes on a rerun."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.storage.s3 import S3Storage
from scripts.cli import main
from tests.support.aws import StoppableMoto, s3_env
from tests.support.live import LiveApp


@pytest.fixture
def single(moto: StoppableMoto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:  # type: ignore[type-arg]
    """A single-server environment with S3 on: episodes in S3, sources on the disk, records in SQLite."""
    env = s3_env(tmp_path / "disk", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket)
    audio, documents = {}, {}
    with LiveApp(env) as client:
        for n in range(3):
            body = os.urandom(40_000 + n)
            episode = client.post("/api/podcasts/episodes", data={"name": f"Show {n}"},
                                  files={"audio": ("a.mp3", body, "audio/mpeg")}).json()
            assert episode["state"] == "stored"
            audio[episode["id"]] = body
        for n in range(2):
            body = b"%PDF notes " + os.urandom(5_000)
            source = client.post("/api/sources", files={"file": (f"n{n}.pdf", body, "application/pdf")}).json()
            documents[source["id"]] = body
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {"env": env, "audio": audio, "documents": documents}


def served_by_scaled(single: dict, database_url: str, tmp_path: Path) -> None:  # type: ignore[type-arg]
    scaled = {**single["env"], "TOPOLOGY": "scaled", "DATABASE_URL": database_url,
              "DATA_FOLDER": str(tmp_path / "instance")}
    with LiveApp(scaled) as client:
        episodes = {e["id"]: e for e in client.get("/api/podcasts/episodes").json()}
        assert set(episodes) == set(single["audio"])
        for episode_id, body in single["audio"].items():
            assert client.get(episodes[episode_id]["audio_url"]).content == body
        for source_id, body in single["documents"].items():
            assert client.get(f"/api/sources/{source_id}/download").content == body


def test_the_scaled_topology_serves_every_file_byte_for_byte(single, database_url, tmp_path, monkeypatch,
                                                              capsys) -> None:
    monkeypatch.setenv("TARGET_DATABASE_URL", database_url)
    assert main(["migrate", "to-scaled"]) == 0
    assert "records copied to PostgreSQL and checked: 3 episodes, 2 sources" in capsys.readouterr().out
    served_by_scaled(single, database_url, tmp_path)
    with LiveApp(single["env"]) as client:  # the single side is unchanged: going back is switching back
        assert len(client.get("/api/sources").json()) == 2


def test_a_rerun_uploads_nothing(single, database_url, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TARGET_DATABASE_URL", database_url)
    assert main(["migrate", "to-scaled"]) == 0
    puts: list[str] = []
    original = S3Storage.save_file
    monkeypatch.setattr(S3Storage, "save_file", lambda self, key, *a, **k: puts.append(key) or original(
        self, key, *a, **k))
    assert main(["migrate", "to-scaled"]) == 0
    assert puts == [] and "0 moved, 2 already in place" in capsys.readouterr().out


def test_a_move_killed_at_random_moments_finishes_on_a_rerun(single, database_url, tmp_path, monkeypatch) -> None:
    import random
    import signal
    import subprocess
    import sys
    import time

    from tests.support.paths import ROOT

    with LiveApp(single["env"]) as client:  # enough sources for a kill to land mid-move
        for n in range(24):
            body = b"%PDF " + os.urandom(400_000)
            source = client.post("/api/sources", files={"file": (f"m{n}.pdf", body, "application/pdf")}).json()
            single["documents"][source["id"]] = body
    env = {**os.environ, "TARGET_DATABASE_URL": database_url}
    argv = [sys.executable, "-m", "scripts.cli", "migrate", "to-scaled", "--concurrency", "2"]
    rng = random.Random(17)
    for _ in range(3):
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert subprocess.run(argv, cwd=ROOT, env=env, capture_output=True).returncode == 0
    served_by_scaled(single, database_url, tmp_path)


def test_refused_while_an_episode_is_still_on_the_disk(single, database_url, monkeypatch, capsys) -> None:
    with LiveApp({**single["env"], "STORAGE_MODE": "local"}) as client:
        client.post("/api/podcasts/episodes", data={"name": "local"}, files={"audio": ("a.mp3", b"ID3", "audio/mpeg")})
    monkeypatch.setenv("TARGET_DATABASE_URL", database_url)
    assert main(["migrate", "to-scaled"]) == 2
    assert "run `ephitup migrate to-s3` first" in capsys.readouterr().err


def test_the_target_database_is_required(single, capsys) -> None:
    assert main(["migrate", "to-scaled"]) == 2 and "TARGET_DATABASE_URL" in capsys.readouterr().err
