"""/metrics in Prometheus' text format, parsed with prometheus-client's own parser, after known traffic."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.aws import StoppableMoto, s3_env
from tests.support.live import LiveApp

AUDIO = b"ID3" + bytes(30_000)
TOKEN = "s3cr3t-token-value"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", headers=BEARER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def test_metrics_after_known_traffic(tmp_path: Path, moto: StoppableMoto) -> None:
    env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket, APP_TOKEN=TOKEN,
                 S3_MAX_ATTEMPTS="1", S3_CONNECT_TIMEOUT="1", RECONCILE_INTERVAL_SECONDS="3600")
    with LiveApp(env) as client:
        assert client.get("/metrics").status_code == 401  # behind the token
        stored = [client.post("/api/podcasts/episodes", data={"name": f"s{n}"}, headers=BEARER,
                              files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json() for n in range(2)]
        assert client.get(stored[0]["audio_url"]).content == AUDIO
        assert client.get(stored[1]["audio_url"], headers={"Range": "bytes=0-99"}).status_code == 206
        assert client.get("/api/podcasts/episodes/nope/audio", headers=BEARER).status_code == 404
        moto.stop()
        pending = client.post("/api/podcasts/episodes", data={"name": "p"}, headers=BEARER,
                              files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
        assert pending["state"] == "pending_upload"
        metrics = scrape(client)
        moto.start()
    assert metrics[("ephitup_finalize_total", (("outcome", "stored"),))] == 2
    assert metrics[("ephitup_finalize_total", (("outcome", "pending"),))] == 1
    assert metrics[("ephitup_uploaded_bytes_total", ())] == 2 * len(AUDIO)
    assert metrics[("ephitup_served_bytes_total", ())] == len(AUDIO) + 100
    assert metrics[("ephitup_audio_responses_total", (("status", "200"),))] == 1
    assert metrics[("ephitup_audio_responses_total", (("status", "206"),))] == 1
    assert metrics[("ephitup_audio_responses_total", (("status", "404"),))] == 1
    assert metrics[("ephitup_s3_errors_total", (("kind", "unavailable"),))] >= 1
    assert metrics[("ephitup_pending_uploads", ())] == 1
    assert metrics[("ephitup_disk_free_bytes", ())] > 0
