"""The seed's public names still work, as a face over the new storage interface."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.compat import s3 as seed_compat
from tests.support.aws import BUCKET, s3_env


def test_seed_upload_presign_delete_round_trip(bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_env(tmp_path, STORAGE_MODE="auto").items():
        monkeypatch.setenv(name, value)
    assert seed_compat.is_s3_configured()
    audio = tmp_path / "ep.mp3"
    audio.write_bytes(b"ID3 audio")
    key = seed_compat.build_episode_asset_key("user:u1", "episode:e1", "ep.mp3")
    url = asyncio.run(seed_compat.upload_file(audio, key, content_type="audio/mpeg"))
    assert url == f"s3://{BUCKET}/episodes/u1/e1/ep.mp3"
    assert seed_compat.parse_s3_url(url) == (BUCKET, key)
    assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"ID3 audio"
    assert "X-Amz-Signature" in seed_compat.generate_presigned_url(url)
    seed_compat.delete_object(url)
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_seed_functions_raise_the_seed_error_when_s3_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(seed_compat.S3StorageError, match="S3_BUCKET_NAME"):
        seed_compat.delete_object("episodes/u/e/f.mp3")
