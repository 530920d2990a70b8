"""Rebuilding the records of 10,000 episodes from their files, and backing up a database of that size.

Run by hand: ``.venv/bin/python -m benchmarks.rebuild [--episodes 10000]``.

Rebuild: ``app.recovery.rebuild`` (scan, plan, apply) into an empty SQLite database, from the data folder
(a sidecar read per file) and from a bucket (one listing per 1,000 keys and a HEAD per object, sixteen at
a time) on keep-alive moto, whose per-request CPU limits that figure on this machine. Backup: the app's
``backup_to`` (a WAL snapshot through SQLite's online backup API) against the ``sqlite3`` shell's
``.backup`` of the same database, in the same run; sizes of both.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.databases import SqliteDatabase
from app.records import Records
from app.recovery import rebuild
from app.runtime import s3_config
from app.settings import Settings
from app.storage import LocalStorage
from app.storage.descriptions import Description
from app.storage.s3 import S3Storage
from app.storage.stores import Stores
from benchmarks._harness import moto_server, s3_client

BUCKET = "bench-rebuild"
AUDIO = b"\xff\xfb" * 512  # 1 KiB: the figures are per file, not per byte


def described(n: int) -> tuple[str, Description]:
    episode_id = uuid.uuid4().hex
    return (f"episodes/user-{n % 50}/{episode_id}/show-{n}.mp3",
            Description(episode_id, "episode", f"Show {n} é", "audio/mpeg", time.time() + n, user_id=f"user-{n % 50}"))


def timed_rebuild(stores: Stores, database: Path) -> tuple[float, int]:
    started = time.perf_counter()
    records = Records(database)
    result = rebuild.plan(rebuild.scan(stores), records, stores)
    rebuild.apply(result, records)
    seconds = time.perf_counter() - started
    restored = len(records.episodes())
    records.close()
    return seconds, restored


def fill(store: LocalStorage | S3Storage, count: int) -> None:
    def save(n: int) -> None:
        key, description = described(n)
        store.save_stream(key if store.kind == "s3" else f"podcasts/episodes/{key}", io.BytesIO(AUDIO),
                          "audio/mpeg", description=description)

    with ThreadPoolExecutor(16 if store.kind == "s3" else 1) as pool:
        list(pool.map(save, range(count)))


def backups(database: Path, folder: Path) -> None:
    app_copy, shell_copy = folder / "app-copy.db", folder / "shell-copy.db"
    started = time.perf_counter()
    SqliteDatabase(database).backup_to(app_copy)
    app_seconds = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(database), f".backup '{shell_copy}'"], check=True)
    shell_seconds = time.perf_counter() - started
    print(f"backup of {database.stat().st_size / 2**20:.1f} MiB: app {app_seconds * 1000:.0f} ms "
          f"({app_copy.stat().st_size / 2**20:.1f} MiB), sqlite3 .backup {shell_seconds * 1000:.0f} ms "
          f"({shell_copy.stat().st_size / 2**20:.1f} MiB); app / shell {app_seconds / shell_seconds:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ephitup-bench-rebuild-"))
    local = LocalStorage(folder / "disk")
    fill(local, args.episodes)
    seconds, restored = timed_rebuild(Stores(local), folder / "from-disk.db")
    print(f"from the disk: {restored} episodes in {seconds:.1f} s ({restored / seconds:.0f} a second)")
    server, endpoint = moto_server()
    try:
        s3_client(endpoint).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
        remote = S3Storage(s3_config(Settings.from_env({
            "DATA_FOLDER": str(folder / "empty"), "STORAGE_MODE": "s3", "S3_BUCKET_NAME": BUCKET,
            "S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})))
        fill(remote, args.episodes)
        seconds, restored = timed_rebuild(Stores(LocalStorage(folder / "empty"), remote, scaled=True),
                                          folder / "from-bucket.db")
        print(f"from the bucket (moto): {restored} episodes in {seconds:.1f} s ({restored / seconds:.0f} a second)")
    finally:
        server.stop()
    backups(folder / "from-disk.db", folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
