"""Memory per audio stream is bounded: 50 simultaneous full streams to slow listeners fit Render's starter
plan (512 MB) with room to spare, from the disk and from S3."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.aws import s3_env
from tests.support.live import AppProcess

SIZE = 8 * 2**20
STREAMS = 50
GROWTH_BOUND_MIB = 128  # about 1 MiB a stream (ranges.py), with room for the allocator


@pytest.mark.parametrize("mode", ["local", "s3"])
def test_fifty_slow_streams_stay_within_the_bound(tmp_path: Path, mode: str, request: pytest.FixtureRequest) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    if mode == "s3":
        name, _ = request.getfixturevalue("server_bucket")
        env = s3_env(tmp_path, S3_ENDPOINT_URL=request.getfixturevalue("moto_server"), S3_BUCKET_NAME=name)
    app = AppProcess(env)
    try:
        audio = os.urandom(SIZE)
        created = httpx.post(f"{app.base_url}/api/podcasts/episodes", data={"name": "long"}, timeout=60,
                             files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()
        assert created["state"] == "stored"
        before = app.peak_rss_mib()
        received: list[int] = []

        def listen() -> None:
            with httpx.stream("GET", app.base_url + created["audio_url"], timeout=120) as answer:
                total = 0
                for n, chunk in enumerate(answer.iter_raw(65536)):
                    total += len(chunk)
                    if n == 0:
                        time.sleep(2)  # a slow listener: every buffer on the way fills up
                received.append(total)

        listeners = [threading.Thread(target=listen) for _ in range(STREAMS)]
        for listener in listeners:
            listener.start()
        for listener in listeners:
            listener.join(120)
        growth = app.peak_rss_mib() - before
        print(f"{mode}: {STREAMS} streams, peak RSS {app.peak_rss_mib():.0f} MiB, growth {growth:.0f} MiB")
        assert received == [SIZE] * STREAMS
        assert growth < GROWTH_BOUND_MIB
    finally:
        app.stop()
