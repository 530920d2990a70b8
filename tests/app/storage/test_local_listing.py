"""The local store lists in S3's key order, and a folder too large to sort in memory lists in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

import app.storage.local
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
    assert listed(folder) == in_memory


@pytest.mark.parametrize("start_after", ["", "a", "a-b/x.mp3", "a.b", "a/", "a/x.mp3", "a/y", "b", "é", "zz"])
def test_a_listing_after_a_key_is_the_rest_of_the_whole_one_in_order(folder: Path, start_after: str) -> None:
    """What S3's ListObjectsV2 StartAfter gives, whether or not the key exists."""
    whole = listed(folder)
    rest = [stat.key for stat in LocalStorage(folder).list(start_after=start_after)]
    assert rest == [key for key in whole if key > start_after]


def test_folders_wholly_before_the_start_are_not_walked(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[str] = []
    original = app.storage.sorted_entries.sorted_entries

    def recorded(directory: str) -> object:
        walked.append(Path(directory).relative_to(folder).as_posix())
        return original(directory)

    monkeypatch.setattr(app.storage.local, "sorted_entries", recorded)
    assert [stat.key for stat in LocalStorage(folder).list(start_after="a/y/z.mp3")][:2] == ["a0", "b/c/d.mp3"]
    assert "a b" not in walked and "a-b" not in walked and "a/y" in walked
