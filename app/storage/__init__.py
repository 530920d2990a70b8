"""One storage interface (``Storage``), two backends (``LocalStorage``, ``S3Storage``).

``open_storage(settings)`` returns the backend the environment selects; nothing else in the app
touches the disk or S3 directly.
"""

from __future__ import annotations

from app.settings import Settings
from app.storage.base import (
    ChecksumMismatchError,
    InvalidReferenceError,
    ObjectNotFoundError,
    ObjectStat,
    Storage,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)
from app.storage.local import LocalStorage
from app.storage.references import Location, build_episode_asset_key, parse_reference, parse_s3_url


def open_storage(settings: Settings) -> Storage:
    """The backend ``settings`` select (raises ``SettingsError`` for a half-set ``STORAGE_MODE=s3``)."""
    if settings.decide_storage().mode == "s3":
        from app.storage.s3 import S3Storage  # boto3 is imported only when S3 is used

        return S3Storage(settings)
    return LocalStorage(settings.data_folder)


__all__ = [
    "ChecksumMismatchError", "InvalidReferenceError", "LocalStorage", "Location", "ObjectNotFoundError",
    "ObjectStat", "Storage", "StorageAccessDeniedError", "StorageError", "StorageUnavailableError",
    "build_episode_asset_key", "open_storage", "parse_reference", "parse_s3_url",
]
