"""The app over real HTTP, in local mode and in S3 mode against a moto server on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.aws import s3_env
from tests.support.live import LiveApp

AUDIO = os.urandom(300_000)
SIZE = len(AUDIO)


@pytest.fixture(params=["local", "s3"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def env(mode: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if mode == "local":
        return {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local"}
    endpoint = request.getfixturevalue("moto_server")
    name, _ = request.getfixturevalue("server_bucket")
    return s3_env(tmp_path / "data", S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=name)


@pytest.fixture
def client(env: dict[str, str]) -> Iterator[httpx.Client]:
    with LiveApp(env) as client:
        yield client


def create_episode(client: httpx.Client, data: bytes = AUDIO, user: str = "user:alice") -> dict:
    response = client.post("/api/podcasts/episodes", data={"name": "Morning Show", "user_id": user},
                           files={"audio": ("take 1.mp3", data, "audio/mpeg")})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_list_get_and_fetch_the_whole_audio(client: httpx.Client, mode: str, env: dict) -> None:
    episode = create_episode(client)
    assert episode["state"] == "stored" and episode["size"] == SIZE
    if mode == "s3":
        assert episode["audio_ref"] == f"s3://{env['S3_BUCKET_NAME']}/episodes/alice/{episode['id']}/" + \
            episode["audio_ref"].rsplit("/", 1)[1]
        assert not list((Path(env["DATA_FOLDER"]) / "podcasts").rglob("*.mp3"))  # local copy gone
    else:
        assert episode["audio_ref"].startswith("podcasts/episodes/Morning_Show-")
    assert [e["id"] for e in client.get("/api/podcasts/episodes").json()] == [episode["id"]]
    assert client.get(f"/api/podcasts/episodes/{episode['id']}").json()["name"] == "Morning Show"

    whole = client.get(episode["audio_url"])
    assert whole.status_code == 200 and whole.content == AUDIO
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["content-type"] == "audio/mpeg"
    assert whole.headers["etag"]


@pytest.mark.parametrize(
    "header,start,end",
    [("bytes=0-1", 0, 1),  # Safari's probe
     ("bytes=0-99", 0, 99), ("bytes=1000-200999", 1000, 200999), ("bytes=-500", SIZE - 500, SIZE - 1),
     ("bytes=299000-", 299000, SIZE - 1), ("bytes=299990-999999", 299990, SIZE - 1)],
)
def test_ranges_answer_206_with_exact_bytes(client: httpx.Client, header: str, start: int, end: int) -> None:
    url = create_episode(client)["audio_url"]
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response.content == AUDIO[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["accept-ranges"] == "bytes"


def test_head_has_the_headers_and_no_body(client: httpx.Client) -> None:
    url = create_episode(client)["audio_url"]
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(SIZE) and head.headers["etag"]
    ranged = client.head(url, headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.headers["content-range"] == f"bytes 10-19/{SIZE}"


@pytest.mark.parametrize("header,status", [
    ("bytes=\u00b2-5".encode("latin-1"), 400),  # a superscript two: isdigit() says yes, int() says no
    (b"bytes=0-" + b"9" * 5000, 206),  # past Python's int-string limit: clipped to the end
    (b"bytes=" + b"9" * 5000 + b"-", 416),
    (b"bytes=-" + b"9" * 5000, 206),
])
def test_hostile_ranges_answer_4xx_or_the_clipped_range_never_500(client: httpx.Client, header: bytes,
                                                                    status: int) -> None:
    episode = create_episode(client)
    source = client.post("/api/sources", files={"file": ("a.pdf", AUDIO, "application/pdf")}).json()
    for url in (episode["audio_url"], source["download_url"]):
        response = client.get(url, headers={"Range": header})
        assert response.status_code == status, (url, response.status_code)
        if status == 206:
            assert response.content == AUDIO


def test_past_the_end_is_416_with_the_size(client: httpx.Client) -> None:
    url = create_episode(client)["audio_url"]
    response = client.get(url, headers={"Range": f"bytes={SIZE}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"


def test_if_range(client: httpx.Client) -> None:
    url = create_episode(client)["audio_url"]
    etag = client.head(url).headers["etag"]
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == AUDIO


def test_delete_removes_record_object_and_local_file(client: httpx.Client, mode: str, env: dict,
                                                     request: pytest.FixtureRequest) -> None:
    episode = create_episode(client)
    assert client.delete(f"/api/podcasts/episodes/{episode['id']}").status_code == 204
    assert client.get(f"/api/podcasts/episodes/{episode['id']}").status_code == 404
    assert client.get(episode["audio_url"]).status_code == 404
    assert not list(Path(env["DATA_FOLDER"]).rglob("*.mp3"))
    if mode == "s3":
        _, s3 = request.getfixturevalue("server_bucket")
        assert s3.list_objects_v2(Bucket=env["S3_BUCKET_NAME"], Prefix="episodes/").get("KeyCount") == 0
        (tombstone,) = s3.list_objects_v2(Bucket=env["S3_BUCKET_NAME"], Prefix="backups/")["Contents"]
        assert tombstone["Key"] == f"backups/records/deleted/{episode['id']}"


@pytest.mark.parametrize("mode", ["s3"])  # redirects apply to S3 objects only
def test_redirect_mode_answers_307_to_a_presigned_url(env: dict, mode: str) -> None:
    with LiveApp({**env, "AUDIO_DELIVERY": "redirect"}) as client:
        episode = create_episode(client)
        response = client.get(episode["audio_url"])
        assert response.status_code == 307
        location = response.headers["location"]
        assert location.startswith(env["S3_ENDPOINT_URL"]) and "X-Amz-Expires=300" in location
        ranged = httpx.get(location, headers={"Range": "bytes=100-199"})
        assert ranged.status_code == 206 and ranged.content == AUDIO[100:200]


def test_sources_upload_download_range_delete(client: httpx.Client, env: dict) -> None:
    body = os.urandom(5000)
    created = client.post("/api/sources", files={"file": ("report.pdf", body, "application/pdf")})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["filename"] == "report.pdf" and source["size"] == 5000
    download = client.get(source["download_url"])
    assert download.content == body and download.headers["content-type"] == "application/pdf"
    assert "report.pdf" in download.headers["content-disposition"]
    part = client.get(source["download_url"], headers={"Range": "bytes=-10"})
    assert part.status_code == 206 and part.content == body[-10:]
    stored = list((Path(env["DATA_FOLDER"]) / "uploads").iterdir())
    assert [p.read_bytes() for p in stored] == [body]  # sources stay on disk, in both modes
    assert [s["id"] for s in client.get("/api/sources").json()] == [source["id"]]
    assert client.delete(f"/api/sources/{source['id']}").status_code == 204
    assert client.get(source["download_url"]).status_code == 404
    assert not list((Path(env["DATA_FOLDER"]) / "uploads").iterdir())


def test_health_reports_mode_and_settings_without_secrets(client: httpx.Client, mode: str) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    report = health.json()
    assert report["status"] == "ok" and report["storage"]["mode"] == mode
    assert report["pending_uploads"]["count"] == 0
    assert "testing" not in health.text  # the fake secret key


@pytest.mark.parametrize("mode", ["s3"])
def test_proxy_passes_the_range_to_s3(env: dict, mode: str) -> None:
    """Only the requested bytes leave S3: the app's GetObject carries the client's range."""
    live = LiveApp(env)
    with live as client:
        sent: list[str | None] = []
        live.app.state.runtime.stores.remote.client.meta.events.register(
            "before-send.s3.GetObject", lambda request, **_: sent.append(request.headers.get("Range")))
        url = create_episode(client)["audio_url"]
        client.get(url, headers={"Range": "bytes=1000-1999"})
        client.get(url, headers={"Range": "bytes=-10"})
        assert sent == [b"bytes=1000-1999", f"bytes={SIZE - 10}-{SIZE - 1}".encode()]
