"""The local store lists in S3's key order, and a folder too large to sort in memory lists in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

import app.storage.sorted_entries
from app.storage import LocalStorage

NAMES = ["a-b/x.mp3", "a/x.mp3", "a.b", "a0", "b/c/d.mp3", "é/x.mp3", "z.mp3", "Z.mp3", "a/y/z.mp3", "a b/x.mp3"]


def listed(root: Path) -> list[str]:
    return [stat.key for stat in LocalStorage(root).list()]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in NAMES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "link.mp3").symlink_to(tmp_path / "z.mp3")  # a link to a file inside the root: listed
    return tmp_path


def test_keys_come_in_s3s_order(folder: Path) -> None:
    keys = listed(folder)
    assert keys == sorted([*NAMES, "link.mp3"])  # S3 orders keys by their UTF-8 bytes: "a-b/" < "a.b" < "a/"


def test_a_folder_sorted_on_disk_lists_the_same_keys_in_the_same_order(folder: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    in_memory = listed(folder)
    monkeypatch.setattr(app.storage.sorted_entries, "IN_MEMORY", 2)
    monkeypatch.setattr(app.storage.sorted_entries, "BATCH", 3)
    assert listed(folder) == in_memory
