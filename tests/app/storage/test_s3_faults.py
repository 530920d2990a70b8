"""The S3 backend under faults: retries, unreachable endpoints, denials, corrupted objects."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import time
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

import app.storage.s3
from app.runtime import s3_config
from app.settings import Settings
from app.storage import ChecksumMismatchError, StorageAccessDeniedError, StorageUnavailableError
from app.storage.checksums import digest_stream
from app.storage.s3 import S3Storage
from app.storage.s3_client import check_signed_payload
from tests.support.aws import REGION, s3_env
from tests.support.faults import SilentServer, fail_first


def server_storage(tmp_path: Path, endpoint: str, bucket: str, **overrides: str) -> S3Storage:
    env = s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket, **overrides)
    return S3Storage(s3_config(Settings.from_env(env)))


def test_upload_is_retried_after_injected_503s(tmp_path: Path, moto_server: str, server_bucket) -> None:
    name, client = server_bucket
    storage = server_storage(tmp_path, moto_server, name, S3_MAX_ATTEMPTS="4")
    attempts = fail_first(storage.client, "PutObject", times=2, status=503, code="SlowDown")
    storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * 1000), "audio/mpeg")
    assert len(attempts) == 3
    assert client.get_object(Bucket=name, Key="episodes/u/e/a.mp3")["Body"].read() == b"x" * 1000


@pytest.mark.parametrize("attempts", [1, 2, 5])
def test_persistent_503_becomes_storage_unavailable_after_exactly_the_attempts_set(
        tmp_path: Path, moto_server: str, server_bucket, attempts: int) -> None:
    name, _ = server_bucket
    storage = server_storage(tmp_path, moto_server, name, S3_MAX_ATTEMPTS=str(attempts))
    sent = fail_first(storage.client, "HeadObject", times=99, status=503, code="ServiceUnavailable")
    with pytest.raises(StorageUnavailableError):
        storage.stat("episodes/u/e/a.mp3")
    assert len(sent) == attempts  # S3_MAX_ATTEMPTS counts every attempt (botocore's max_attempts counts retries)


def test_a_put_sends_its_body_without_waiting_for_100_continue(tmp_path: Path, moto_server: str,
                                                               server_bucket) -> None:
    name, _ = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    headers: list[dict] = []
    storage.client.meta.events.register("before-send.s3.PutObject", lambda request, **_: headers.append(
        dict(request.headers)))
    storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * 1000), "audio/mpeg")
    assert headers and "Expect" not in headers[0]


def test_after_s3_stopped_answering_calls_fail_at_once_for_a_moment(tmp_path: Path) -> None:
    silent = SilentServer()
    try:
        storage = server_storage(tmp_path, silent.endpoint, "media", S3_MAX_ATTEMPTS="1", S3_READ_TIMEOUT="1",
                                 RECONCILE_INTERVAL_SECONDS="2")
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match="Read timeout"):
            storage.stat("episodes/u/e/a.mp3")
        waited = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match="not tried again"):
            storage.save_stream("episodes/u/e/b.mp3", io.BytesIO(b"abc"), "audio/mpeg")
        assert 1 <= waited < 3 and time.monotonic() - started < 0.1
        time.sleep(2)  # the cooldown (the reconcile interval, here) is over: S3 is tried again
        with pytest.raises(StorageUnavailableError, match="Read timeout"):
            storage.stat("episodes/u/e/a.mp3")
    finally:
        silent.close()


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


def test_a_put_reply_naming_another_checksum_is_a_mismatch(tmp_path: Path, moto_server: str,
                                                            server_bucket) -> None:
    """S3 replies to a PUT with the SHA-256 it stored: any other value than the one sent fails the save."""
    name, _client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    heads = []
    storage.client.meta.events.register("before-call.s3.HeadObject", lambda **_: heads.append(1))

    def store_other_bytes(parsed: dict, **_: object) -> None:
        parsed["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(b"y" * 1000).digest()).decode()

    storage.client.meta.events.register("after-call.s3.PutObject", store_other_bytes)
    with pytest.raises(ChecksumMismatchError, match="was stored with SHA-256"):
        storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * 1000), "audio/mpeg")
    assert not heads  # the reply was the verification


def test_a_put_verified_from_its_reply_makes_no_head(tmp_path: Path, moto_server: str, server_bucket) -> None:
    name, _client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    heads = []
    storage.client.meta.events.register("before-call.s3.HeadObject", lambda **_: heads.append(1))
    stat = storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * 1000), "audio/mpeg")
    assert not heads
    assert stat == replace(storage.stat("episodes/u/e/a.mp3"), last_modified=stat.last_modified)


@pytest.mark.parametrize("upload", ["a store that does not echo checksums", "multipart"])
def test_without_a_checksum_in_the_reply_a_head_catches_replaced_bytes(
        tmp_path: Path, moto_server: str, server_bucket, upload: str) -> None:
    """An object replaced between upload and verification (same size, other bytes) is caught."""
    name, _client = server_bucket
    size = 1000 if upload != "multipart" else 2 * 5 * 2**20 + 1
    storage = server_storage(tmp_path, moto_server, name)
    if upload == "multipart":
        storage.part_size = 5 * 2**20
    else:
        storage.client.meta.events.register("after-call.s3.PutObject",
                                            lambda parsed, **_: parsed.pop("ChecksumSHA256", None))
    tamperer = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)

    def tamper(**_: object) -> None:
        tamperer.put_object(Bucket=name, Key="episodes/u/e/a.mp3", Body=b"y" * size)

    storage.client.meta.events.register_first("before-call.s3.HeadObject", tamper)
    with pytest.raises(ChecksumMismatchError, match=f"expected {size} bytes"):
        storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * size), "audio/mpeg")


@pytest.mark.parametrize("size", [1000, 2 * 5 * 2**20 + 1], ids=["one PUT", "multipart"])
def test_a_file_unlike_its_record_is_refused_before_anything_is_stored(
        tmp_path: Path, moto_server: str, server_bucket, size: int) -> None:
    name, client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    storage.part_size = 5 * 2**20
    answered: list[str] = []
    storage.client.meta.events.register("after-call.s3", lambda model, **_: answered.append(model.name))
    audio = tmp_path / "a.mp3"
    audio.write_bytes(b"x" * size)
    with pytest.raises(ChecksumMismatchError, match="nothing was uploaded"):
        storage.save_file("episodes/u/e/a.mp3", audio, "audio/mpeg",
                          expected_sha256=hashlib.sha256(b"y" * size).hexdigest())
    assert answered == [] and "Contents" not in client.list_objects_v2(Bucket=name)
    storage.save_file("episodes/u/e/a.mp3", audio, "audio/mpeg",
                      expected_sha256=hashlib.sha256(b"x" * size).hexdigest())
    assert client.get_object(Bucket=name, Key="episodes/u/e/a.mp3")["Body"].read() == b"x" * size


def test_over_plain_http_a_record_upload_hashes_its_bytes_once(tmp_path: Path, moto_server: str, server_bucket,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore hashes a plain-http body to sign it: that hash is the check, not a pass of ours before it."""
    name, client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    our_passes: list[object] = []
    monkeypatch.setattr(app.storage.s3, "digest_stream", lambda *a, **k: our_passes.append(1) or digest_stream(*a, **k))
    audio = tmp_path / "a.mp3"
    audio.write_bytes(b"x" * 1000)
    stat = storage.save_file("episodes/u/e/a.mp3", audio, "audio/mpeg",
                             expected_sha256=hashlib.sha256(b"x" * 1000).hexdigest())
    assert our_passes == []
    assert stat.sha256 == client.head_object(Bucket=name, Key="episodes/u/e/a.mp3",
                                             ChecksumMode="ENABLED")["ChecksumSHA256"]
    storage.save_file("episodes/u/e/b.mp3", audio, "audio/mpeg")  # no record (an orphan): ours declares it
    assert our_passes == [1]


def test_over_https_a_record_upload_declares_its_record_checksum_and_hashes_nothing(
        tmp_path: Path, bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over https neither we nor botocore hash the body: S3 hashes what it receives against the declared SHA-256."""
    storage = S3Storage(s3_config(Settings.from_env(s3_env(tmp_path))))  # AWS's own https endpoint, answered by moto
    our_passes: list[object] = []
    monkeypatch.setattr(app.storage.s3, "digest_stream", lambda *a, **k: our_passes.append(1) or digest_stream(*a, **k))
    sent: list[dict] = []
    storage.client.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(
        {"url": request.url, **{name: _text(value) for name, value in request.headers.items()}}))
    audio = tmp_path / "a.mp3"
    audio.write_bytes(b"x" * 1000)
    record_sha256 = hashlib.sha256(b"x" * 1000).hexdigest()
    storage.save_file("episodes/u/e/a.mp3", audio, "audio/mpeg", expected_sha256=record_sha256)
    assert our_passes == [] and sent[0]["url"].startswith("https://")
    assert sent[0]["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(record_sha256)).decode()
    assert sent[0]["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"


def test_s3_refusing_a_body_unlike_its_declared_checksum_is_a_checksum_mismatch(tmp_path: Path) -> None:
    """S3's answer when the bytes it received are not the declared SHA-256 (a file rotted on the disk since its
    record was made). The answer is given before anything is sent: no server, no network."""
    from botocore.awsrequest import AWSResponse

    storage = S3Storage(s3_config(Settings.from_env(s3_env(tmp_path, S3_ENDPOINT_URL="https://127.0.0.1:9"))))
    refusal = b"<Error><Code>BadDigest</Code><Message>The SHA256 you specified did not match the calculated " \
              b"checksum.</Message></Error>"

    class Raw(io.BytesIO):
        def stream(self, **_: object):  # type: ignore[no-untyped-def]
            yield self.read()

    declared: list[str] = []

    def answer(request, **_: object) -> AWSResponse:  # type: ignore[no-untyped-def]
        declared.append(_text(request.headers["x-amz-checksum-sha256"]))
        return AWSResponse(request.url, 400, {"content-type": "application/xml"}, Raw(refusal))

    storage.client.meta.events.register("before-send.s3.PutObject", answer)
    audio = tmp_path / "a.mp3"
    audio.write_bytes(b"rotted")
    recorded = hashlib.sha256(b"as recorded").digest()
    with pytest.raises(ChecksumMismatchError, match="BadDigest.*nothing was stored"):
        storage.save_file("episodes/u/e/a.mp3", audio, "audio/mpeg", expected_sha256=recorded.hex())
    assert declared == [base64.b64encode(recorded).decode()]


@pytest.mark.parametrize(("signed", "why"), [
    ("UNSIGNED-PAYLOAD", "was not hashed"),
    (hashlib.sha256(b"y").hexdigest(), f"has SHA-256 {hashlib.sha256(b'y').hexdigest()}, not the declared"),
])
def test_a_plain_http_put_whose_signed_hash_is_not_the_declared_checksum_is_not_sent(signed: str, why: str) -> None:
    from botocore.awsrequest import AWSRequest

    url = "http://127.0.0.1:9/b/k"
    declared = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    request = AWSRequest("PUT", url, headers={"x-amz-checksum-sha256": declared, "X-Amz-Content-SHA256": signed})
    with pytest.raises(ChecksumMismatchError, match=f"{why}.*nothing was uploaded"):
        check_signed_payload(request.prepare())
    check_signed_payload(AWSRequest("PUT", url.replace("http:", "https:"), headers=request.headers).prepare())
    request.headers.replace_header("X-Amz-Content-SHA256", hashlib.sha256(b"x").hexdigest())
    check_signed_payload(request.prepare())


def test_a_file_rewritten_while_it_uploads_is_stored_as_it_was_hashed(tmp_path: Path, moto_server: str,
                                                                       server_bucket) -> None:
    """The object and the checksum it is stored under agree even on a store that does not check (moto)."""
    name, client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    audio = tmp_path / "a.mp3"
    audio.write_bytes(b"x" * 1000)

    def rewrite(**_: object) -> None:
        audio.write_bytes(b"y" * 1000)

    storage.client.meta.events.register("before-call.s3.PutObject", rewrite)
    stat = storage.save_file("episodes/u/e/a.mp3", audio, "audio/mpeg")
    stored = client.get_object(Bucket=name, Key="episodes/u/e/a.mp3", ChecksumMode="ENABLED")
    assert stored["Body"].read() == b"x" * 1000
    assert stat.sha256 == stored["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"x" * 1000).digest()).decode()


def test_a_refused_multipart_part_is_the_storage_error_and_leaves_no_object(tmp_path: Path, moto_server: str,
                                                                            server_bucket) -> None:
    name, client = server_bucket
    storage = server_storage(tmp_path, moto_server, name)
    storage.part_size = 5 * 2**20
    fail_first(storage.client, "UploadPart", times=99, status=403, code="AccessDenied")
    with pytest.raises(StorageAccessDeniedError, match="s3:PutObject"):
        storage.save_stream("episodes/u/e/a.mp3", io.BytesIO(b"x" * (2 * 5 * 2**20 + 1)), "audio/mpeg")
    assert "Contents" not in client.list_objects_v2(Bucket=name)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
