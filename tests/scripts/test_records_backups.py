"""The records survive the loss of their database: consistent backups while the app runs, and the drill.

Over real HTTP, in a process of its own killed with SIGKILL: single with S3 off (app.db deleted) and single
with S3 on (the whole data folder gone), restored with ``ephitup records restore``."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from app.backups import PREFIX, backups_in
from app.storage import LocalStorage
from scripts.cli import main
from tests.support.aws import StoppableMoto, s3_env
from tests.support.live import AppProcess, LiveApp, wait_for

BACKUP_EVERY = {"RECORDS_BACKUP_MINUTES": "0.005"}  # 0.3 s


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def fill(client: httpx.Client) -> dict[str, bytes]:
    """Three episodes and a source through the API, one episode deleted: {audio url or download url: bytes}."""
    kept: dict[str, bytes] = {}
    made = []
    for n in range(3):
        audio = os.urandom(50_000 + n)
        episode = client.post("/api/podcasts/episodes", data={"name": f"Show {n} é"},
                              files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()
        made.append(episode)
        kept[f"/api/podcasts/episodes/{episode['id']}/audio"] = audio
    assert client.delete(f"/api/podcasts/episodes/{made[0]['id']}").status_code == 204
    del kept[f"/api/podcasts/episodes/{made[0]['id']}/audio"]
    source = client.post("/api/sources", files={"file": ("notes.pdf", b"%PDF-1.7 notes", "application/pdf")}).json()
    kept[source["download_url"]] = b"%PDF-1.7 notes"
    return kept


def drill(env: dict[str, str], destroy, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
          disk_lost: bool = False) -> None:
    """``disk_lost``: the data folder went too, and with it the source uploads (single keeps them on the disk):
    their records come back and answer 410; every episode in S3 plays."""
    app = AppProcess(env)
    client = httpx.Client(base_url=app.base_url, timeout=30)
    kept = fill(client)
    listed = sorted(e["id"] for e in client.get("/api/podcasts/episodes").json())
    changed_at = time.time()
    wait_for(lambda: any(b.last_modified.timestamp() >= changed_at - 1 for b in backups_of(env)), "a backup")
    time.sleep(1.2)  # a backup wholly after the last change (keys have whole seconds)
    app.process.send_signal(signal.SIGKILL)
    app.process.wait(timeout=30)
    destroy()
    use_env(monkeypatch, env)
    assert main(["records", "restore", "--dry-run"]) == 0
    assert main(["records", "restore"]) == 0
    with LiveApp(env) as again:
        assert sorted(e["id"] for e in again.get("/api/podcasts/episodes").json()) == listed
        for url, body in kept.items():
            if disk_lost and url.startswith("/api/sources/"):
                assert again.get(url).status_code == 410, url
                continue
            assert again.get(url).content == body, url


def backups_of(env: dict[str, str]):  # type: ignore[no-untyped-def]
    if env.get("STORAGE_MODE") == "local":
        return backups_in(LocalStorage(Path(env["DATA_FOLDER"])))
    from app.runtime import s3_storage
    from app.settings import Settings

    return backups_in(s3_storage(Settings.from_env(env)))


def test_single_with_s3_off_app_db_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    env = {"DATA_FOLDER": str(data), "STORAGE_MODE": "local", **BACKUP_EVERY}

    def destroy() -> None:
        for name in ("app.db", "app.db-wal", "app.db-shm"):
            (data / name).unlink(missing_ok=True)

    drill(env, destroy, monkeypatch)


def test_single_with_s3_on_the_whole_data_folder_gone(tmp_path: Path, moto: StoppableMoto,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    env = s3_env(data, S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket, **BACKUP_EVERY)
    drill(env, lambda: shutil.rmtree(data), monkeypatch, disk_lost=True)


def test_a_restore_refuses_to_replace_records_still_held_and_says_how(tmp_path: Path, capsys,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    use_env(monkeypatch, env)
    assert main(["records", "restore"]) == 1
    assert "no backup of the records" in capsys.readouterr().err
    with LiveApp(env) as client:
        client.post("/api/sources", files={"file": ("a.txt", b"x", "text/plain")})
    assert main(["records", "backup"]) == 0
    assert PREFIX in capsys.readouterr().out
    assert main(["records", "restore"]) == 1
    assert "still holds 1 records: stop the app, and pass --force" in capsys.readouterr().err
    assert main(["records", "restore", "--force"]) == 0


def test_a_backup_is_consistent_while_writes_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The online backup API copies a database that passes SQLite's integrity check, mid-writes."""
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    use_env(monkeypatch, env)
    with LiveApp(env) as client:
        for n in range(20):
            client.post("/api/sources", files={"file": (f"{n}.txt", b"x" * n, "text/plain")})
            if n % 5 == 0:
                assert main(["records", "backup"]) == 0
    newest = backups_in(LocalStorage(tmp_path))[-1]
    with sqlite3.connect(LocalStorage(tmp_path).path(newest.key)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM sources").fetchone()[0] >= 16


def test_health_and_metrics_report_a_backup_older_than_twice_its_interval(tmp_path: Path) -> None:
    from app.runtime import Runtime
    from app.settings import Settings

    settings = Settings.from_env({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local",
                                  "RECORDS_BACKUP_MINUTES": "1"})
    with Runtime.open(settings) as runtime:
        def backup_problems() -> list[str]:
            return [p.message for p in runtime.watch.problems() if "backup" in p.message]

        assert backup_problems() == []  # just started: none is due yet
        runtime.watch.started -= 121
        assert "no recent backup of the records: none yet" in backup_problems()[0]
        runtime.backups.once()
        assert backup_problems() == []
        runtime.backups.last_good = (runtime.backups.last_good or 0) - 121
        assert "the last is 2 min old, expected every 1 min" in backup_problems()[0]
        assert "ephitup_records_backup_age_seconds 121" in runtime.metrics.text().decode()
