"""Processes for benchmarks: a moto server and the app, each in its own process on 127.0.0.1."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx

from app.runtime import Runtime
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-2"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # type: ignore[no-any-return]


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except (httpx.TransportError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


class Process:
    def __init__(self, argv: list[str], env: dict[str, str], ready: Callable[[], bool], what: str) -> None:
        self.popen = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(ready, what)

    def peak_rss_mib(self) -> float:
        status = Path(f"/proc/{self.popen.pid}/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024  # type: ignore[union-attr]

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(timeout=30)


def moto_server() -> tuple[Process, str]:
    """moto on 127.0.0.1, keeping connections alive as S3 does (``benchmarks.keepalive_moto``)."""
    return _s3_server("benchmarks.keepalive_moto", "moto server")


def s3_sink() -> tuple[Process, str]:
    """A lean S3 stand-in (``benchmarks.s3_sink``) for measuring copy tools rather than moto."""
    return _s3_server("benchmarks.s3_sink", "S3 sink")


S3_SERVERS = {"sink": s3_sink, "moto": moto_server}  # --server choices: the lean sink, or keep-alive moto


def _s3_server(module: str, what: str) -> tuple[Process, str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = Process([sys.executable, "-m", module, str(port)], {},
                     lambda: httpx.get(f"{endpoint}/moto-api/").status_code == 200, what)
    return server, endpoint


def latency_proxy(endpoint: str, rtt_ms: float, mb_per_second: float | None = None) -> tuple[Process, str]:
    """``endpoint`` seen across a link with ``rtt_ms`` of round trip and optionally a per-connection rate
    (``benchmarks.latency_proxy``)."""
    port = free_port()
    delayed = f"http://127.0.0.1:{port}"
    target = endpoint.rsplit(":", 1)[1]
    rate = [str(mb_per_second)] if mb_per_second else []
    proxy = Process([sys.executable, "-m", "benchmarks.latency_proxy", str(port), target, str(rtt_ms), *rate], {},
                    lambda: httpx.get(f"{delayed}/moto-api/").status_code == 200, "latency proxy")
    return proxy, delayed


def s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="bench", aws_secret_access_key="bench")


def app_server(env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]
    server = Process(argv, {**CREDENTIALS, **env}, lambda: httpx.get(f"{base}/health").status_code == 200,
                     "app")
    return server, base


def local_episodes(data: Path, count: int, size: int) -> None:
    """``count`` episodes of ``size`` random bytes on the disk, records and files, through the app's finalize."""
    with Runtime.open(Settings.from_env({"DATA_FOLDER": str(data), "STORAGE_MODE": "local"})) as runtime:
        for n in range(count):
            runtime.episodes.create(f"Episode {n}", f"user{n % 3}", io.BytesIO(os.urandom(size)), "audio/mpeg")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
