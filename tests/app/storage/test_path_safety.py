"""The local backend never reads or writes outside DATA_FOLDER, whatever the key or the links."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from app.storage import InvalidReferenceError, LocalStorage
from app.storage.local import PARTIALS
from tests.support.data import read_all


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    (tmp_path / "data" / "uploads").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("do not serve")
    return LocalStorage(tmp_path / "data")


@pytest.mark.parametrize("key", ["../outside/secret.txt", "uploads/../../outside/secret.txt", "/etc/passwd",
                                 "uploads/..\\..\\x", "uploads/\x00x"])
def test_traversal_is_refused(storage: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidReferenceError):
        storage.stat(key)
    with pytest.raises(InvalidReferenceError):
        storage.save_stream(key, io.BytesIO(b"x"), "text/plain")


def test_symlinked_directory_pointing_out_is_refused(storage: LocalStorage, tmp_path: Path) -> None:
    (storage.root / "uploads" / "escape").symlink_to(tmp_path / "outside")
    with pytest.raises(InvalidReferenceError):
        read_all(storage, "uploads/escape/secret.txt")
    with pytest.raises(InvalidReferenceError):
        storage.save_stream("uploads/escape/new.txt", io.BytesIO(b"x"), "text/plain")
    assert not (tmp_path / "outside" / "new.txt").exists()


def test_symlinked_file_pointing_out_is_refused(storage: LocalStorage, tmp_path: Path) -> None:
    (storage.root / "uploads" / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    with pytest.raises(InvalidReferenceError):
        read_all(storage, "uploads/link.txt")


def test_a_symlink_inside_the_root_is_fine(storage: LocalStorage) -> None:
    storage.save_stream("uploads/real.txt", io.BytesIO(b"ok"), "text/plain")
    (storage.root / "uploads" / "alias.txt").symlink_to(storage.root / "uploads" / "real.txt")
    assert read_all(storage, "uploads/alias.txt") == b"ok"
    assert [stat.key for stat in storage.list("uploads/")] == ["uploads/alias.txt", "uploads/real.txt"]


def test_a_listing_leaves_out_links_that_lead_outside(storage: LocalStorage, tmp_path: Path) -> None:
    storage.save_stream("uploads/real.txt", io.BytesIO(b"ok"), "text/plain")
    (storage.root / "uploads" / "link.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (storage.root / "uploads" / "escape").symlink_to(tmp_path / "outside")
    (storage.root / "uploads" / "loop").symlink_to(storage.root)  # a folder link: not followed, no endless walk
    assert [stat.key for stat in storage.list()] == ["uploads/real.txt"]


def test_old_partial_writes_are_removed_and_recent_ones_kept(storage: LocalStorage) -> None:
    storage.save_stream("uploads/kept.pdf", io.BytesIO(b"whole"), "application/pdf")
    old, recent = storage.path(f"{PARTIALS}/a.pdf.x1.part"), storage.path(f"{PARTIALS}/b.pdf.x2.part")
    for path in (old, recent):
        path.write_bytes(b"half")
    hour_ago = time.time() - 7200
    os.utime(old, (hour_ago, hour_ago))
    assert storage.remove_partials() == (f"{PARTIALS}/a.pdf.x1.part",)
    assert recent.exists() and not old.exists() and read_all(storage, "uploads/kept.pdf") == b"whole"


def test_a_write_in_progress_is_in_the_partials_folder_alone(storage: LocalStorage) -> None:
    """One folder to look in after a crash, whatever the size of the library; none left once a write ends."""
    seen: list[list[str]] = []

    class Watched(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            seen.append([p.name for p in storage.path(PARTIALS).iterdir()])
            return super().read(size)

    storage.save_stream("podcasts/episodes/a/audio/a.mp3", Watched(b"x"), "audio/mpeg")
    assert seen[0] and seen[0][0].startswith("a.mp3.") and seen[0][0].endswith(".part")
    assert list(storage.path(PARTIALS).iterdir()) == []
    assert [p.name for p in storage.path("podcasts/episodes/a/audio").iterdir()] == ["a.mp3"]
