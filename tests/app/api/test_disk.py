"""A full or read-only data folder: writes answer 507 or 503 naming the cause, /health says so, and both recover."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import app.health
from app.health import DiskReading
from app.settings import Settings, SettingsError
from app.startup import start
from app.storage import LocalStorage
from tests.support.live import LiveApp


@pytest.fixture
def client(small_disk: Path) -> Iterator[httpx.Client]:
    with LiveApp({"DATA_FOLDER": str(small_disk), "STORAGE_MODE": "local"}) as client:
        yield client


def post(client: httpx.Client, size: int) -> httpx.Response:
    return client.post("/api/podcasts/episodes", data={"name": "show"},
                       files={"audio": ("a.mp3", os.urandom(size), "audio/mpeg")})


def fill(disk: Path, leave: int) -> Path:
    """A file that leaves about ``leave`` bytes free."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


def health(client: httpx.Client) -> tuple[int, str, list[str]]:
    answer = client.get("/health")
    return answer.status_code, answer.json()["status"], [p["message"] for p in answer.json()["problems"]]


def test_a_full_disk_answers_507_and_keeps_no_part_of_the_upload(client: httpx.Client, small_disk: Path) -> None:
    kept = post(client, 1000).json()
    filler = fill(small_disk, leave=200_000)
    answer = post(client, 1_000_000)
    assert answer.status_code == 507 and "full" in answer.json()["detail"]
    source = client.post("/api/sources", files={"file": ("a.pdf", os.urandom(1_000_000), "application/pdf")})
    assert source.status_code == 507
    assert [e["id"] for e in client.get("/api/podcasts/episodes").json()] == [kept["id"]]
    assert not [p for p in small_disk.rglob("*") if p.name.endswith(".part")]
    filler.unlink()
    assert post(client, 1_000_000).status_code == 201  # recovers as soon as there is room


@pytest.mark.parametrize("leave_fraction,status", [(0.10, "degraded"), (0.02, "error")])
def test_health_turns_degraded_then_error_as_the_disk_fills_and_recovers(
        client: httpx.Client, small_disk: Path, leave_fraction: float, status: str) -> None:
    assert health(client)[:2] == (200, "ok")
    stats = os.statvfs(small_disk)
    filler = fill(small_disk, leave=int(stats.f_blocks * stats.f_frsize * leave_fraction))
    code, seen, problems = health(client)
    assert (code, seen) == (200, status)  # a full disk still serves every episode: Render keeps routing here
    assert "% full" in problems[0] and "grow the Render disk" in problems[0]
    filler.unlink()
    assert health(client)[:2] == (200, "ok")


def test_a_disk_turned_read_only_answers_503_and_health_says_so(client: httpx.Client, small_disk: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk cannot be remounted read-only under open files; a failing one is (errors=remount-ro): injected."""
    kept = post(client, 1000).json()
    with monkeypatch.context() as broken:
        broken.setattr(app.health, "read_disk", lambda folder: DiskReading(4 * 2**20, 2**20, read_only=True))
        broken.setattr(LocalStorage, "save_stream", lambda *args, **kwargs: _raise(OSError(errno.EROFS, "ro")))
        answer = post(client, 1000)
        assert answer.status_code == 503 and "cannot be written (Read-only file system)" in answer.json()["detail"]
        assert client.get(kept["audio_url"]).status_code == 200  # reading still works
        code, status, problems = health(client)
        assert (code, status) == (200, "error") and "read-only" in problems[0]
    assert health(client)[:2] == (200, "ok") and post(client, 1000).status_code == 201


def _raise(error: Exception) -> None:
    raise error


def test_the_app_refuses_to_start_on_a_read_only_disk_saying_why(small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(SettingsError, match="is read-only"):
        start(Settings.from_env({"DATA_FOLDER": str(small_disk), "STORAGE_MODE": "local"}))


def test_a_disk_an_ext4_error_turned_read_only_is_an_error_in_health(failing_ext4: tuple[Path, Path]) -> None:
    """statvfs and access() still say writable under ``emergency_ro``: only a real write tells."""
    mount, trigger = failing_ext4
    with LiveApp({"DATA_FOLDER": str(mount), "STORAGE_MODE": "local"}) as client:
        assert health(client)[:2] == (200, "ok")
        trigger.write_text("1")
        code, status, problems = health(client)
        assert (code, status) == (200, "error") and "read-only" in problems[0]
        assert post(client, 1000).status_code == 503
