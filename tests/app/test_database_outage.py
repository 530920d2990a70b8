"""PostgreSQL going away (scaled topology) is answered fast, and the app serves again within seconds of its return.

Measured over real HTTP against a real PostgreSQL behind a proxy that refuses connections (and resets the
open ones), as a server that went down does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import boto3
import httpx
import pytest

from tests.support.aws import REGION, StoppableMoto, s3_env
from tests.support.faults import RefusingProxy
from tests.support.live import LiveApp


@pytest.fixture
def proxied(database_url: str) -> Iterator[tuple[RefusingProxy, str]]:
    """The test server listens on a Unix socket only: the proxy takes TCP on 127.0.0.1 and forwards there."""
    parts = urlsplit(database_url)
    folder = Path(parse_qs(parts.query)["host"][0])
    (socket_path,) = [p for p in folder.glob(".s.PGSQL.*") if not p.name.endswith(".lock")]
    proxy = RefusingProxy(str(socket_path))
    yield proxy, urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}", query=""))
    proxy.refuse()


def served_again(client: httpx.Client, within: float = 5.0) -> float:
    """Seconds until listings answer 200 again once PostgreSQL is back; the target is ``within``."""
    back_at = time.monotonic()
    while timed(client, "/api/podcasts/episodes")[0] != 200:
        assert time.monotonic() - back_at < within, f"still 503 {within:g} s after PostgreSQL came back"
        time.sleep(0.1)
    return time.monotonic() - back_at


def timed(client: httpx.Client, path: str) -> tuple[int, float]:
    started = time.monotonic()
    status = client.get(path).status_code
    return status, time.monotonic() - started


def test_an_outage_answers_503_within_a_second_and_the_app_serves_again_within_seconds(
        proxied: tuple[RefusingProxy, str], moto: StoppableMoto, tmp_path: Path) -> None:
    proxy, url = proxied
    env = s3_env(tmp_path / "instance", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket, DATABASE_URL=url,
                 TOPOLOGY="scaled", S3_MAX_ATTEMPTS="1")
    with LiveApp(env) as client:
        assert timed(client, "/api/podcasts/episodes")[0] == 200
        proxy.refuse()
        during = [timed(client, "/api/podcasts/episodes") for _ in range(12)]
        assert {status for status, _ in during} == {503}
        assert max(seconds for _, seconds in during) <= 1.5, during  # target 1 s; the margin is for shared cores
        assert timed(client, "/health")[1] <= 1.5
        time.sleep(1.1)  # past the fail-fast moment: this upload reaches S3, then its record is refused
        upload = client.post("/api/podcasts/episodes", data={"name": "during"},
                             files={"audio": ("a.mp3", b"x" * 1000, "audio/mpeg")})
        assert upload.status_code == 503
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint)
        assert s3.list_objects_v2(Bucket=moto.bucket).get("KeyCount") == 0  # no object without its record
        proxy.restore()
        print(f"refused: 503 in at most {max(seconds for _, seconds in during):.3f} s; served again "
              f"{served_again(client):.2f} s after it came back")


def test_a_frozen_server_is_answered_503_within_its_deadline_and_served_again_when_it_thaws(
        proxied: tuple[RefusingProxy, str], moto: StoppableMoto, tmp_path: Path) -> None:
    """A stopped (SIGSTOP) server or a partition answers nothing, so its own statement timeout never fires and
    keepalives are answered by its kernel: only the client's deadline (statement timeout + 2 s) ends a query."""
    proxy, url = proxied
    env = s3_env(tmp_path / "instance", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket, DATABASE_URL=url,
                 TOPOLOGY="scaled", S3_MAX_ATTEMPTS="1", DATABASE_STATEMENT_SECONDS="1")
    with LiveApp(env) as client:
        client.timeout = httpx.Timeout(10)
        assert timed(client, "/api/podcasts/episodes")[0] == 200
        proxy.freeze()
        during = [timed(client, "/api/podcasts/episodes") for _ in range(6)]
        assert {status for status, _ in during} == {503}
        assert max(seconds for _, seconds in during) <= 3 + 1.5, during
        proxy.thaw()
        print(f"frozen: 503 in {', '.join(f'{s:.2f}' for _, s in during)} s; served again "
              f"{served_again(client):.2f} s after the thaw")
