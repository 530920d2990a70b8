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

from benchmarks._harness import CREDENTIALS, REGION, ROOT, local_episodes, moto_server, s3_client

EPISODES, SIZE = 200, 2 * 1024 * 1024
ROUNDS = 5
TOOLS = ("sync", "migrate")  # each also names its bucket
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
    """The same 200 files, to a bucket on the same server, by either tool."""
    if name == "sync":
        return [str(aws), "s3", "sync", str(data / "podcasts" / "episodes"), f"s3://{name}/episodes",
                "--endpoint-url", endpoint, "--region", REGION, "--only-show-errors"], {}
    env = {"DATA_FOLDER": str(data), "S3_BUCKET_NAME": name, "S3_ENDPOINT_URL": endpoint, "S3_REGION": REGION}
    return [str(ROOT / ".venv" / "bin" / "ephitup"), "migrate", "to-s3"], env


def main() -> int:
    aws = aws_cli()
    work = Path(tempfile.mkdtemp(prefix="ephitup-migrate-bench-"))
    runs: dict[str, list[float]] = {"sync": [], "sync rerun": [], "migrate": [], "migrate rerun": []}
    try:
        pristine = work / "pristine"
        local_episodes(pristine, EPISODES, SIZE)
        for round_ in range(ROUNDS):
            # Each round has a fresh server, which both tools fill (each its own bucket and data copy): one
            # server for all rounds would hold every round's objects in memory and slow the later runs.
            moto, endpoint = moto_server()
            try:
                s3 = s3_client(endpoint)
                for name in TOOLS:
                    shutil.copytree(pristine, work / f"{name}-{round_}")
                    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
                os.sync()  # the copies' writeback would otherwise land on whichever tool runs first
                for name in TOOLS if round_ % 2 == 0 else TOOLS[::-1]:  # who fills the server first alternates
                    argv, env = command(name, aws, work / f"{name}-{round_}", endpoint)
                    runs[name].append(timed(argv, env))
                    runs[f"{name} rerun"].append(timed(argv, env))
            finally:
                moto.stop()
                for name in TOOLS:
                    shutil.rmtree(work / f"{name}-{round_}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    megabytes = EPISODES * SIZE / 2**20
    median = {name: statistics.median(times) for name, times in runs.items()}
    print(f"{EPISODES} episodes x {SIZE >> 20} MiB ({megabytes:.0f} MiB) to a moto server on 127.0.0.1, "
          f"median of {ROUNDS} rounds, a fresh server per round, the tools taking turns to go first")
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
