"""A hung S3 costs the requests that need it seconds, and nothing else: health, listings and local audio
keep answering within a second meanwhile."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import httpx

from tests.support.aws import s3_env
from tests.support.faults import SilentServer
from tests.support.live import LiveApp

AUDIO = b"ID3" + bytes(50_000)
READ_TIMEOUT = 6.0


def test_a_hung_s3_does_not_freeze_the_app(tmp_path: Path) -> None:
    local = {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local"}
    with LiveApp(local) as client:  # an episode on the disk, from before S3 was turned on
        on_disk = client.post("/api/podcasts/episodes", data={"name": "old"},
                              files={"audio": ("a.mp3", AUDIO, "audio/mpeg")}).json()
    silent = SilentServer()
    env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=silent.endpoint, S3_CONNECT_TIMEOUT="1",
                 S3_READ_TIMEOUT=str(READ_TIMEOUT), S3_MAX_ATTEMPTS="1", RECONCILE_INTERVAL_SECONDS="3600")
    try:
        with LiveApp(env) as client, concurrent.futures.ThreadPoolExecutor(50) as pool:
            def post(n: int) -> tuple[int, float]:
                started = time.monotonic()
                with httpx.Client(base_url=client.base_url, timeout=120) as own:
                    answer = own.post("/api/podcasts/episodes", data={"name": f"new {n}"},
                                      files={"audio": ("b.mp3", AUDIO, "audio/mpeg")})
                return answer.status_code, time.monotonic() - started

            uploads = [pool.submit(post, n) for n in range(45)]  # more than the shared pool's 40 threads
            time.sleep(1.0)  # every upload is now waiting on S3
            latencies = {}
            for path in ("/health", "/api/podcasts/episodes", on_disk["audio_url"]):
                started = time.monotonic()
                assert client.get(path).status_code == 200
                latencies[path] = time.monotonic() - started
            answers = [upload.result() for upload in uploads]
        print(f"while S3 hangs: {', '.join(f'{p} {s * 1000:.0f} ms' for p, s in latencies.items())}; "
              f"slowest upload answered after {max(s for _, s in answers):.1f} s")
        assert max(latencies.values()) < 1.0, latencies
        assert {status for status, _ in answers} == {201}  # each kept pending, playable from the disk
        assert max(seconds for _, seconds in answers) < 3 * READ_TIMEOUT  # one wait on S3, then it fails fast
    finally:
        silent.close()
