"""Objects in S3 (or an S3-compatible store), directly or through an access point.

The access point is used the way AWS documents it: its ARN or alias is passed as ``Bucket=``; the
endpoint is never rewritten by hand. Stored references always name the real bucket.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from app.storage.base import (
    CHUNK_SIZE,
    ChecksumMismatchError,
    ObjectExistsError,
    ObjectStat,
    Storage,
    StorageError,
    StorageUnavailableError,
)
from app.storage.breaker import Breaker
from app.storage.checksums import PART_SIZE, FileDigest, Readable, digest_stream
from app.storage.descriptions import Description
from app.storage.references import safe_key
from app.storage.s3_client import make_client, translate
from app.storage.s3_config import MAX_PRESIGN_SECONDS, S3Config


class S3Storage(Storage):
    kind = "s3"

    def __init__(self, config: S3Config, part_size: int = PART_SIZE,
                 on_error: Callable[[StorageError], None] = lambda error: None) -> None:
        self.config = config
        self.target: str = config.target  # what object calls pass as Bucket=
        self.bucket_name: str = config.bucket  # what references name
        self.part_size = part_size
        self.on_error = on_error  # told of every failed call (the app's metrics)
        self._client: Any = None
        self._lock = threading.Lock()
        self.breaker = Breaker(cooldown=config.breaker_seconds)

    @property
    def client(self) -> Any:
        """Created on first use (importing the app never touches the network), once, thread-safely."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self.config)
        return self._client

    @property
    def name(self) -> str:
        return f"bucket {self.bucket_name}"

    def probe(self) -> None:
        """One listing of at most one key under episodes/ (the app's policy allows it there)."""
        with self._errors("s3:ListBucket", "episodes/"):
            self.client.list_objects_v2(Bucket=self.target, Prefix="episodes/", MaxKeys=1)

    def names(self) -> set[str]:
        """Every name a reference's bucket part may give this store: bucket, access-point ARN or alias."""
        return {name for name in (self.bucket_name, self.target, self.config.access_point) if name}

    def save_file(self, key: str, path: Path, content_type: str, expected_sha256: str | None = None,
                  if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        """Upload and verify; a file whose SHA-256 is not ``expected_sha256`` (its record's) is refused unsent."""
        with Path(path).open("rb") as source:
            return self._save(key, source, content_type, expected_sha256, if_absent, description)

    def content_sha256(self, key: str) -> str | None:
        """From one HEAD: the SHA-256 every upload here records in its metadata (multipart ones too)."""
        return self._head(key).get("Metadata", {}).get("sha256")  # type: ignore[no-any-return]

    def save_stream(self, key: str, stream: Readable, content_type: str, expected_sha256: str | None = None,
                    if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        # Spooled to a temporary file first: the checksum must be known before S3 is told it.
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(stream, spool, CHUNK_SIZE)  # type: ignore[misc]  # Readable is read(n)-only
            spool.seek(0)
            return self._save(key, spool, content_type, expected_sha256, if_absent, description)

    def description(self, key: str) -> Description | None:
        return Description.from_metadata(self._head(key).get("Metadata", {}))

    def describe(self, key: str, description: Description) -> None:
        """S3 metadata cannot change in place: the object is copied onto itself with the new metadata."""
        head = self._head(key)
        sha256 = head.get("Metadata", {}).get("sha256")
        described = replace(description, size=head["ContentLength"], sha256=sha256 or description.sha256)
        with self._errors("s3:GetObject and s3:PutObject", key):
            self.client.copy_object(
                CopySource={"Bucket": self.target, "Key": safe_key(key)}, Bucket=self.target, Key=safe_key(key),
                MetadataDirective="REPLACE", ContentType=head.get("ContentType", "application/octet-stream"),
                Metadata=_metadata(described, sha256), ChecksumAlgorithm="SHA256")

    def _save(self, key: str, source: BinaryIO, content_type: str, expected_sha256: str | None = None,
              if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        """Hash, check, upload, verify.

        Below the multipart threshold the object is read into memory once, so the bytes hashed are the
        bytes sent. A record's SHA-256 is declared as is, not hashed again here: over https S3 hashes what
        it receives and refuses a mismatch (``BadDigest``, nothing stored); over plain http botocore hashes
        the body to sign it, and that hash is held to the declared one before sending (check_signed_payload).
        """
        head = _read_up_to(source, self.part_size)
        if len(head) < self.part_size:
            body: bytes | BinaryIO = head
            if expected_sha256 is not None:
                digest = FileDigest.single_put(len(head), expected_sha256)
            else:
                digest = digest_stream(io.BytesIO(head), self.part_size)
        else:
            source.seek(0)
            digest = digest_stream(source, self.part_size)
            source.seek(0)
            body = source
        if expected_sha256 is not None and digest.sha256_hex != expected_sha256:
            raise ChecksumMismatchError(
                f"{key}: the data to upload has SHA-256 {digest.sha256_hex}, expected {expected_sha256}; "
                "nothing was uploaded")
        described = description and replace(description, size=digest.size, sha256=digest.sha256_hex)
        reply = self._upload(key, body, content_type, digest, if_absent, described)
        return self._verified(key, digest, content_type, reply)

    def _upload(self, key: str, body: bytes | BinaryIO, content_type: str, digest: FileDigest,
                if_absent: bool, description: Description | None) -> dict[str, Any] | None:
        """One PUT carrying the SHA-256 below the multipart threshold (its reply returned); multipart above it.

        Create-only (``if_absent``): the PUT is conditional (``If-None-Match: *``, S3 answers 412 where an object
        is); s3transfer passes no condition on, so a multipart upload asks first with one HEAD."""
        args = {"ContentType": content_type, "Metadata": _metadata(description, digest.sha256_hex)}
        if if_absent and digest.size >= self.part_size and self.exists(key):
            raise ObjectExistsError(f"s3://{self.target}/{key} exists already: nothing was uploaded")
        with self._errors("s3:PutObject", key):
            if digest.size < self.part_size:
                return self.client.put_object(  # type: ignore[no-any-return]
                    Bucket=self.target, Key=safe_key(key), Body=body, ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=digest.s3_checksum, **({"IfNoneMatch": "*"} if if_absent else {}), **args)
            from s3transfer.manager import TransferConfig, TransferManager  # boto3's upload_fileobj, minus boto3

            config = TransferConfig(multipart_threshold=self.part_size, multipart_chunksize=self.part_size)
            with TransferManager(self.client, config) as transfer:
                transfer.upload(body, self.target, safe_key(key),
                                extra_args={**args, "ChecksumAlgorithm": "SHA256"}).result()
            return None

    def _verified(self, key: str, digest: FileDigest, content_type: str, reply: dict[str, Any] | None) -> ObjectStat:
        """The stored object's stat, once S3's own SHA-256 of it is seen to equal what was sent.

        S3 hashes a PUT's body itself, refuses it on a mismatch (BadDigest), and replies with the checksum
        it stored: that reply is the verification, and a HEAD would only read the same value back. A
        reply without a checksum (multipart, or a store that ignores checksums) is verified with a HEAD.
        """
        stored = reply.get("ChecksumSHA256") if reply else None
        if reply is None or not stored:
            stat = self.stat(key)
            if stat.size != digest.size or not digest.matches_checksum(stat.sha256):
                raise ChecksumMismatchError(
                    f"s3://{self.bucket_name}/{key} holds {stat.size} bytes with SHA-256 {stat.sha256}, "
                    f"expected {digest.size} bytes with {digest.s3_checksum}")
            return stat
        if not digest.matches_checksum(stored):
            raise ChecksumMismatchError(
                f"s3://{self.bucket_name}/{key} was stored with SHA-256 {stored}, expected {digest.s3_checksum}")
        from email.utils import parsedate_to_datetime  # with a reply to read: a rerun with nothing to send skips it

        headers = reply["ResponseMetadata"].get("HTTPHeaders", {})
        replied_at = headers.get("last-modified") or headers.get("date")
        modified = parsedate_to_datetime(replied_at) if replied_at else datetime.now(UTC)
        return ObjectStat(key, digest.size, reply["ETag"], modified, content_type, stored)

    def open_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        with self._errors("s3:GetObject", key):
            body = self.client.get_object(Bucket=self.target, Key=safe_key(key), **extra)["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                with self._errors("s3:GetObject", key, new_request=False):
                    yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

        return chunks()

    def stat(self, key: str) -> ObjectStat:
        head = self._head(key)
        return ObjectStat(
            key=key,
            size=head["ContentLength"],
            etag=head["ETag"],
            last_modified=head["LastModified"],
            content_type=head.get("ContentType"),
            sha256=head.get("ChecksumSHA256"),
        )

    def _head(self, key: str) -> dict[str, Any]:
        with self._errors("s3:GetObject (and s3:ListBucket to tell missing from denied)", key):
            return self.client.head_object(  # type: ignore[no-any-return]
                Bucket=self.target, Key=safe_key(key), ChecksumMode="ENABLED"
            )

    def delete(self, key: str) -> None:
        with self._errors("s3:DeleteObject", key):
            self.client.delete_object(Bucket=self.target, Key=safe_key(key))

    def list(self, prefix: str = "") -> Iterator[ObjectStat]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors("s3:ListBucket", prefix):
            for page in paginator.paginate(Bucket=self.target, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield ObjectStat(item["Key"], item["Size"], item["ETag"], item["LastModified"], None)

    def copy(self, source_key: str, dest_key: str) -> ObjectStat:
        source = self._head(source_key)
        with self._errors("s3:GetObject and s3:PutObject", f"{source_key} -> {dest_key}"):
            self.client.copy_object(
                CopySource={"Bucket": self.target, "Key": safe_key(source_key)},
                Bucket=self.target, Key=safe_key(dest_key),
                MetadataDirective="COPY", ChecksumAlgorithm="SHA256",
            )
        copied = self.stat(dest_key)
        # A copy is one PUT, so its checksum covers the whole object: check it against the upload's.
        expected = source.get("Metadata", {}).get("sha256")
        if copied.size != source["ContentLength"] or (
            expected and copied.sha256 != base64.b64encode(bytes.fromhex(expected)).decode()
        ):
            raise ChecksumMismatchError(f"copy of {source_key!r} to {dest_key!r} does not match")
        return copied

    def presign(self, key: str, expires_in: int = 3600) -> str:
        """The one place that presigns: a GET URL, valid at most SigV4's seven days."""
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_in={expires_in} must be 1..{MAX_PRESIGN_SECONDS} seconds (SigV4)")
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.target, "Key": safe_key(key)}, ExpiresIn=expires_in
        )

    def reference(self, key: str) -> str:
        return f"s3://{self.bucket_name}/{safe_key(key)}"

    @contextmanager
    def _errors(self, action: str, key: str, new_request: bool = True) -> Iterator[None]:
        """Botocore errors (a multipart upload's too: s3transfer raises them as they came) as storage errors.

        A new request S3 did not answer at all (no connection, timeouts) opens the breaker; an answer closes
        it. A body that breaks off mid-stream (``new_request=False``: a reset, a stall, S3 closing a paused
        listener's connection) fails that one stream only: S3 answered, so the store is not down."""
        if new_request:
            self.breaker.check()
        try:
            yield
        except (ClientError, BotoCoreError) as error:
            translated = translate(error, action, f"s3://{self.target}/{key}", self.target)
            if new_request and isinstance(translated, StorageUnavailableError) and not isinstance(error, ClientError):
                # The reason names no object: it is answered to every caller while the breaker is open.
                self.breaker.trip(f"S3 is unreachable at {self.name} ({type(error).__name__})")
            if not isinstance(translated, ObjectExistsError):  # a create-only PUT's refusal is an answer
                self.on_error(translated)
            raise translated from error
        self.breaker.close()


def _metadata(description: Description | None, sha256: str | None) -> dict[str, str]:
    """The object's user metadata: the SHA-256 every upload records, and its description where it has one."""
    return {**({"sha256": sha256} if sha256 else {}), **(description.metadata() if description else {})}


def _read_up_to(source: BinaryIO, limit: int) -> bytes:
    """At most ``limit`` bytes, read into a buffer the size of what the file holds: asked for more, Python
    allocates all ``limit`` bytes afresh for every upload (a new mapping, faulted in page by page)."""
    try:
        left = os.fstat(source.fileno()).st_size - source.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):  # not a file on disk
        return source.read(limit)
    return source.read(max(0, min(limit, left)))
