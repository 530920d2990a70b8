"""The storage interface both backends implement, and the errors they raise.

Errors double as the builtin a caller would naturally catch: a missing object is a
``FileNotFoundError``, a denied one a ``PermissionError``; an unreachable store is
``StorageUnavailableError``, which callers tell apart from a bug (it means "retry later").
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from app.storage.checksums import PART_SIZE, FileDigest, Readable, digest_stream
from app.storage.descriptions import Description

CHUNK_SIZE = 256 * 1024


class StorageError(Exception):
    """Base of every storage failure (the seed called it ``S3StorageError``)."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    pass


class StorageAccessDeniedError(StorageError, PermissionError):
    pass


class StorageUnavailableError(StorageError):
    """The store did not answer (network, timeouts, 5xx after retries): retry later."""


class ObjectExistsError(StorageError, FileExistsError):
    """A create-only save (``if_absent``) found an object at its key already; nothing was stored."""


class ChecksumMismatchError(StorageError):
    """Bytes whose checksum is not the one expected: what was stored, or what a record says was saved."""


class InvalidReferenceError(StorageError, ValueError):
    """A reference or key that is malformed or escapes the data folder."""


@dataclass(frozen=True)
class ObjectStat:
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str | None  # None where the store does not say (S3 listings)
    sha256: str | None = None  # the store's own checksum where it keeps one (S3: base64)


class Storage(abc.ABC):
    """Objects addressed by ``/``-separated keys, e.g. ``episodes/u1/e1/e1.mp3``."""

    kind: str

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Where the objects live, for messages: ``bucket media`` or ``DATA_FOLDER ./data``."""

    @abc.abstractmethod
    def save_file(self, key: str, path: Path, content_type: str, expected_sha256: str | None = None,
                  if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        """Store a local file; return only once the stored copy is verified.

        A file whose SHA-256 is not ``expected_sha256`` (its record's) is refused and nothing is stored.
        ``if_absent``: create only; an object already at ``key`` is an ``ObjectExistsError``, left as it is.
        ``description``: its record's durable fields, stored with it (size and SHA-256 filled in here)."""

    @abc.abstractmethod
    def save_stream(self, key: str, stream: Readable, content_type: str, expected_sha256: str | None = None,
                    if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        """Store what a binary stream yields until EOF (the options as ``save_file``'s)."""

    @abc.abstractmethod
    def description(self, key: str) -> Description | None:
        """What a stored object says about itself; None when it was stored without a description."""

    @abc.abstractmethod
    def describe(self, key: str, description: Description) -> None:
        """Give an object already stored its description (the backfill of files stored before descriptions)."""

    @abc.abstractmethod
    def open_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        """Yield bytes ``start..end`` (inclusive; ``end=None`` means to the end) in chunks."""

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectStat: ...

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; a missing one is not an error."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectStat]: ...

    @abc.abstractmethod
    def copy(self, source_key: str, dest_key: str) -> ObjectStat: ...

    @abc.abstractmethod
    def reference(self, key: str) -> str:
        """The string a record stores to find this object again."""

    def content_sha256(self, key: str) -> str | None:
        """The SHA-256 (hex) of a stored object's whole content; None where the store cannot say it cheaply."""
        return self.digest(key).sha256_hex

    @abc.abstractmethod
    def probe(self) -> None:
        """The cheapest call that proves the store answers with these credentials; raises a ``StorageError``."""

    def holds(self, bucket: str) -> bool:
        """Whether a reference's bucket part names this store."""
        return bucket in self.names()

    def names(self) -> set[str]:
        """The names references give this store's bucket (only object stores have buckets)."""
        return set()

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except FileNotFoundError:
            return False
        return True

    def digest(self, key: str) -> FileDigest:
        """Size and checksums of a stored object, read through the interface."""
        return digest_stream(ChunkReader(self.open_range(key, chunk_size=PART_SIZE)))


@runtime_checkable
class Presigner(Protocol):
    """A store that can hand out a time-limited URL to one object (S3); the disk cannot."""

    def presign(self, key: str, expires_in: int = 3600) -> str:
        """A GET URL for ``key``, valid ``expires_in`` seconds."""


@runtime_checkable
class FileSender(Protocol):
    """A store whose objects are files on this machine, which the server can send itself (the disk; S3 cannot)."""

    def open_file(self, key: str) -> BinaryIO:
        """``key``'s file, open for reading; missing, it raises ``ObjectNotFoundError``."""


class ChunkReader:
    """A ``read(n)`` face over an iterator of chunks, for code that wants a file (copies between stores)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        taken, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
        return taken
