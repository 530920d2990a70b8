"""What S3 should report for a file, computed locally in one pass.

S3 reports a full-object SHA-256 for a single PUT and a composite one (the SHA-256 of the parts'
digests, suffixed ``-N``) for a multipart upload. Knowing the part size, it can be predicted, so an
upload is verified against S3's own answer.
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

    @classmethod
    def single_put(cls, size: int, sha256_hex: str) -> FileDigest:
        """What S3 reports for an object stored by one PUT: its checksum is the whole object's SHA-256."""
        return cls(size, sha256_hex, base64.b64encode(bytes.fromhex(sha256_hex)).decode())

    def matches_checksum(self, reported: str | None) -> bool:
        return bool(reported) and reported.split("-")[0] == self.s3_checksum  # type: ignore[union-attr]


def digest_stream(stream: Readable, part_size: int = PART_SIZE) -> FileDigest:
    whole = hashlib.sha256()
    part_sha: list[bytes] = []
    size = 0
    while block := stream.read(part_size):
        whole.update(block)
        # The first part's digest is the whole's so far: hashing it again would double a one-PUT file's cost.
        part_sha.append(whole.digest() if size == 0 else hashlib.sha256(block).digest())
        size += len(block)
    if size < part_size:  # below the multipart threshold, one PUT: S3's checksum covers the object itself
        return FileDigest.single_put(size, whole.hexdigest())
    composite = base64.b64encode(hashlib.sha256(b"".join(part_sha)).digest()).decode()
    return FileDigest(size, whole.hexdigest(), composite)


def digest_file(path: Path, part_size: int = PART_SIZE) -> FileDigest:
    with path.open("rb") as stream:
        return digest_stream(stream, part_size)
