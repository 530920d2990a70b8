"""One storage interface (``Storage``), two backends (``LocalStorage``, ``S3Storage``).

``app.runtime`` builds them; nothing else in the app touches the disk or S3 directly.
"""

from __future__ import annotations

from app.storage.base import (
    ChecksumMismatchError,
    FileSender,
    InvalidReferenceError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStat,
    Presigner,
    Storage,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)
from app.storage.local import LocalStorage
from app.storage.references import Location, build_episode_asset_key, parse_reference, parse_s3_url

__all__ = [
    "ChecksumMismatchError", "FileSender", "InvalidReferenceError", "LocalStorage", "Location", "ObjectExistsError",
    "ObjectNotFoundError",
    "ObjectStat", "Presigner", "Storage", "StorageAccessDeniedError", "StorageError", "StorageUnavailableError",
    "build_episode_asset_key", "parse_reference", "parse_s3_url",
]
