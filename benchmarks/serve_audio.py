"""Serving episodes from S3: the app's audio proxy against raw `get_object`, at 1, 4 and 16 parallel streams.

Run by hand: ``.venv/bin/python -m benchmarks.serve_audio [--rounds 3] [--server sink|moto] [--link 20:50]
[--own-core]``.

One 64 MiB episode is stored through the app, then read by N parallel streams, 16 whole reads (1 GiB) per
figure whatever N, either straight from the S3 server with boto3 (raw) or through the app (``GET
/api/podcasts/episodes/{id}/audio``, read with urllib3, the HTTP stack boto3 uses, so only the app's hop
differs). Rounds alternate which goes first;
ratios are paired within a round. Also printed: the app's CPU seconds per GiB served and its peak RSS
growth over the run (the most streams at once is 16), and the seed's time to first byte (it
downloaded the whole object to a temporary file before serving any of it).

On loopback everything (server, app, client) shares this machine's two cores, so the ratio there is the
share of CPU the app's hop takes, not how well it streams. Two ways to measure the hop instead:
``--link RTT_MS:MB_PER_S`` puts S3 behind a delaying, rate-limited proxy (per connection, as one TCP flow
over a long link), for raw reads and the app alike: the ratio then says whether the proxy keeps a real
link busy. ``--own-core`` gives the app a CPU of its own and puts the S3 server, the link and the readers
on the other, as in production, where S3 and the listeners are not on the app's machine: the ratio then
says whether the app keeps up with what S3 delivers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.pool import Pool
from pathlib import Path

import httpx
import urllib3

from benchmarks._harness import S3_SERVERS, app_server, latency_proxy, s3_client

SIZE = 64 * 1024 * 1024
CHUNK = 1024 * 1024
BUCKET = "bench-media"
STREAMS = (1, 4, 16)
PER_MEASUREMENT = max(STREAMS)  # whole reads timed together: 1 GiB whatever the number of streams


_read_one: Callable[[], int] = lambda: 0  # noqa: E731 (each listener process sets its own)


def _listen(kind: str, endpoint: str, key: str, url: str) -> None:
    """A listener process: raw ``get_object`` from S3, or the app's audio URL read with urllib3 (the HTTP stack
    boto3 uses, so only the app's hop differs)."""
    global _read_one
    if kind == "raw":
        s3 = s3_client(endpoint)
        _read_one = lambda: drain(s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(CHUNK))  # noqa: E731
    else:
        http = urllib3.PoolManager()
        _read_one = lambda: drain(http.request("GET", url, preload_content=False).stream(CHUNK))  # noqa: E731


def _stream(reads: int) -> list[int]:
    return [_read_one() for _ in range(reads)]


def listeners(kind: str, endpoint: str, key: str, url: str) -> Pool:
    """A process per stream, as listeners are, all started now: threads in one process measured its GIL
    (16 readers in one process ran at half the speed of 4, and unevenly)."""
    return Pool(max(STREAMS), initializer=_listen, initargs=(kind, endpoint, key, url))


def parallel_seconds(pool: Pool, streams: int, reads: int = PER_MEASUREMENT) -> float:
    """Wall time for ``reads`` complete reads by ``streams`` listeners at once, each reading the object again
    and again: every figure moves the same bytes, so one stream is not timed over a single 0.2 s read."""
    started = time.perf_counter()
    sizes = [size for sizes in pool.map(_stream, [reads // streams] * streams, chunksize=1) for size in sizes]
    assert sizes and all(size == SIZE for size in sizes), sizes
    return time.perf_counter() - started


def drain(chunks) -> int:  # type: ignore[no-untyped-def]
    return sum(len(chunk) for chunk in chunks)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=S3_SERVERS, default="sink",
                        help="sink: benchmarks.s3_sink (default), moto: keep-alive moto (its CPU limits both)")
    parser.add_argument("--link", help="RTT_MS:MB_PER_S, e.g. 20:50: S3 behind a delaying, rate-limited proxy")
    parser.add_argument("--own-core", action="store_true",
                        help="the app on CPU 1; S3, the link and the readers on CPU 0 (needs two CPUs)")
    args = parser.parse_args()
    app_cpus = None
    if args.own_core:
        if len(os.sched_getaffinity(0)) < 2:
            parser.error("--own-core needs two CPUs")
        os.sched_setaffinity(0, {0})  # this process and every server it starts from here on
        app_cpus = {1}
    server, direct = S3_SERVERS[args.server]()
    s3_client(direct).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    link, endpoint = (None, direct)
    if args.link:
        rtt_ms, rate = (float(part) for part in args.link.split(":"))
        link, endpoint = latency_proxy(direct, rtt_ms, rate)
    s3 = s3_client(endpoint)
    data_folder = Path(tempfile.mkdtemp(prefix="ephitup-bench-"))
    env = {"DATA_FOLDER": str(data_folder), "STORAGE_MODE": "s3", "S3_BUCKET_NAME": BUCKET,
           "S3_ENDPOINT_URL": endpoint, "MAX_UPLOAD_MB": "200"}
    ratios: dict[int, list[float]] = {n: [] for n in STREAMS}
    speeds: dict[str, dict[int, list[float]]] = {"raw": {n: [] for n in STREAMS}, "proxy": {n: [] for n in STREAMS}}
    try:
        app, base = app_server(env, app_cpus)
        episode = httpx.post(f"{base}/api/podcasts/episodes", data={"name": "bench"}, timeout=300,
                             files={"audio": ("b.mp3", os.urandom(SIZE), "audio/mpeg")}).json()
        assert episode["state"] == "stored", episode
        key = episode["audio_ref"].split(f"s3://{BUCKET}/", 1)[1]
        app.stop()  # restart, so the upload's memory does not hide the serving peak
        app, base = app_server(env, app_cpus)
        url = f"{base}{episode['audio_url']}"
        pools = {kind: listeners(kind, endpoint, key, url) for kind in ("raw", "proxy")}
        parallel_seconds(pools["proxy"], 1, reads=1)  # the app's S3 client made (one stream: the peak stays unseen)
        parallel_seconds(pools["raw"], max(STREAMS), reads=max(STREAMS))
        rss_before, cpu_before, served = app.peak_rss_mib(), cpu_seconds(app.popen.pid), 0
        ttfb_started = time.perf_counter()
        first = next(urllib3.PoolManager().request("GET", url, preload_content=False).stream(64 * 1024))
        proxy_ttfb = time.perf_counter() - ttfb_started
        assert first
        for round_ in range(args.rounds):
            for streams in STREAMS:
                order = ("raw", "proxy") if (round_ + streams) % 2 == 0 else ("proxy", "raw")
                took = {name: parallel_seconds(pools[name], streams) for name in order}
                served += PER_MEASUREMENT * SIZE
                for name, seconds in took.items():
                    speeds[name][streams].append(PER_MEASUREMENT * SIZE / seconds / 2**20)
                ratios[streams].append(took["raw"] / took["proxy"])
        rss_growth = app.peak_rss_mib() - rss_before
        app_cpu = cpu_seconds(app.popen.pid) - cpu_before
        app.stop()
        for pool in pools.values():
            pool.terminate()
        seed_ttfb = seed_time_to_first_byte(s3, key)
    finally:
        if link:
            link.stop()
        server.stop()

    where = f"over a {args.link.replace(':', ' ms, ')} MB/s link" if args.link else "on loopback"
    if args.own_core:
        where += ", the app on a CPU of its own (S3, link and readers on the other)"
    print(f"a {SIZE >> 20} MiB episode from the {args.server} server {where}, {args.rounds} rounds, order alternating; "
          "MiB/s summed over the streams (medians)")
    print(f"{'streams':>8} {'raw':>10} {'proxy':>10}   proxy/raw min median max   (target >= 0.90 each)")
    for streams in STREAMS:
        values = ratios[streams]
        print(f"{streams:8d} {statistics.median(speeds['raw'][streams]):10.1f} "
              f"{statistics.median(speeds['proxy'][streams]):10.1f}   "
              f"{min(values):13.2f} {statistics.median(values):6.2f} {max(values):4.2f}")
    print(f"app CPU per GiB served: {app_cpu / (served / 2**30):.2f} s; "
          f"app peak RSS growth with up to {max(STREAMS)} streams: {rss_growth:.1f} MiB (target <= 32)")
    print(f"time to first byte: proxy {proxy_ttfb * 1000:.1f} ms, the seed's download-then-serve "
          f"{seed_ttfb * 1000:.1f} ms")
    return 0


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
