"""Hostile or odd values answered in one line, never a 500, and an open API refused where it would be public."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.health import redacted
from app.settings import Settings, SettingsError
from tests.support.aws import s3_env
from tests.support.live import LiveApp
from tests.support.paths import ROOT

TOKEN = "a-long-random-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_a_signature_that_is_not_ascii_is_refused_not_a_500(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "one"}, headers=BEARER,
                              files={"audio": ("a.mp3", b"x" * 100, "audio/mpeg")}).json()
        path = episode["audio_url"].split("?")[0]
        for signature in ("%C3%A9", "%FF", "%00"):
            answer = client.get(f"{path}?expires={int(time.time()) + 60}&signature={signature}")
            assert answer.status_code == 401, (signature, answer.status_code)


@pytest.mark.parametrize("field", ["name", "user_id"])
def test_a_nul_in_a_name_or_user_id_is_refused_and_nothing_is_stored(tmp_path: Path, field: str) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        data = {"name": "fine", "user_id": "u1"} | {field: "bad\x00value"}
        answer = client.post("/api/podcasts/episodes", data=data, files={"audio": ("a.mp3", b"x" * 10, "audio/mpeg")})
        assert answer.status_code == 422
        assert client.get("/api/podcasts/episodes").json() == []
        assert not list((tmp_path / "podcasts").rglob("*.mp3")) if (tmp_path / "podcasts").exists() else True


@pytest.mark.parametrize("token", [None, "short"])
def test_render_without_a_safe_token_refuses_to_start_in_one_line(tmp_path: Path, token: str | None) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "RENDER": "true"} | ({"APP_TOKEN": token} if token else {})
    with pytest.raises(SettingsError, match="APP_TOKEN is .* on Render .* at least 32 random characters"):
        Settings.from_env(env)
    run = subprocess.run([sys.executable, "-m", "scripts.cli", "serve", "--port", "1"], cwd=ROOT, timeout=60,
                         env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, check=False)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "APP_TOKEN" in run.stderr, run.stderr
    assert Settings.from_env({**env, "APP_TOKEN": TOKEN}).on_render  # a generated token is accepted


def test_anonymous_health_names_no_user_and_no_episode_while_s3_is_down(tmp_path: Path) -> None:
    env = s3_env(tmp_path, S3_ENDPOINT_URL="http://127.0.0.1:9", S3_MAX_ATTEMPTS="1", S3_CONNECT_TIMEOUT="0.2",
                 APP_TOKEN=TOKEN, PENDING_ALERT_MINUTES="0.0001", HEALTH_CHECK_SECONDS="0.1")
    with LiveApp(env) as client:
        created = client.post("/api/podcasts/episodes", headers=BEARER, data={"name": "Secret Show", "user_id":
                              "alice-4711"}, files={"audio": ("a.mp3", b"x" * 100, "audio/mpeg")})
        assert created.status_code == 201 and created.json()["state"] == "pending_upload"
        time.sleep(0.3)
        public = client.get("/health").text
        trusted = client.get("/health", headers=BEARER).text
    assert "S3" in public and "alice-4711" not in public and "Secret" not in public and "secret-show" not in public
    assert "wait to reach S3" in trusted


def test_redaction_removes_object_keys_arns_buckets_and_urls() -> None:
    message = ("S3 is unavailable for episodes/alice/0f3/Secret Show.mp3 at s3://media/x via "
               "https://s3.amazonaws.com (arn:aws:s3:us-east-2:123456789012:accesspoint/ap); podcasts/episodes/a/b")
    shown = redacted(message)
    for private in ("alice", "0f3", "media", "123456789012", "amazonaws", "podcasts/episodes/a"):
        assert private not in shown


def test_an_upload_whose_body_stalls_is_answered_408_and_leaves_nothing(tmp_path: Path) -> None:
    """A client that sends part of a body and stops would otherwise hold its request (and its spooled part)
    open forever: after UPLOAD_IDLE_SECONDS without a byte the app answers 408 and closes."""
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "UPLOAD_IDLE_SECONDS": "1"}) as client:
        port = int(str(client.base_url).rsplit(":", 1)[1])
        boundary = "stalled"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.mp3\"\r\n"
                "Content-Type: audio/mpeg\r\n\r\n").encode() + b"x" * 50_000
        with socket.create_connection(("127.0.0.1", port)) as upload:
            upload.sendall(f"POST /api/podcasts/episodes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/"
                           f"form-data; boundary={boundary}\r\nContent-Length: 1000000\r\n\r\n".encode() + head)
            upload.settimeout(10)
            started = time.monotonic()
            answer = upload.recv(65536)
            waited = time.monotonic() - started
            while chunk := upload.recv(65536):  # the server closes once it has answered
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"UPLOAD_IDLE_SECONDS" in answer
        assert waited < 5
        assert client.get("/api/podcasts/episodes").json() == []
