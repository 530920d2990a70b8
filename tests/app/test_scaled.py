"""TOPOLOGY=scaled: several instances, no disk: every file in S3, the records in PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.databases import PostgresDatabase
from app.records import Records
from app.settings import Settings, SettingsError
from tests.support.aws import StoppableMoto, s3_env
from tests.support.live import AppProcess, LiveApp, files_under


@pytest.fixture
def scaled_env(database_url: str, moto: StoppableMoto, tmp_path: Path) -> dict[str, str]:
    return s3_env(tmp_path / "instance-1", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket,
                  DATABASE_URL=database_url, TOPOLOGY="scaled", S3_MAX_ATTEMPTS="1", S3_CONNECT_TIMEOUT="0.5")


def records_of(env: dict[str, str]) -> Records:
    return Records(PostgresDatabase(env["DATABASE_URL"]))


@pytest.mark.parametrize("missing", ["DATABASE_URL", "S3_BUCKET_NAME"])
def test_scaled_needs_s3_and_postgres(scaled_env: dict[str, str], missing: str) -> None:
    env = {**{k: v for k, v in scaled_env.items() if k != missing}, "STORAGE_MODE": "auto"}
    with pytest.raises(SettingsError, match=f"TOPOLOGY=scaled .* {missing}"):
        Settings.from_env(env)


def test_every_file_goes_to_s3_and_no_record_points_at_the_disk(scaled_env: dict[str, str]) -> None:
    audio, document = os.urandom(200_000), b"%PDF-1.7 notes"
    with LiveApp(scaled_env) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "scaled", "user_id": "u1"},
                              files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()
        source = client.post("/api/sources", files={"file": ("notes.pdf", document, "application/pdf")}).json()
        assert episode["state"] == "stored" and episode["audio_ref"].startswith("s3://")
        assert client.get(episode["audio_url"]).content == audio
        assert client.get(f"/api/sources/{source['id']}/download").content == document
    assert files_under(Path(scaled_env["DATA_FOLDER"])) == {}  # nothing kept on the instance's disk
    records = records_of(scaled_env)
    try:
        refs = [e.audio_ref for e in records.episodes()] + [s.ref for s in records.sources()]
        assert all(ref.startswith("s3://") for ref in refs) and len(refs) == 2
        assert records.sources()[0].ref.startswith(f"s3://{scaled_env['S3_BUCKET_NAME']}/uploads/")
    finally:
        records.close()


def test_with_s3_down_an_upload_fails_with_retry_after_and_records_nothing(scaled_env: dict[str, str],
                                                                         moto: StoppableMoto) -> None:
    with LiveApp(scaled_env) as client:
        moto.stop()
        answer = client.post("/api/podcasts/episodes", data={"name": "lost?"},
                             files={"audio": ("a.mp3", b"ID3 audio", "audio/mpeg")})
        assert answer.status_code == 503 and answer.headers["retry-after"]
        moto.start()
    records = records_of(scaled_env)
    try:
        assert records.episodes() == []  # the client was told to retry: nothing half-kept anywhere
    finally:
        records.close()
    assert files_under(Path(scaled_env["DATA_FOLDER"])) == {}


@pytest.fixture
def two_instances(scaled_env: dict[str, str], tmp_path: Path) -> Iterator[list[httpx.Client]]:
    """Two uvicorn processes, each with a disk of its own (which neither keeps anything on)."""
    processes = [AppProcess(scaled_env), AppProcess({**scaled_env, "DATA_FOLDER": str(tmp_path / "instance-2")})]
    clients = [httpx.Client(base_url=p.base_url, timeout=60) for p in processes]
    yield clients
    for client, process in zip(clients, processes, strict=True):
        client.close()
        process.stop()


def test_two_instances_take_uploads_and_streams_at_once_byte_for_byte(two_instances: list[httpx.Client],
                                                                      scaled_env: dict[str, str]) -> None:
    first, second = two_instances
    seed_audio = os.urandom(2_000_000)
    seed = first.post("/api/podcasts/episodes", data={"name": "seed"},
                      files={"audio": ("s.mp3", seed_audio, "audio/mpeg")}).json()
    uploaded: dict[str, bytes] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def upload(index: int) -> None:
        for n in range(6):
            audio = os.urandom(50_000 + n)
            answer = two_instances[index % 2].post("/api/podcasts/episodes", data={"name": f"i{index}-{n}"},
                                                   files={"audio": ("a.mp3", audio, "audio/mpeg")})
            if answer.status_code != 201 or answer.json()["state"] != "stored":
                failures.append(f"upload: {answer.status_code} {answer.text}")
                continue
            with lock:
                uploaded[answer.json()["id"]] = audio

    def stream(index: int) -> None:
        for _ in range(5):
            body = two_instances[index % 2].get(seed["audio_url"]).content
            if body != seed_audio:
                failures.append(f"stream through instance {index % 2 + 1}: {len(body)} bytes")

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=stream, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(uploaded) == 24
    for index, client in enumerate(two_instances):  # each instance lists and plays what either stored
        listed = {e["id"]: e for e in client.get("/api/podcasts/episodes").json()}
        assert set(listed) == {*uploaded, seed["id"]}
        for episode_id, audio in list(uploaded.items())[index::2]:
            assert client.get(listed[episode_id]["audio_url"]).content == audio
    records = records_of(scaled_env)
    try:  # every record consistent: stored, in S3, with the size and SHA-256 of what was sent
        import hashlib

        by_id = {e.id: e for e in records.episodes()}
        for episode_id, audio in uploaded.items():
            episode = by_id[episode_id]
            assert (episode.state, episode.size, episode.sha256) == ("stored", len(audio),
                                                                     hashlib.sha256(audio).hexdigest())
            assert episode.audio_ref.startswith("s3://") and episode.local_key is None
    finally:
        records.close()


def test_kill_9_of_one_instance_mid_upload_loses_nothing(scaled_env: dict[str, str], tmp_path: Path) -> None:
    import signal
    import time

    import boto3

    from tests.support.aws import REGION

    victim = AppProcess({**scaled_env, "MAX_UPLOAD_MB": "400"})
    with LiveApp({**scaled_env, "DATA_FOLDER": str(tmp_path / "instance-2")}) as survivor:
        kept = survivor.post("/api/podcasts/episodes", data={"name": "before"},
                             files={"audio": ("a.mp3", b"ID3 kept" * 10_000, "audio/mpeg")}).json()

        def big_upload() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the instance dies under it: never told "stored"
                httpx.post(f"{victim.base_url}/api/podcasts/episodes", data={"name": "cut"}, timeout=60,
                           files={"audio": ("b.mp3", os.urandom(300 * 2**20), "audio/mpeg")})

        upload = threading.Thread(target=big_upload)
        upload.start()
        time.sleep(1.5)  # mid-upload: the body is streaming in, or the object is going to S3
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)
        upload.join(timeout=60)
        assert survivor.get(kept["audio_url"]).content == b"ID3 kept" * 10_000
        listed = survivor.get("/api/podcasts/episodes").json()
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=scaled_env["S3_ENDPOINT_URL"])
    bucket = scaled_env["S3_BUCKET_NAME"]
    for episode in listed:  # every record points at an object that is there, whole
        key = episode["audio_ref"].removeprefix(f"s3://{bucket}/")
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == episode["size"]
    assert [e["id"] for e in listed] == [kept["id"]] or {e["name"] for e in listed} == {"before", "cut"}
