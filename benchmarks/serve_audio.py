"""Serving a 100 MB episode from S3 (a moto server): the app's proxy against raw boto3 and the seed.

Run by hand: ``.venv/bin/python -m benchmarks.serve_audio``. Prints figures and ratios from one run;
targets: proxy throughput >= 0.8x raw, time to first byte <= 2x raw, app peak RSS growth < 64 MB.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import urllib3

from benchmarks._harness import app_server, median, moto_server, s3_client

SIZE = 100 * 1024 * 1024
ROUNDS = 5
CHUNK = 1024 * 1024
BUCKET = "bench-media"


def timed_stream(open_chunks) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(time to first byte, total seconds, bytes), timed from the request: ``open_chunks()`` sends it."""
    started = time.perf_counter()
    first, total = None, 0
    for chunk in open_chunks():
        if first is None:
            first = time.perf_counter() - started
        total += len(chunk)
    return first or 0.0, time.perf_counter() - started, total


def main() -> int:
    moto, endpoint = moto_server()
    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    data_folder = Path(tempfile.mkdtemp(prefix="ephitup-bench-"))
    env = {"DATA_FOLDER": str(data_folder), "STORAGE_MODE": "s3", "S3_BUCKET_NAME": BUCKET,
           "S3_ENDPOINT_URL": endpoint, "MAX_UPLOAD_MB": "200"}
    try:
        app, base = app_server(env)
        audio = os.urandom(1024 * 1024) * (SIZE // (1024 * 1024))
        episode = httpx.post(f"{base}/api/podcasts/episodes", data={"name": "bench"}, timeout=300,
                             files={"audio": ("b.mp3", audio, "audio/mpeg")}).json()
        assert episode["state"] == "stored", episode
        key = episode["audio_ref"].split(f"s3://{BUCKET}/", 1)[1]
        app.stop()  # restart, so the upload's memory does not hide the serving peak
        app, base = app_server(env)
        url = f"{base}{episode['audio_url']}"
        # The app is read with urllib3, the HTTP stack boto3 uses, so only the app's hop differs.
        http = urllib3.PoolManager()
        http.request("GET", url, headers={"Range": "bytes=0-1"})  # warm the app's S3 client
        rss_before = app.peak_rss_mib()
        raw, proxy, seed = [], [], []
        for _ in range(ROUNDS):
            raw.append(timed_stream(lambda: s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(CHUNK)))
            proxy.append(timed_stream(lambda: http.request("GET", url, preload_content=False).stream(CHUNK)))
            seed.append(seed_time_to_first_byte(s3, key))
        rss_after = app.peak_rss_mib()
        app.stop()
    finally:
        moto.stop()

    assert all(r[2] == SIZE for r in raw + proxy), "short read"
    raw_ttfb, raw_mbps = median([r[0] for r in raw]), SIZE / median([r[1] for r in raw]) / 2**20
    proxy_ttfb, proxy_mbps = median([r[0] for r in proxy]), SIZE / median([r[1] for r in proxy]) / 2**20
    seed_ttfb = median(seed)
    growth = rss_after - rss_before
    rows = [
        ("raw boto3 get_object", f"{raw_mbps:8.1f} MiB/s", f"{raw_ttfb * 1000:8.1f} ms", ""),
        ("app proxy (206-capable)", f"{proxy_mbps:8.1f} MiB/s", f"{proxy_ttfb * 1000:8.1f} ms", ""),
        ("seed: temp file, then serve", "", f"{seed_ttfb * 1000:8.1f} ms", ""),
    ]
    print(f"serving a {SIZE >> 20} MiB episode from a moto server, median of {ROUNDS} rounds")
    print(f"{'':30} {'throughput':>14} {'first byte':>11}")
    for name, mbps, ttfb, _ in rows:
        print(f"{name:30} {mbps:>14} {ttfb:>11}")
    checks = [
        ("proxy throughput / raw", proxy_mbps / raw_mbps, ">= 0.80", proxy_mbps / raw_mbps >= 0.8),
        ("proxy first byte / raw", proxy_ttfb / raw_ttfb, "<= 2.00", proxy_ttfb / raw_ttfb <= 2.0),
        ("seed first byte / proxy", seed_ttfb / proxy_ttfb, "(info)", True),
        ("app peak RSS growth (MiB)", growth, "< 64", growth < 64),
    ]
    for name, value, target, ok in checks:
        print(f"{name:30} {value:10.2f}  target {target:8} {'ok' if ok else 'MISSED'}")
    return 0 if all(ok for *_, ok in checks) else 1


def seed_time_to_first_byte(s3, key: str) -> float:  # type: ignore[no-untyped-def]
    """The seed's approach: download the whole object to a temp file, then start serving it."""
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile() as temp:
        s3.download_file(BUCKET, key, temp.name)
        with open(temp.name, "rb") as served:
            served.read(64 * 1024)
        return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
