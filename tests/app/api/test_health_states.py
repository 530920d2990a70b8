"""/health tells the truth over real HTTP: S3 stopped, S3 denying, records S3 can no longer serve, uploads
waiting too long; and each state recovers to ok. The public answer names no bucket and no ARN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.aws import StoppableMoto, s3_env
from tests.support.faults import s3_error
from tests.support.live import LiveApp, wait_for

TOKEN = "s3cr3t-token-value"


@pytest.fixture
def env(moto: StoppableMoto, tmp_path: Path) -> dict[str, str]:
    return s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket, S3_MAX_ATTEMPTS="1",
                  S3_CONNECT_TIMEOUT="1", S3_READ_TIMEOUT="2", HEALTH_CHECK_SECONDS="0.1",
                  RECONCILE_INTERVAL_SECONDS="0.2")


def state(client: httpx.Client) -> tuple[str, str]:
    report = client.get("/health").json()
    return report["status"], " | ".join(p["message"] for p in report["problems"])


def becomes(client: httpx.Client, status: str, words: str = "") -> str:
    seen: list[tuple[str, str]] = []
    wait_for(lambda: seen.append(state(client)) or (seen[-1][0] == status and words in seen[-1][1]),
             f"/health to say {status} ({words}); last: {seen[-1:]}", timeout=20)
    return seen[-1][1]


def test_s3_stopped_is_degraded_then_ok_again(env: dict[str, str], moto: StoppableMoto) -> None:
    with LiveApp(env) as client:
        becomes(client, "ok")
        moto.stop()
        becomes(client, "degraded", "S3 is not answering")
        assert client.get("/health").status_code == 200  # the app still serves the disk: Render keeps it
        moto.start()
        becomes(client, "ok")


def test_s3_denying_is_an_error_then_ok_again(env: dict[str, str]) -> None:
    live = LiveApp(env)
    with live as client:
        becomes(client, "ok")
        events = live.app.state.runtime.stores.remote.client.meta.events

        def deny(**_: Any) -> Any:
            return s3_error(403, "AccessDenied")

        events.register("before-send.s3.ListObjectsV2", deny)
        becomes(client, "error", "S3 refuses this app's credentials")
        events.unregister("before-send.s3.ListObjectsV2", deny)
        becomes(client, "ok")


def test_records_left_in_s3_after_s3_was_turned_off_are_an_error_until_s3_is_back(env: dict[str, str]) -> None:
    with LiveApp(env) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "up"},
                              files={"audio": ("a.mp3", b"ID3" * 1000, "audio/mpeg")}).json()
        assert episode["state"] == "stored"
    local = {"DATA_FOLDER": env["DATA_FOLDER"], "STORAGE_MODE": "local", "HEALTH_CHECK_SECONDS": "0.1"}
    with LiveApp(local) as client:
        problems = becomes(client, "error", "1 episode(s) point at s3://")
        assert "no S3 configured" in problems and "migrate to-local" in problems
        assert client.get(episode["audio_url"]).status_code == 503
    with LiveApp(env) as client:
        becomes(client, "ok")


def test_an_upload_pending_too_long_is_a_problem_until_it_goes_up(env: dict[str, str], moto: StoppableMoto) -> None:
    with LiveApp({**env, "PENDING_ALERT_MINUTES": "0.005"}) as client:
        moto.stop()
        created = client.post("/api/podcasts/episodes", data={"name": "later"},
                              files={"audio": ("a.mp3", b"ID3" * 1000, "audio/mpeg")}).json()
        assert created["state"] == "pending_upload"
        becomes(client, "degraded", "1 episode(s) wait to reach S3")
        moto.start()
        becomes(client, "ok")


def test_the_public_answer_is_status_and_problems_without_names(env: dict[str, str], moto: StoppableMoto) -> None:
    arn = "arn:aws:s3:us-east-2:123456789012:accesspoint/ephitup-prod"
    with LiveApp({**env, "APP_TOKEN": TOKEN}) as client:
        moto.stop()
        becomes(client, "degraded", "S3 is not answering")
        public = client.get("/health").json()
        assert set(public) == {"status", "problems"} and moto.bucket not in str(public)
        private = client.get("/health", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert {"storage", "pending_uploads"} <= set(private) and moto.bucket in str(private)
    from app.health import redacted

    assert redacted(f"denied on s3://{arn}/episodes/x and s3://media/y at http://10.0.0.1/media/y") == \
        "denied on s3://<bucket> and s3://<bucket>/y at <url>"
    assert redacted(f"via {arn}") == "via <arn>"
