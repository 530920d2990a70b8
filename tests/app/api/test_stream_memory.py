"""Memory per audio stream is bounded: 50 simultaneous full streams to slow listeners fit Render's starter
plan (512 MB) with room to spare, from the disk and from S3."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.api.offload import S3_THREADS
from tests.support.aws import s3_env
from tests.support.live import AppProcess

SIZE = 8 * 2**20
STREAMS = 50
GROWTH_BOUND_MIB = 48  # two 64 KiB chunks a stream (Offload.stream), with room for the allocator


@pytest.mark.parametrize("mode", ["local", "s3"])
def test_fifty_slow_streams_stay_within_the_bound(tmp_path: Path, mode: str, request: pytest.FixtureRequest) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}
    if mode == "s3":
        name, _ = request.getfixturevalue("server_bucket")
        env = s3_env(tmp_path, S3_ENDPOINT_URL=request.getfixturevalue("moto_server"), S3_BUCKET_NAME=name)
    app = AppProcess(env)
    try:
        audio = os.urandom(SIZE)
        created = httpx.post(f"{app.base_url}/api/podcasts/episodes", data={"name": "long"}, timeout=60,
                             files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()
        assert created["state"] == "stored"
        before = app.peak_rss_mib()
        received: list[int] = []

        def listen() -> None:
            with httpx.stream("GET", app.base_url + created["audio_url"], timeout=120) as answer:
                total = 0
                for n, chunk in enumerate(answer.iter_raw(65536)):
                    total += len(chunk)
                    if n == 0:
                        time.sleep(2)  # a slow listener: every buffer on the way fills up
                received.append(total)

        listeners = [threading.Thread(target=listen) for _ in range(STREAMS)]
        for listener in listeners:
            listener.start()
        for listener in listeners:
            listener.join(120)
        growth = app.peak_rss_mib() - before
        print(f"{mode}: {STREAMS} streams, peak RSS {app.peak_rss_mib():.0f} MiB, growth {growth:.0f} MiB")
        assert received == [SIZE] * STREAMS
        assert growth < GROWTH_BOUND_MIB
    finally:
        app.stop()


LISTENERS = 200
READERS = 4
LISTENER_GROWTH_MIB = 64


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def paused_listener(port: int, path: str) -> tuple[socket.socket, bytes]:
    """A listener who read the first bytes and paused: a small receive buffer, so the stream backs up into the
    app instead of the kernel's buffers."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    listener.connect(("127.0.0.1", port))
    listener.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return listener, listener.recv(65536)


def test_two_hundred_paused_s3_listeners_share_a_bounded_pool_of_readers(
    tmp_path: Path, moto_server: str, server_bucket: tuple[str, object],
) -> None:
    """Threads stay within the S3 request capacity plus STREAM_READERS, and memory within 64 MiB, however many
    listeners hold a stream open; each stream still delivers every byte once its listener reads on."""
    app = AppProcess(s3_env(tmp_path, S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=server_bucket[0],
                            STREAM_READERS=str(READERS)))
    listeners: list[tuple[socket.socket, bytes]] = []
    try:
        audio = os.urandom(SIZE)
        created = httpx.post(f"{app.base_url}/api/podcasts/episodes", data={"name": "long"}, timeout=60,
                             files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()
        assert httpx.get(app.base_url + created["audio_url"], timeout=60).content == audio
        threads_before, rss_before = threads_of(app.process.pid), app.peak_rss_mib()
        listeners = [paused_listener(app.port, created["audio_url"]) for _ in range(LISTENERS)]
        time.sleep(3)  # every stream fills what it may hold
        threads, growth = threads_of(app.process.pid), app.peak_rss_mib() - rss_before
        print(f"{LISTENERS} paused S3 listeners: threads {threads_before} -> {threads}, RSS growth {growth:.0f} MiB")
        assert threads <= threads_before + S3_THREADS + READERS
        assert growth <= LISTENER_GROWTH_MIB
        for listener, received in listeners[:5]:  # listeners who read on get the whole episode
            listener.settimeout(60)
            while not received.endswith(audio[-64:]) and (chunk := listener.recv(1 << 20)):
                received += chunk
            assert received.split(b"\r\n\r\n", 1)[1] == audio
    finally:
        for listener, _ in listeners:
            listener.close()
        app.stop()
