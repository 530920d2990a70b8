"""What ``digest_stream`` predicts S3 will report, checked against the definitions computed naively."""

from __future__ import annotations

import base64
import hashlib
import io
import os

import pytest

from app.storage.checksums import digest_stream

PART = 1024


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("size", [0, 1, PART - 1])
def test_one_put_reports_the_whole_object_sha256(size: int) -> None:
    data = os.urandom(size)
    digest = digest_stream(io.BytesIO(data), PART)
    assert (digest.size, digest.sha256_hex) == (size, hashlib.sha256(data).hexdigest())
    assert digest.s3_checksum == b64(hashlib.sha256(data).digest())


@pytest.mark.parametrize("size", [PART, PART + 1, 3 * PART, 3 * PART + 17])
def test_multipart_reports_the_digest_of_the_part_digests(size: int) -> None:
    data = os.urandom(size)
    parts = [data[i:i + PART] for i in range(0, size, PART)]
    digest = digest_stream(io.BytesIO(data), PART)
    assert digest.sha256_hex == hashlib.sha256(data).hexdigest()
    assert digest.s3_checksum == b64(hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest())


def test_a_multipart_checksum_matches_with_its_part_count_suffix() -> None:
    digest = digest_stream(io.BytesIO(b"abc" * 1000), PART)
    assert digest.matches_checksum(digest.s3_checksum + "-3") and not digest.matches_checksum(None)
