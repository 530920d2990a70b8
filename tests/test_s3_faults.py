"""The S3 backend under faults: retries, unreachable endpoints, denials, corrupted objects."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import boto3
import pytest

from app.settings import Settings
from app.storage import ChecksumMismatchError, StorageAccessDeniedError, StorageUnavailableError
from app.storage.s3 import S3Storage
from tests.conftest import REGION, s3_env
from tests.s3_faults import fail_first


def server_storage(tmp_path: Path, endpoint: str, bucket: str, **overrides: str) -> S3Storage:
    env = s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket, **overrides)
    return S3Storage(Settings.from_env(env))


def test_upload_is_retried_after_injected_503s(tmp_path: Path, moto_server: str, server_bucket) -> None:
    name, client = server_bucket
    storage = server_storage(tmp_path, moto_server, name, S3_MAX_ATTEMPTS="4")
    attempts = fail_first(storage.client, "PutObject", times=2, status=503, code="SlowDown")
    storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * 1000), "audio/mpeg")
    assert len(attempts) == 3
    assert client.get_object(Bucket=name, Key="episodes/u/e/a.mp3")["Body"].read() == b"x" * 1000


def test_persistent_503_becomes_storage_unavailable(tmp_path: Path, moto_server: str, server_bucket) -> None:
    name, _ = server_bucket
    storage = server_storage(tmp_path, moto_server, name, S3_MAX_ATTEMPTS="2")
    fail_first(storage.client, "HeadObject", times=99, status=503, code="ServiceUnavailable")
    with pytest.raises(StorageUnavailableError):
        storage.stat("episodes/u/e/a.mp3")


def test_unreachable_endpoint_is_storage_unavailable_within_a_bounded_time(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = server_storage(tmp_path, f"http://127.0.0.1:{port}", "media",
                             S3_MAX_ATTEMPTS="2", S3_CONNECT_TIMEOUT="1")
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="unreachable"):
        storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"abc"), "audio/mpeg")
    assert time.monotonic() - started < 30  # bounded by timeouts x attempts, not hanging


def test_denied_names_the_bucket_key_and_the_likely_missing_action(tmp_path: Path, moto_server: str,
                                                                    server_bucket) -> None:
    name, _ = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    fail_first(storage.client, "GetObject", times=99, status=403, code="AccessDenied")
    with pytest.raises(PermissionError) as error:
        list(storage.open_range("episodes/u/e/a.mp3"))
    assert isinstance(error.value, StorageAccessDeniedError)
    assert f"s3://{name}/episodes/u/e/a.mp3" in str(error.value) and "s3:GetObject" in str(error.value)


def test_checksum_mismatch_is_detected(tmp_path: Path, moto_server: str, server_bucket) -> None:
    """An object replaced between upload and verification (same size, other bytes) is caught."""
    name, _client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    tamperer = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)

    def tamper(**_: object) -> None:
        tamperer.put_object(Bucket=name, Key="episodes/u/e/a.mp3", Body=b"y" * 1000)

    storage.client.meta.events.register_first("before-call.s3.HeadObject", tamper)
    with pytest.raises(ChecksumMismatchError, match="expected 1000 bytes"):
        storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * 1000), "audio/mpeg")
