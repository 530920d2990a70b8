"""The benchmarks' instruments answer like S3 and delay like a link, so their figures mean something."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from benchmarks._harness import LocalTls, Process, latency_proxy, s3_sink

BUCKET = "instrument-check"


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    server, endpoint = s3_sink()
    try:
        yield endpoint
    finally:
        server.stop()


def client(endpoint: str):  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", region_name="us-east-2", endpoint_url=endpoint,
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    with contextlib.suppress(ClientError):  # created by an earlier test on the same server
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    return s3


def test_the_sink_stores_verifies_and_returns_a_put(sink: str) -> None:
    s3, body = client(sink), b"audio" * 1000
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
    reply = s3.put_object(Bucket=BUCKET, Key="a/one.mp3", Body=body, ChecksumSHA256=checksum,
                          ContentType="audio/mpeg", Metadata={"sha256": "x"})
    assert reply["ChecksumSHA256"] == checksum and reply["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    head = s3.head_object(Bucket=BUCKET, Key="a/one.mp3", ChecksumMode="ENABLED")
    assert (head["ContentLength"], head["ContentType"], head["Metadata"]) == (len(body), "audio/mpeg", {"sha256": "x"})
    assert s3.get_object(Bucket=BUCKET, Key="a/one.mp3", Range="bytes=5-9")["Body"].read() == body[5:10]
    with pytest.raises(ClientError, match="BadDigest"):
        s3.put_object(Bucket=BUCKET, Key="a/bad.mp3", Body=body, ChecksumSHA256=base64.b64encode(b"0" * 32).decode())


def test_the_sink_answers_a_body_larger_than_its_write_slice_whole_and_a_create_only_put_once(sink: str) -> None:
    s3, body = client(sink), os.urandom(3 * 1024 * 1024 + 5)  # written to the client a slice of 1 MiB at a time
    s3.put_object(Bucket=BUCKET, Key="a/long.mp3", Body=body, IfNoneMatch="*")
    assert s3.get_object(Bucket=BUCKET, Key="a/long.mp3")["Body"].read() == body
    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=BUCKET, Key="a/long.mp3", Body=b"other", IfNoneMatch="*")


def test_the_sink_lists_by_page_and_by_folder_and_deletes(sink: str) -> None:
    s3 = client(sink)
    for n in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"list/{n % 2}/{n}.mp3", Body=b"x")
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="list/",
                                                             PaginationConfig={"PageSize": 2}))
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == sorted(f"list/{n % 2}/{n}.mp3"
                                                                                    for n in range(5))
    folders = s3.list_objects(Bucket=BUCKET, Prefix="list/", Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["list/0/", "list/1/"]
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": f"list/{n % 2}/{n}.mp3"} for n in range(5)]})
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="list/")["KeyCount"] == 0


def test_the_sink_completes_a_multipart_upload_with_s3s_composite_checksum(sink: str) -> None:
    from boto3.s3.transfer import TransferConfig

    s3, body = client(sink), bytes(range(256)) * 5 * 2**13  # 10 MiB: two parts of 5 MiB (the last 0)
    config = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
    s3.upload_fileobj(io.BytesIO(body), BUCKET, "big.mp3", ExtraArgs={"ChecksumAlgorithm": "SHA256"}, Config=config)
    parts = [hashlib.sha256(body[i:i + 5 * 2**20]).digest() for i in range(0, len(body), 5 * 2**20)]
    expected = f"{base64.b64encode(hashlib.sha256(b''.join(parts)).digest()).decode()}-{len(parts)}"
    assert s3.head_object(Bucket=BUCKET, Key="big.mp3", ChecksumMode="ENABLED")["ChecksumSHA256"] == expected
    assert s3.get_object(Bucket=BUCKET, Key="big.mp3")["Body"].read() == body


def test_the_latency_proxy_adds_its_round_trip_and_passes_bytes_unchanged(sink: str) -> None:
    proxy: Process
    proxy, delayed = latency_proxy(sink, 200)
    try:
        s3 = client(delayed)
        s3.put_object(Bucket=BUCKET, Key="far.mp3", Body=b"far" * 100_000)
        started = time.perf_counter()
        body = s3.get_object(Bucket=BUCKET, Key="far.mp3")["Body"].read()  # one request: one round trip at least
        assert time.perf_counter() - started >= 0.2
        assert body == b"far" * 100_000
    finally:
        proxy.stop()


def test_over_https_the_sink_takes_botocores_chunked_bodies_with_a_trailing_checksum(tmp_path: Path) -> None:
    """Over https botocore sends a body it checksums itself as aws-chunked inside HTTP chunks, the CRC32 last."""
    tls = LocalTls.create(tmp_path)
    server, endpoint = s3_sink(tls)
    try:
        s3 = boto3.client("s3", region_name="us-east-2", endpoint_url=endpoint, verify=str(tls.certificate),
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
        sent: list[dict] = []
        s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers)))
        body = os.urandom(300_000)
        reply = s3.put_object(Bucket=BUCKET, Key="tls.mp3", Body=io.BytesIO(body))
        assert sent[0]["Content-Encoding"] == b"aws-chunked" and endpoint.startswith("https://")
        assert reply["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        assert s3.get_object(Bucket=BUCKET, Key="tls.mp3")["Body"].read() == body
    finally:
        server.stop()


def test_a_pinned_process_runs_only_on_its_cpus() -> None:
    import sys

    sleeper = Process([sys.executable, "-c", "import time; time.sleep(30)"], {}, lambda: True, "sleeper", cpus={0})
    try:
        assert os.sched_getaffinity(sleeper.popen.pid) == {0}
    finally:
        sleeper.stop()
