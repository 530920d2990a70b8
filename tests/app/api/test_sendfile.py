"""Audio from the disk under uvicorn goes by sendfile(2): the same bytes, ranges, HEAD, counts and keep-alive as
the stream it replaces; a listener who leaves costs nothing; elsewhere (the test client) the stream stays."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import sendfile
from app.main import create_app
from app.settings import Settings
from tests.app.api.test_metrics import BEARER, TOKEN, scrape
from tests.support.live import LiveApp, wait_for

AUDIO = os.urandom(3 * 2**20 + 17)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """(offset, count) of every range the app hands the kernel."""
    calls: list[tuple[int, int]] = []
    real = sendfile._sendfile

    async def counted(cycle: Any, message: Any) -> None:
        calls.append((message["offset"], message["count"]))
        await real(cycle, message)

    monkeypatch.setattr(sendfile, "_sendfile", counted)
    yield calls


def local(tmp_path: Path) -> dict[str, str]:
    return {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}


def test_whole_files_ranges_and_head_under_uvicorn(tmp_path: Path, sent: list[tuple[int, int]]) -> None:
    with LiveApp(local(tmp_path)) as client:
        client.headers.update(BEARER)
        url = client.post("/api/podcasts/episodes", data={"name": "e"},
                          files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()["audio_url"]
        whole = client.get(url)
        assert (whole.status_code, whole.headers["content-length"]) == (200, str(len(AUDIO)))
        assert whole.content == AUDIO
        middle = client.get(url, headers={"Range": "bytes=1000-2000999"})
        assert (middle.status_code, middle.headers["content-range"]) == (206, f"bytes 1000-2000999/{len(AUDIO)}")
        assert middle.content == AUDIO[1000:2001000]
        assert client.get(url, headers={"Range": "bytes=-5"}).content == AUDIO[-5:]
        head = client.head(url)
        assert (head.status_code, head.headers["content-length"], head.content) == (200, str(len(AUDIO)), b"")
        assert client.get(url, headers={"If-None-Match": whole.headers["etag"]}).status_code == 304
        assert client.get(url, headers={"Range": f"bytes={len(AUDIO)}-"}).status_code == 416
        served = scrape(client)[("ephitup_served_bytes_total", ())]
    # one keep-alive connection carried every answer after each range: h11 counted the bytes it did not send
    assert sent == [(0, len(AUDIO)), (1000, 2_000_000), (len(AUDIO) - 5, 5)]
    assert served == len(AUDIO) + 2_000_000 + 5


def test_a_listener_who_leaves_mid_file_leaves_nothing_open(tmp_path: Path, sent: list[tuple[int, int]],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    large = os.urandom(64 * 2**20)  # more than the sockets' buffers hold
    with LiveApp(local(tmp_path)) as client:
        client.headers.update(BEARER)
        url = client.post("/api/podcasts/episodes", data={"name": "e"},
                          files={"audio": ("a.mp3", large, "audio/mpeg")}).json()["audio_url"]
        host, port = client.base_url.host, client.base_url.port
        with socket.create_connection((host, port)) as listener:
            listener.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
            assert listener.recv(65536).startswith(b"HTTP/1.1 200")
        wait_for(lambda: not open_files_under(tmp_path / "data"), "the audio file to be closed")
        assert client.get(url, headers={"Range": "bytes=0-9"}).content == large[:10]  # the app serves on
    assert sent[0] == (0, len(large))
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


def test_the_test_client_is_not_offered_sendfile_and_streams(tmp_path: Path, sent: list[tuple[int, int]]) -> None:
    with TestClient(create_app(Settings.from_env(local(tmp_path)))) as client:
        client.headers.update(BEARER)
        url = client.post("/api/podcasts/episodes", data={"name": "e"},
                          files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()["audio_url"]
        assert client.get(url).content == AUDIO
        assert client.get(url, headers={"Range": "bytes=7-9"}).content == AUDIO[7:10]
    assert sent == []


def open_files_under(folder: Path) -> list[str]:
    """This process's open files below ``folder`` but the records' (the app runs in a thread of the test's process)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed since the listing
        if target.startswith(str(folder.resolve())) and ".db" not in target and "/.ephitup/" not in target:
            found.append(target)
    return found
