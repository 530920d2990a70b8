"""Byte ranges over real HTTP, against a moto server on 127.0.0.1, through a presigned URL."""

from __future__ import annotations

import io
import os
import urllib.request
from pathlib import Path

import pytest

from app.runtime import s3_config
from app.settings import Settings
from app.storage.s3 import S3Storage
from tests.support.aws import s3_env

DATA = os.urandom(50_000)


@pytest.mark.parametrize(
    "header,expected",
    [("bytes=0-0", DATA[:1]), ("bytes=20000-20999", DATA[20000:21000]),
     ("bytes=49999-49999", DATA[-1:]), ("bytes=-100", DATA[-100:]), ("bytes=49000-", DATA[49000:])],
)
def test_presigned_url_serves_byte_ranges(tmp_path: Path, moto_server: str, server_bucket, header: str,
                                          expected: bytes) -> None:
    name, _ = server_bucket
    settings = Settings.from_env(s3_env(tmp_path, S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name))
    storage = S3Storage(s3_config(settings))
    storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(DATA), "audio/mpeg")
    url = storage.presign("episodes/u/e/a.mp3", 300)
    assert url.startswith(moto_server)
    request = urllib.request.Request(url, headers={"Range": header})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 206
        assert response.read() == expected
