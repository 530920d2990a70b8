"""Streaming a 200 MB object through the range reader keeps memory bounded by the chunk size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.runtime import s3_config
from app.settings import Settings
from app.storage.s3 import S3Storage
from tests.support.aws import s3_env
from tests.support.paths import ROOT

SIZE = 200 * 1024 * 1024
LIMIT_KIB = 32 * 1024


def test_streaming_200_mb_grows_peak_rss_by_less_than_32_mb(tmp_path: Path, moto_server: str,
                                                             server_bucket) -> None:
    name, _ = server_bucket
    env = s3_env(tmp_path, S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name)
    source = tmp_path / "big.mp3"
    block = os.urandom(1024 * 1024)
    with source.open("wb") as out:
        for _ in range(SIZE // len(block)):
            out.write(block)
    S3Storage(s3_config(Settings.from_env(env))).save_file("episodes/u/e/big.mp3", source, "audio/mpeg")

    result = subprocess.run(
        [sys.executable, "-m", "tests.support.stream_probe", "episodes/u/e/big.mp3"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=True,
        cwd=ROOT,
    )
    figures = json.loads(result.stdout)
    growth = figures["after_kib"] - figures["before_kib"]
    print(f"peak RSS growth streaming {SIZE >> 20} MiB: {growth / 1024:.1f} MiB")
    assert figures["received"] == figures["size"] == SIZE
    assert growth < LIMIT_KIB
