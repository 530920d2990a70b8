"""The token is checked before the body is read, and a signed link lets an <audio> element play one episode."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from app.api.access import AUDIO_LINK_SECONDS, audio_link, signed_link_holds
from app.settings import Secret
from tests.support.live import LiveApp

TOKEN = "s3cr3t-token-value"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_an_unauthenticated_upload_is_refused_before_its_body_is_sent(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}) as client:
        port = int(str(client.base_url).rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"POST /api/sources HTTP/1.1\r\nHost: x\r\nContent-Length: 50331648\r\n"
                        b"Content-Type: multipart/form-data; boundary=x\r\n\r\n" + b"\0" * 1024)
            answer = raw.recv(4096)  # 1 KiB of 48 MiB sent: a server waiting for the body never answers
        assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
        assert not (tmp_path / "uploads").exists()


def test_a_signed_link_plays_its_episode_without_the_bearer_token(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}) as client:
        first, second = (client.post("/api/podcasts/episodes", data={"name": n}, headers=BEARER,
                                     files={"audio": ("a.mp3", n.encode() * 100, "audio/mpeg")}).json()
                         for n in ("one", "two"))
        assert "signature=" in first["audio_url"] and "expires=" in first["audio_url"]
        assert client.get(first["audio_url"]).content == b"one" * 100
        assert client.get(first["audio_url"], headers={"Range": "bytes=0-2"}).status_code == 206
        assert client.head(first["audio_url"]).status_code == 200
        path, query = first["audio_url"].split("?")
        refused = [
            path,  # no signature
            f"{path}?{query[:-1]}{'0' if query[-1] != '0' else '1'}",  # tampered
            second["audio_url"].split("?")[0] + "?" + query,  # another episode's
            f"/api/podcasts/episodes/{first['id']}?{query}",  # not the audio
            f"{path}?expires={int(time.time()) - 1}&signature={query.split('signature=')[1]}",  # expired
        ]
        for url in refused:
            assert client.get(url).status_code == 401, url
        assert client.delete(f"{path.rsplit('/', 1)[0]}?{query}").status_code == 401


def test_redirect_mode_answers_a_signed_link_too(tmp_path: Path, moto_server: str, server_bucket) -> None:
    from tests.support.aws import s3_env

    name, _ = server_bucket
    env = s3_env(tmp_path, S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name, APP_TOKEN=TOKEN,
                 AUDIO_DELIVERY="redirect")
    with LiveApp(env) as client:
        created = client.post("/api/podcasts/episodes", data={"name": "r"}, headers=BEARER,
                              files={"audio": ("a.mp3", b"ID3" * 100, "audio/mpeg")}).json()
        answer = client.get(created["audio_url"])
        assert answer.status_code == 307 and "X-Amz-Signature" in answer.headers["location"]


@pytest.mark.parametrize("age,holds", [(0, True), (AUDIO_LINK_SECONDS - 1, True), (AUDIO_LINK_SECONDS + 1, False)])
def test_a_link_holds_until_it_expires(age: int, holds: bool) -> None:
    token = Secret(TOKEN)
    query = audio_link("e1", token, now=1_000_000).split("?")[1]
    assert signed_link_holds(token, "e1", query, now=1_000_000 + age) is holds
    assert not signed_link_holds(Secret("another token"), "e1", query, now=1_000_000)


def test_without_a_token_the_link_is_the_plain_path() -> None:
    assert audio_link("e1", None) == "/api/podcasts/episodes/e1/audio"


def test_an_unauthenticated_large_upload_reads_its_401_instead_of_a_reset(tmp_path: Path) -> None:
    """The server drains a refused body for a moment (nginx's lingering close): closing with it unread resets
    the connection, and a client still sending never sees the answer."""
    body = b"\0" * (16 * 2**20)
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}) as client:
        port = int(str(client.base_url).rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"POST /api/sources HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                        b"Content-Type: multipart/form-data; boundary=x\r\n\r\n" % len(body))
            raw.sendall(body)  # a client that sends its whole body before reading (most do)
            answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
