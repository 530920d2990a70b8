"""Real HTTP for tests: the app under uvicorn on 127.0.0.1 (ephemeral port), and waiting for things."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from app.main import create_app
from app.settings import Settings
from tests.support.paths import ROOT
from tests.support.stream_probe import peak_rss_kib


class LiveApp:
    """``with LiveApp(env) as client:`` runs the app for real and gives an httpx client for it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.app = create_app(Settings.from_env(env))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        wait_for(lambda: self.server.started, "uvicorn to start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)


def played(env: dict[str, str], mode: str) -> dict[str, bytes]:
    """Every episode's audio as the app serves it in ``mode``: {episode id: bytes}."""
    with LiveApp({**env, "STORAGE_MODE": mode}) as client:
        return {e["id"]: client.get(e["audio_url"]).content for e in client.get("/api/podcasts/episodes").json()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # type: ignore[no-any-return]


def answers(client: httpx.Client, path: str = "/health") -> bool:
    """Whether a server is up (any answer at all)."""
    try:
        client.get(path)
        return True
    except httpx.TransportError:
        return False


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def files_under(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` but the database and the files' descriptions: for before/after comparisons."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("app.db") and ".ephitup" not in p.relative_to(root).parts}


class AppProcess:
    """``ephitup serve`` in a process of its own (for memory figures and kills), on an ephemeral port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "scripts.cli", "serve", "--port", str(self.port)],
                                        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.base_url = f"http://127.0.0.1:{self.port}"
        wait_for(lambda: answers(httpx.Client(base_url=self.base_url)), "the app to start")

    def peak_rss_mib(self) -> float:
        return peak_rss_kib(self.process.pid) / 1024

    def stop(self) -> None:
        """Like Ctrl-C: the app stops its background work and closes its records before it exits."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
