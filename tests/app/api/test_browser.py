"""A browser plays and seeks an episode from an app started with APP_TOKEN, from the disk and from S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.aws import s3_env
from tests.support.browser import find_or_install, play_and_seek, tone_wav
from tests.support.live import LiveApp

TOKEN = "s3cr3t-token-value"


@pytest.fixture(scope="session")
def chromium() -> str:
    found = find_or_install()
    if not found:
        pytest.skip("no chromium: Debian's package could not be installed here (needs root and apt-get)")
    return found


@pytest.mark.parametrize("mode", ["local", "s3-proxy", "s3-redirect"])
def test_a_browser_plays_and_seeks_through_the_signed_link(chromium: str, tmp_path: Path, mode: str,
                                                          request: pytest.FixtureRequest) -> None:
    env = {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}
    if mode != "local":
        name, _ = request.getfixturevalue("server_bucket")
        env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=request.getfixturevalue("moto_server"),
                     S3_BUCKET_NAME=name, APP_TOKEN=TOKEN, AUDIO_DELIVERY=mode.removeprefix("s3-"))
    with LiveApp(env) as client:
        created = client.post("/api/podcasts/episodes", data={"name": "tone"},
                              headers={"Authorization": f"Bearer {TOKEN}"},
                              files={"audio": ("tone.wav", tone_wav(), "audio/wav")}).json()
        base = str(client.base_url)
        assert play_and_seek(chromium, base + created["audio_url"], 4, tmp_path) == "ok playing seek at 4.0"
        unsigned = base + created["audio_url"].split("?")[0]
        refused = play_and_seek(chromium, unsigned, 4, tmp_path)  # what every browser got before: a 401
        assert "error 4" in refused or "NotSupportedError" in refused, refused
