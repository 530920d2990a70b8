"""What S3 should report for a file, computed locally in one pass.

S3 reports a full-object SHA-256 for a single PUT and a composite one (the SHA-256 of the parts'
digests, suffixed ``-N``) for a multipart upload; its ETag is the MD5 likewise. Knowing the part size,
both can be predicted, so an upload is verified against S3's own answer and a later run can tell from
a listing (size + ETag) that an object is already there, without one HEAD per file.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Readable(Protocol):
    """Anything with ``read(size)``: open files, spooled uploads, chunk iterators behind ChunkReader."""

    def read(self, size: int = -1, /) -> bytes: ...

PART_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileDigest:
    size: int
    sha256_hex: str
    s3_checksum: str  # the ChecksumSHA256 S3 reports (base64, no "-N" suffix)
    etag: str | None  # the ETag S3 reports, without quotes (None when not asked for: MD5 costs CPU)

    @classmethod
    def single_put(cls, size: int, sha256_hex: str, etag: str | None = None) -> FileDigest:
        """What S3 reports for an object stored by one PUT: its checksum is the whole object's SHA-256."""
        return cls(size, sha256_hex, base64.b64encode(bytes.fromhex(sha256_hex)).decode(), etag)

    def matches_checksum(self, reported: str | None) -> bool:
        return bool(reported) and reported.split("-")[0] == self.s3_checksum  # type: ignore[union-attr]

    def matches_etag(self, reported: str | None) -> bool:
        return bool(reported) and reported.strip('"') == self.etag  # type: ignore[union-attr]


def digest_stream(stream: Readable, part_size: int = PART_SIZE, etag: bool = True) -> FileDigest:
    whole = hashlib.sha256()
    part_sha: list[bytes] = []
    part_md5: list[bytes] = []
    size = 0
    while block := stream.read(part_size):
        whole.update(block)
        # The first part's digest is the whole's so far: hashing it again would double a one-PUT file's cost.
        part_sha.append(whole.digest() if size == 0 else hashlib.sha256(block).digest())
        size += len(block)
        if etag:
            part_md5.append(hashlib.md5(block, usedforsecurity=False).digest())
    if size < part_size:
        # Below the multipart threshold, one PUT: S3's checksum and ETag cover the object itself.
        md5 = (part_md5[0].hex() if part_md5 else hashlib.md5(b"", usedforsecurity=False).hexdigest()) if etag \
            else None
        return FileDigest.single_put(size, whole.hexdigest(), md5)
    composite = base64.b64encode(hashlib.sha256(b"".join(part_sha)).digest()).decode()
    multipart_etag = hashlib.md5(b"".join(part_md5), usedforsecurity=False).hexdigest() + f"-{len(part_md5)}" \
        if etag else None
    return FileDigest(size, whole.hexdigest(), composite, multipart_etag)


def digest_file(path: Path, part_size: int = PART_SIZE, etag: bool = True) -> FileDigest:
    with path.open("rb") as stream:
        return digest_stream(stream, part_size, etag)
