"""References (what records store) and S3 keys: parsing, building, and refusing escapes.

A reference is ``s3://<bucket>/<key>`` or a path relative to ``DATA_FOLDER``. Legacy absolute paths
from older mount points (``/mydata``, ``/app/data``, ``/data``, ``./data``, ``file://``) are re-rooted
under ``DATA_FOLDER``; anything that still lands outside it is refused.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.compat.legacy import LEGACY_ROOTS
from app.storage.base import InvalidReferenceError

_TABLE_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:(?=.)")
_UNSAFE = re.compile(r"[:\s\\/]+")


@dataclass(frozen=True)
class Location:
    """Where a reference points: ``bucket`` is None for the local data folder."""

    key: str
    bucket: str | None = None

    @property
    def is_s3(self) -> bool:
        return self.bucket is not None


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; an access-point ARN is accepted as the bucket."""
    if not url.startswith("s3://"):
        raise InvalidReferenceError(f"not an s3:// URL: {url!r}")
    rest = url[len("s3://") :]
    if rest.startswith("arn:"):
        # arn:aws:s3:<region>:<account>:accesspoint/<name>/<key>
        head, _, remainder = rest.partition(":accesspoint/")
        name, _, key = remainder.partition("/")
        bucket = f"{head}:accesspoint/{name}"
    else:
        bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise InvalidReferenceError(f"an s3:// URL needs a bucket and a key: {url!r}")
    return bucket, key


def safe_key(key: str) -> str:
    """Normalise a relative ``/``-separated key, refusing absolute ones and any ``..`` escape."""
    if not key or key.startswith("/") or "\x00" in key or "\\" in key:
        raise InvalidReferenceError(f"not a relative key: {key!r}")
    normal = posixpath.normpath(key)
    if normal == "." or normal.startswith("../") or normal == "..":
        raise InvalidReferenceError(f"key escapes the data folder: {key!r}")
    return normal


def parse_reference(reference: str, data_folder: Path) -> Location:
    """Turn a stored reference into a ``Location``, re-rooting legacy absolute paths."""
    if reference.startswith("s3://"):
        bucket, key = parse_s3_url(reference)
        return Location(key=key, bucket=bucket)
    path = reference.removeprefix("file://")
    if path.startswith(("/", "./data/")):
        return Location(key=_relative_to_data_folder(path, data_folder))
    return Location(key=safe_key(path))


def _relative_to_data_folder(path: str, data_folder: Path) -> str:
    absolute = PurePosixPath(posixpath.normpath(path))
    root = PurePosixPath(posixpath.normpath(str(data_folder.resolve())))
    if absolute.is_relative_to(root):
        return safe_key(str(absolute.relative_to(root)))
    for legacy in LEGACY_ROOTS:
        legacy_root = PurePosixPath(posixpath.normpath(legacy))
        candidate = PurePosixPath(posixpath.normpath(path)) if legacy.startswith(".") else absolute
        if candidate.is_relative_to(legacy_root) and candidate != legacy_root:
            return safe_key(str(candidate.relative_to(legacy_root)))
    raise InvalidReferenceError(f"{path!r} lies outside DATA_FOLDER ({data_folder})")


def sanitize_segment(value: str, fallback: str, *, record_id: bool = True) -> str:
    """One key segment: a record id's ``table:`` prefix stripped; colons, slashes, spaces made safe."""
    text = str(value).strip()
    if record_id:
        text = _TABLE_PREFIX.sub("", text)
    text = _UNSAFE.sub("_", text).strip("._") or fallback
    return text


def build_episode_asset_key(user_id: str | None, episode_id: str, filename: str) -> str:
    """The seed's layout: ``episodes/{user_id}/{episode_id}/{filename}``."""
    name = PurePosixPath(str(filename).replace("\\", "/")).name
    return "/".join(
        (
            "episodes",
            sanitize_segment(user_id or "", "anonymous"),
            sanitize_segment(episode_id, "episode"),
            sanitize_segment(name, "audio.mp3", record_id=False),
        )
    )
