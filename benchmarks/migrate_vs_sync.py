"""`ephitup migrate to-s3` against `aws s3 sync` (awscli from PyPI): 200 episodes of 2 MB to a moto server.

Run by hand: ``.venv/bin/python -m benchmarks.migrate_vs_sync``. awscli pins its own botocore, so it
lives in its own venv (``.venv-awscli``, created on first use). Prints figures and ratios from one run;
targets: migrate >= 1.0x the throughput of `aws s3 sync`; migrate's no-op rerun <= 10% of its first run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import CREDENTIALS, REGION, ROOT, moto_server, s3_client
from tests.migration_data import build_local_episodes

EPISODES, SIZE = 200, 2 * 1024 * 1024
ROUNDS = 5
BUCKET = "bench"
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


def command(name: str, aws: Path, data: Path, endpoint: str) -> tuple[list[str], dict[str, str]]:
    """The same 200 files, to the same kind of bucket, by either tool."""
    if name == "sync":
        return [str(aws), "s3", "sync", str(data / "podcasts" / "episodes"), f"s3://{BUCKET}/episodes",
                "--endpoint-url", endpoint, "--region", REGION, "--only-show-errors"], {}
    env = {"DATA_FOLDER": str(data), "S3_BUCKET_NAME": BUCKET, "S3_ENDPOINT_URL": endpoint, "S3_REGION": REGION}
    return [str(ROOT / ".venv" / "bin" / "ephitup"), "migrate", "to-s3"], env


def main() -> int:
    aws = aws_cli()
    work = Path(tempfile.mkdtemp(prefix="ephitup-migrate-bench-"))
    runs: dict[str, list[float]] = {"sync": [], "sync rerun": [], "migrate": [], "migrate rerun": []}
    try:
        pristine = work / "pristine"
        build_local_episodes(pristine, EPISODES, SIZE)  # records + files, through the app's finalize
        for round_ in range(ROUNDS):
            order = ("sync", "migrate") if round_ % 2 == 0 else ("migrate", "sync")
            for name in order:
                # Each measurement gets a fresh server and its own copy: a server filling up round after
                # round (moto keeps every object in memory) would slow whoever comes later.
                moto, endpoint = moto_server()
                try:
                    data = work / f"{name}-{round_}"
                    shutil.copytree(pristine, data)
                    os.sync()  # the copy's writeback would otherwise land on the tool's run
                    s3_client(endpoint).create_bucket(Bucket=BUCKET,
                                                      CreateBucketConfiguration={"LocationConstraint": REGION})
                    argv, env = command(name, aws, data, endpoint)
                    runs[name].append(timed(argv, env))
                    runs[f"{name} rerun"].append(timed(argv, env))
                finally:
                    moto.stop()
                    shutil.rmtree(data, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    megabytes = EPISODES * SIZE / 2**20
    median = {name: statistics.median(times) for name, times in runs.items()}
    print(f"{EPISODES} episodes x {SIZE >> 20} MiB ({megabytes:.0f} MiB) to a moto server on 127.0.0.1, "
          f"median of {ROUNDS} rounds, a fresh server per run, the tools taking turns to go first")
    print(f"{'':28} {'first run':>10} {'throughput':>12} {'no-op rerun':>12}   first runs")
    for name, label in (("sync", "aws s3 sync"), ("migrate", "ephitup migrate to-s3")):
        first, rerun = median[name], median[f"{name} rerun"]
        spread = ", ".join(f"{t:.2f}" for t in runs[name])
        print(f"{label:28} {first:9.2f}s {megabytes / first:8.1f} MiB/s {rerun:11.2f}s   {spread}")
    checks = [
        ("migrate / sync throughput", median["sync"] / median["migrate"], ">= 1.00",
         median["sync"] / median["migrate"] >= 1.0),
        ("migrate rerun / first run", median["migrate rerun"] / median["migrate"], "<= 0.10",
         median["migrate rerun"] / median["migrate"] <= 0.1),
        ("sync rerun / first run", median["sync rerun"] / median["sync"], "(info)", True),
    ]
    for name, value, target, ok in checks:
        print(f"{name:28} {value:10.2f}  target {target:8} {'ok' if ok else 'MISSED'}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
