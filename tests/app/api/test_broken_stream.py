"""One broken S3 stream is not an outage: the breaker opens only when S3 does not answer new requests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.aws import StoppableMoto, s3_env
from tests.support.faults import CuttingProxy
from tests.support.live import LiveApp

AUDIO = os.urandom(1024 * 1024)


@pytest.fixture
def proxy(moto: StoppableMoto) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(moto.endpoint, cut="/episodes/broken/")
    yield cutting
    cutting.close()


def test_a_reset_on_one_episodes_stream_leaves_every_other_play_and_upload_working(
        moto: StoppableMoto, proxy: CuttingProxy, tmp_path: Path) -> None:
    env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=proxy.endpoint, S3_BUCKET_NAME=moto.bucket, S3_MAX_ATTEMPTS="1")
    with LiveApp(env) as client:
        broken, good = (client.post("/api/podcasts/episodes", data={"name": "show", "user_id": user},
                                    files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
                        for user in ("broken", "fine"))
        assert broken["state"] == good["state"] == "stored"
        with pytest.raises(httpx.HTTPError):  # the listener sees its stream end early
            client.get(broken["audio_url"]).read()
        assert proxy.resets == 1
        plays = [client.get(good["audio_url"]) for _ in range(8)]
        assert [p.status_code for p in plays] == [200] * 8 and all(p.content == AUDIO for p in plays)
        later = client.post("/api/podcasts/episodes", data={"name": "later", "user_id": "fine"},
                            files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
        assert later["state"] == "stored"
        health = client.get("/health").json()
        assert health["status"] == "ok" and "broken" not in str(health)
