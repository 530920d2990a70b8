"""/health tells Render (and people) what is wrong: warnings degrade, errors answer 503."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn

from app.main import create_app
from app.settings import Settings, SettingsError
from tests.support.live import LiveApp


def test_half_set_s3_under_auto_runs_local_and_says_what_is_missing(tmp_path: Path) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "S3_BUCKET_NAME": "media", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}
    with LiveApp(env) as client:
        health = client.get("/health")
        assert health.status_code == 200
        report = health.json()
        assert report["status"] == "degraded" and report["storage"]["mode"] == "local"
        assert "AWS_SECRET_ACCESS_KEY missing" in report["problems"][0]["message"]
        assert "AKIDEXAMPLE" not in health.text


def test_render_without_a_mounted_disk_answers_503(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "RENDER": "true",
                  "APP_TOKEN": "t" * 44}) as client:
        health = client.get("/health")
        assert health.status_code == 503
        problem = health.json()["problems"][0]
        assert problem["severity"] == "error" and "not a mounted disk" in problem["message"]


def test_explicit_s3_half_set_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    half_set = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "s3", "S3_BUCKET_NAME": "m"}
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY are not set"):
        Settings.from_env(half_set)
    for name, value in half_set.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # the tests' moto keys
        monkeypatch.delenv(name, raising=False)
    server = uvicorn.Server(uvicorn.Config(create_app(), port=0, log_level="critical"))
    with pytest.raises(SystemExit):  # uvicorn exits when the lifespan startup fails
        server.run()
