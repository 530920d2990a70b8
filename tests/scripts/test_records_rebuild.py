"""The records rebuilt from the files alone: the drill for each topology, over real HTTP, the app killed with
SIGKILL and its records destroyed; a rebuild killed halfway and rerun; names that round-trip exactly."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx
import psycopg
import pytest

from app.records import Records
from scripts.cli import main
from tests.support.aws import REGION, StoppableMoto, s3_env
from tests.support.live import AppProcess, LiveApp, wait_for
from tests.support.paths import ROOT

NAMES = ["Émission n°1 «l'été»", 'Quotes "double" and \'single\'', "slash/back\\slash", "🎙️ Podcast 🚀 ünïcödé"]
QUICK_RECONCILE = {"RECONCILE_INTERVAL_SECONDS": "0.2"}


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def fill(client: httpx.Client, moto: StoppableMoto | None = None) -> tuple[dict[str, bytes], dict[str, str]]:
    """Episodes (one uploaded while S3 was down, when there is S3) and sources, one of each deleted:
    ({url: bytes} of what is kept, {episode id: name})."""
    kept: dict[str, bytes] = {}
    names: dict[str, str] = {}
    made = []
    for n, name in enumerate(NAMES):
        if moto is not None and n == 1:
            moto.stop()
        audio = os.urandom(40_000 + n)
        answer = client.post("/api/podcasts/episodes", data={"name": name, "user_id": f"user {n % 2} ✓"},
                             files={"audio": ("a.mp3", audio, "audio/mpeg")})
        assert answer.status_code == 201, answer.text
        if moto is not None and n == 1:
            assert answer.json()["state"] == "pending_upload"
            moto.start()
        made.append(answer.json())
        kept[f"/api/podcasts/episodes/{made[-1]['id']}/audio"] = audio
        names[made[-1]["id"]] = name
    for n in range(2):
        source = client.post("/api/sources", files={"file": (f"notes {n} ✓.pdf", b"%PDF " * (n + 1),
                                                             "application/pdf")}).json()
        kept[source["download_url"]] = b"%PDF " * (n + 1)
    if moto is not None:  # a delete needs S3 (its tombstone goes there): after the outage
        wait_for(lambda: all(e["state"] == "stored" for e in client.get("/api/podcasts/episodes").json()),
                 "the pending upload to reach S3", timeout=60)
    assert client.delete(f"/api/podcasts/episodes/{made[0]['id']}").status_code == 204
    del kept[f"/api/podcasts/episodes/{made[0]['id']}/audio"], names[made[0]["id"]]
    assert client.delete(source["download_url"].removesuffix("/download")).status_code == 204
    del kept[source["download_url"]]
    return kept, names


def drill(env: dict[str, str], destroy: Callable[[], None], monkeypatch: pytest.MonkeyPatch, capsys,
          moto: StoppableMoto | None = None, disk_lost: bool = False) -> None:
    """``disk_lost``: the single topology keeps sources on the disk, so they go with it (the README says so)."""
    app = AppProcess(env)
    client = httpx.Client(base_url=app.base_url, timeout=30)
    kept, names = fill(client, moto)
    app.process.send_signal(signal.SIGKILL)
    app.process.wait(timeout=30)
    destroy()
    use_env(monkeypatch, env)
    assert main(["records", "rebuild"]) == 0
    assert "a dry run: nothing written" in capsys.readouterr().out
    assert main(["records", "rebuild", "--apply"]) == 0
    first = capsys.readouterr().out
    assert f"episodes: {len(names)} to restore" in first
    assert f"sources: {0 if disk_lost else 1} to restore" in first
    assert main(["records", "rebuild", "--apply"]) == 0  # a second rebuild changes nothing
    assert "episodes: 0 to restore (0 still to upload to S3); sources: 0 to restore" in capsys.readouterr().out
    with LiveApp(env) as again:
        listed = again.get("/api/podcasts/episodes").json()
        assert {e["id"]: e["name"] for e in listed} == names  # same ids, names exact, the deleted one absent
        for url, body in kept.items():
            if disk_lost and url.startswith("/api/sources/"):
                assert again.get(url).status_code == 404, url
                continue
            assert again.get(url).content == body, url
        assert len(again.get("/api/sources").json()) == (0 if disk_lost else 1)


def test_single_with_s3_off_app_db_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    data = tmp_path / "data"

    def destroy() -> None:
        for name in ("app.db", "app.db-wal", "app.db-shm"):
            (data / name).unlink(missing_ok=True)

    drill({"DATA_FOLDER": str(data), "STORAGE_MODE": "local"}, destroy, monkeypatch, capsys)


def test_single_with_s3_on_the_whole_data_folder_gone(tmp_path: Path, moto: StoppableMoto,
                                                      monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    data = tmp_path / "data"
    env = s3_env(data, S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket, S3_MAX_ATTEMPTS="1",
                 S3_CONNECT_TIMEOUT="1", **QUICK_RECONCILE)
    drill(env, lambda: shutil.rmtree(data), monkeypatch, capsys, moto, disk_lost=True)


def test_scaled_the_database_dropped(tmp_path: Path, moto: StoppableMoto, database_url: str,
                                     monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    env = s3_env(tmp_path / "instance", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket,
                 DATABASE_URL=database_url, TOPOLOGY="scaled")

    def drop() -> None:
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute("DROP SCHEMA public CASCADE")
            db.execute("CREATE SCHEMA public")

    drill(env, drop, monkeypatch, capsys)


def test_a_rebuild_killed_halfway_is_finished_by_a_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    with LiveApp(env) as client:
        made = {client.post("/api/podcasts/episodes", data={"name": f"n{n}"},
                            files={"audio": ("a.mp3", bytes([n]) * 1000, "audio/mpeg")}).json()["id"]
                for n in range(6)}
    (tmp_path / "app.db").unlink()
    killed = subprocess.run([sys.executable, "-m", "tests.support.kill_at", "after",
                             "app.databases:SqliteDatabase.write", "3", "--", "records", "rebuild", "--apply"],
                            cwd=ROOT, env={**os.environ, **env}, capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert 0 < len(Records(tmp_path / "app.db").episodes()) < len(made)
    use_env(monkeypatch, env)
    assert main(["records", "rebuild", "--apply"]) == 0
    assert {episode.id for episode in Records(tmp_path / "app.db").episodes()} == made


def test_a_live_database_is_added_to_only_when_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    with LiveApp(env) as client:
        client.post("/api/sources", files={"file": ("a.txt", b"x", "text/plain")})
    records = Records(tmp_path / "app.db")
    records.add_episode(id="e" * 32, name="no file says so", user_id=None, audio_ref="podcasts/x.mp3",
                        local_key=None, content_type="audio/mpeg", size=1, sha256="0" * 64, state="stored")
    records.close()
    use_env(monkeypatch, env)
    assert main(["records", "rebuild", "--apply"]) == 2
    assert "holds 1 records no file describes" in capsys.readouterr().err
    assert main(["records", "rebuild", "--apply", "--into-live"]) == 0


def test_files_stored_before_descriptions_are_described_by_the_backfill(tmp_path: Path, capsys,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    with LiveApp(env) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "old"},
                              files={"audio": ("a.mp3", b"a" * 100, "audio/mpeg")}).json()
    shutil.rmtree(tmp_path / ".ephitup")  # as stored by the version before descriptions
    use_env(monkeypatch, env)
    assert main(["records", "describe", "--dry-run"]) == 0
    assert "would describe 1 files" in capsys.readouterr().out
    assert main(["records", "describe"]) == 0
    assert main(["records", "describe"]) == 0
    assert "described 0 files; 1 carried their description already" in capsys.readouterr().out.splitlines()[-1]
    for name in ("app.db", "app.db-wal", "app.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    assert main(["records", "rebuild", "--apply"]) == 0
    assert [e.id for e in Records(tmp_path / "app.db").episodes()] == [episode["id"]]


def test_a_restore_replays_what_the_files_say_happened_after_its_backup(tmp_path: Path, capsys,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    use_env(monkeypatch, env)
    with LiveApp(env) as client:
        before = client.post("/api/podcasts/episodes", data={"name": "in the backup"},
                             files={"audio": ("a.mp3", b"a" * 100, "audio/mpeg")}).json()
        assert main(["records", "backup"]) == 0
        after = client.post("/api/podcasts/episodes", data={"name": "after it"},
                            files={"audio": ("b.mp3", b"b" * 100, "audio/mpeg")}).json()
        assert client.delete(f"/api/podcasts/episodes/{before['id']}").status_code == 204
    for name in ("app.db", "app.db-wal", "app.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    assert main(["records", "restore"]) == 0
    assert "1 episodes and 0 sources added, 1 deleted" in capsys.readouterr().out
    assert [e.id for e in Records(tmp_path / "app.db").episodes()] == [after["id"]]


@pytest.mark.parametrize("name", NAMES + ["x" * 200, "🎙️" * 200])
def test_a_name_round_trips_through_s3_metadata_and_the_sidecar(name: str, tmp_path: Path, moto: StoppableMoto) -> None:
    from app.runtime import s3_storage
    from app.settings import Settings
    from app.storage import LocalStorage
    from app.storage.descriptions import METADATA_LIMIT, Description

    described = Description("a" * 32, "episode", name, "audio/mpeg", 1764698400.123456, user_id=name[:200])
    remote = s3_storage(Settings.from_env(s3_env(tmp_path, S3_ENDPOINT_URL=moto.endpoint,
                                                 S3_BUCKET_NAME=moto.bucket)))
    local = LocalStorage(tmp_path)
    for store in (remote, local):
        store.save_stream("episodes/u/a/a.mp3", io.BytesIO(b"abc"), "audio/mpeg", description=described)
        back = store.description("episodes/u/a/a.mp3")
        assert back is not None and back.size == 3 and back.created_at == described.created_at
        metadata = described.metadata()
        assert sum(len(key) + len(value.encode()) for key, value in metadata.items()) <= METADATA_LIMIT
        if store is local or "ephitup-name-cut" not in metadata:
            assert (back.name, back.user_id, back.name_cut) == (name, name[:200], False)
        else:  # 200 emoji in both the name and the user id: more than S3's 2 KB; the name is cut, and says so
            assert back.name_cut and name.startswith(back.name) and back.user_id == name[:200]


def test_a_crash_between_forgetting_the_record_and_removing_the_file_never_brings_the_episode_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from app.runtime import Runtime
    from app.settings import Settings
    from app.storage import LocalStorage

    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    with Runtime.open(Settings.from_env(env)) as runtime:
        episode = runtime.episodes.create("gone", None, io.BytesIO(b"a" * 100), "audio/mpeg")
        with monkeypatch.context() as crash:
            crash.setattr(LocalStorage, "delete", lambda self, key: (_ for _ in ()).throw(SystemExit("killed")))
            with pytest.raises(SystemExit):
                runtime.episodes.delete(episode)
    assert LocalStorage(tmp_path).exists(episode.audio_ref)  # the file outlived its record
    for name in ("app.db", "app.db-wal", "app.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    use_env(monkeypatch, env)
    assert main(["records", "rebuild", "--apply"]) == 0
    assert Records(tmp_path / "app.db").episodes() == []


def test_an_id_held_twice_is_restored_from_the_copy_whose_sha256_verifies(tmp_path: Path, moto: StoppableMoto,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys) -> None:
    """The same episode on the disk and in S3 (a local copy not yet let go of), the S3 copy's bytes changed
    behind the app's back (same description): the disk's copy wins, and goes to S3 again as a pending upload."""
    from app.storage import LocalStorage
    from app.storage.descriptions import Description

    env = s3_env(tmp_path, S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket)
    local = LocalStorage(tmp_path)
    audio = b"the real audio" * 100
    described = Description("c" * 32, "episode", "twice", "audio/mpeg", 1764698400.0)
    local.save_stream("podcasts/episodes/twice-cccccccc/audio/twice-cccccccc.mp3", io.BytesIO(audio), "audio/mpeg",
                      description=described)
    held = local.description("podcasts/episodes/twice-cccccccc/audio/twice-cccccccc.mp3")
    assert held is not None
    boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint).put_object(  # its description, other bytes
        Bucket=moto.bucket, Key="episodes/anonymous/" + "c" * 32 + "/twice.mp3", Body=b"rotten" * 100,
        ContentType="audio/mpeg", Metadata=held.metadata())
    use_env(monkeypatch, env)
    assert main(["records", "rebuild", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "held twice: episode " + "c" * 32 + ": kept podcasts/episodes/twice-cccccccc" in out
    assert "(its SHA-256 verifies); also in s3://" in out
    (episode,) = Records(tmp_path / "app.db").episodes()
    assert (episode.state, episode.audio_ref, episode.sha256) == ("pending_upload", episode.local_key, held.sha256)
