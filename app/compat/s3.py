"""The seed's public names (``open_notebook/storage/s3.py``), kept importable for existing callers.

Each is a thin face over the storage interface, built from the current environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from app.runtime import s3_storage
from app.settings import Settings, SettingsError
from app.storage.base import StorageError
from app.storage.references import build_episode_asset_key, parse_s3_url

if TYPE_CHECKING:
    from app.storage.s3 import S3Storage

S3StorageError = StorageError


def is_s3_configured(environ: Mapping[str, str] | None = None) -> bool:
    """The seed's rule: S3 iff a bucket and both keys are set (``STORAGE_MODE`` can override)."""
    return Settings.from_env(environ).storage.mode == "s3"


def _storage() -> S3Storage:
    try:
        return s3_storage(Settings.from_env())
    except SettingsError as error:  # the seed's callers catch S3StorageError
        raise S3StorageError(str(error)) from None


def _key(key_or_url: str) -> str:
    return parse_s3_url(key_or_url)[1] if key_or_url.startswith("s3://") else key_or_url


async def upload_file(path: Path | str, key: str, content_type: str = "audio/mpeg") -> str:
    """Upload and verify a file; return its ``s3://bucket/key`` reference."""
    storage = _storage()
    await asyncio.to_thread(storage.save_file, key, Path(path), content_type)
    return storage.reference(key)


def generate_presigned_url(key_or_url: str, expires_in: int = 3600) -> str:
    return _storage().presign(_key(key_or_url), expires_in)


def delete_object(key_or_url: str) -> None:
    _storage().delete(_key(key_or_url))


__all__ = [
    "S3StorageError", "build_episode_asset_key", "delete_object", "generate_presigned_url",
    "is_s3_configured", "parse_s3_url", "upload_file",
]
