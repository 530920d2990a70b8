"""`ephitup migrate to-s3` against `aws s3 sync` (awscli from PyPI): 200 episodes of 2 MB to a moto server.

Run by hand: ``.venv/bin/python -m benchmarks.migrate_vs_sync``. awscli pins its own botocore, so it
lives in its own venv (``.venv-awscli``, created on first use). Prints figures and ratios from one run;
targets: migrate >= 1.0x the throughput of `aws s3 sync`; migrate's no-op rerun <= 10% of its first run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import CREDENTIALS, REGION, ROOT, moto_server, s3_client
from tests.migration_data import build_local_episodes

EPISODES, SIZE = 200, 2 * 1024 * 1024
AWSCLI = ROOT / ".venv-awscli"


def aws_cli() -> Path:
    executable = AWSCLI / "bin" / "aws"
    if not executable.exists():
        print("installing awscli into .venv-awscli (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI)], check=True)
        subprocess.run([str(AWSCLI / "bin" / "pip"), "install", "--quiet", "awscli"], check=True)
    return executable


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env={**os.environ, **CREDENTIALS, **env}, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> int:
    aws = aws_cli()
    moto, endpoint = moto_server()
    work = Path(tempfile.mkdtemp(prefix="ephitup-migrate-bench-"))
    try:
        s3 = s3_client(endpoint)
        for bucket in ("bench-migrate", "bench-sync"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        data = work / "data"
        build_local_episodes(data, EPISODES, SIZE)
        episodes_dir = work / "sync-source"
        shutil.copytree(data / "podcasts" / "episodes", episodes_dir)  # the same files, for awscli
        megabytes = EPISODES * SIZE / 2**20

        sync = [str(aws), "s3", "sync", str(episodes_dir), "s3://bench-sync/episodes", "--endpoint-url", endpoint,
                "--region", REGION, "--only-show-errors"]
        sync_first, sync_rerun = timed(sync, {}), timed(sync, {})

        env = {"DATA_FOLDER": str(data), "S3_BUCKET_NAME": "bench-migrate", "S3_ENDPOINT_URL": endpoint,
               "S3_REGION": REGION}
        migrate = [str(ROOT / ".venv" / "bin" / "ephitup"), "migrate", "to-s3"]
        migrate_first, migrate_rerun = timed(migrate, env), timed(migrate, env)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{EPISODES} episodes x {SIZE >> 20} MiB ({megabytes:.0f} MiB) to a moto server on 127.0.0.1")
    print(f"{'':28} {'first run':>10} {'throughput':>12} {'no-op rerun':>12}")
    for name, first, rerun in (("aws s3 sync", sync_first, sync_rerun),
                               ("ephitup migrate to-s3", migrate_first, migrate_rerun)):
        print(f"{name:28} {first:9.2f}s {megabytes / first:8.1f} MiB/s {rerun:11.2f}s")
    checks = [
        ("migrate / sync throughput", sync_first / migrate_first, ">= 1.00", sync_first / migrate_first >= 1.0),
        ("migrate rerun / first run", migrate_rerun / migrate_first, "<= 0.10", migrate_rerun / migrate_first <= 0.1),
        ("sync rerun / first run", sync_rerun / sync_first, "(info)", True),
    ]
    for name, value, target, ok in checks:
        print(f"{name:28} {value:10.2f}  target {target:8} {'ok' if ok else 'MISSED'}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
