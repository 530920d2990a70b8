from pathlib import Path

import pytest

from app.storage import (
    InvalidReferenceError,
    build_episode_asset_key,
    parse_reference,
    parse_s3_url,
)
from app.storage.references import Location

AP = "arn:aws:s3:us-east-2:123456789012:accesspoint/ephitup-prod"


def test_seed_key_layout_and_sanitising() -> None:
    assert build_episode_asset_key("user:alice", "episode:42", "Show 1.mp3") == "episodes/alice/42/Show_1.mp3"
    assert build_episode_asset_key(None, "ep:a:b c", "x.mp3") == "episodes/anonymous/a_b_c/x.mp3"
    assert build_episode_asset_key("u", "e", "../../etc/passwd") == "episodes/u/e/passwd"
    assert build_episode_asset_key("u", "e", "a:b.mp3") == "episodes/u/e/a_b.mp3"


def test_parse_s3_url_with_bucket_and_access_point_arn() -> None:
    assert parse_s3_url("s3://media/episodes/u/e/f.mp3") == ("media", "episodes/u/e/f.mp3")
    assert parse_s3_url(f"s3://{AP}/episodes/u/e/f.mp3") == (AP, "episodes/u/e/f.mp3")
    with pytest.raises(InvalidReferenceError):
        parse_s3_url("s3://media")


@pytest.mark.parametrize(
    "reference,key",
    [
        ("podcasts/episodes/a/audio/a.mp3", "podcasts/episodes/a/audio/a.mp3"),
        ("/mydata/podcasts/episodes/a/audio/a.mp3", "podcasts/episodes/a/audio/a.mp3"),
        ("/app/data/uploads/f.pdf", "uploads/f.pdf"),
        ("/data/podcasts/episodes/a/audio/a.mp3", "podcasts/episodes/a/audio/a.mp3"),
        ("./data/uploads/f.pdf", "uploads/f.pdf"),
        ("file:///mydata/uploads/f.pdf", "uploads/f.pdf"),
    ],
)
def test_relative_and_legacy_references_resolve_inside_the_data_folder(reference: str, key: str,
                                                                       tmp_path: Path) -> None:
    assert parse_reference(reference, tmp_path) == Location(key=key)


def test_absolute_path_inside_the_current_data_folder(tmp_path: Path) -> None:
    assert parse_reference(str(tmp_path / "uploads" / "f.pdf"), tmp_path) == Location("uploads/f.pdf")


@pytest.mark.parametrize(
    "reference",
    ["../secrets", "uploads/../../x", "/etc/passwd", "/mydata/../etc/passwd", "file:///etc/shadow",
     "/mydata", ""],
)
def test_references_escaping_the_data_folder_are_refused(reference: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_reference(reference, tmp_path)


def test_s3_reference(tmp_path: Path) -> None:
    assert parse_reference("s3://media/episodes/u/e/f.mp3", tmp_path) == Location("episodes/u/e/f.mp3", "media")
