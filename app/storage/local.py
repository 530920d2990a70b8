"""Objects as files under ``DATA_FOLDER``: the default, and what Render's persistent disk holds."""

from __future__ import annotations

import builtins
import hashlib
import io
import mimetypes
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from app.storage.base import (
    CHUNK_SIZE,
    ChecksumMismatchError,
    InvalidReferenceError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStat,
    Storage,
)
from app.storage.checksums import Readable
from app.storage.descriptions import Description
from app.storage.references import safe_key
from app.storage.sorted_entries import sorted_entries

SIDECARS = ".ephitup/descriptions/"  # a tree of its own: the seed's layout and its listings see no new file
CLEAN_STOP = ".ephitup/clean-stop"  # there: no process has written here since the app last stopped cleanly
PARTIALS = ".ephitup/partial"  # every write in progress, in one folder: what a crash cut short is found there
mimetypes.add_type("audio/mpeg", ".mp3")
mimetypes.add_type("audio/mp4", ".m4a")


class LocalStorage(Storage):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._resolved_root = self.root.resolve()  # once: every key is checked against it
        self._wrote = False

    def path(self, key: str) -> Path:
        """The file for ``key``; refuses keys (and symlinks) that lead outside the root."""
        candidate = self._resolved_root / safe_key(key)
        if not candidate.resolve().is_relative_to(self._resolved_root):
            raise InvalidReferenceError(f"{key!r} resolves outside DATA_FOLDER ({self.root})")
        return candidate

    @property
    def name(self) -> str:
        return f"DATA_FOLDER {self.root}"

    def probe(self) -> None:
        if not self.root.is_dir():
            raise ObjectNotFoundError(f"DATA_FOLDER {self.root} does not exist")

    def writable(self) -> bool:
        """Whether a file can be made here now: a real write, since a filesystem an error turned read-only
        (ext4's ``errors=remount-ro``, shown as ``emergency_ro``) still passes ``statvfs`` and ``access()``."""
        probe = self.root / f".write-probe-{os.getpid()}-{threading.get_ident()}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            probe.unlink()
        except OSError:
            return False
        return True

    def save_file(self, key: str, path: Path, content_type: str, expected_sha256: str | None = None,
                  if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        with Path(path).open("rb") as source:
            return self.save_stream(key, source, content_type, expected_sha256, if_absent, description)

    def save_stream(self, key: str, stream: Readable, content_type: str, expected_sha256: str | None = None,
                    if_absent: bool = False, description: Description | None = None) -> ObjectStat:
        if not self._wrote:  # this process may now leave half a write behind, were it to crash
            self.path(CLEAN_STOP).unlink(missing_ok=True)
            self.path(PARTIALS).mkdir(parents=True, exist_ok=True)
            self._wrote = True
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write to the partials' folder (the same disk), flush, then rename: a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path(PARTIALS), prefix=f"{target.name}.", suffix=".part")
        hashed = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(CHUNK_SIZE):
                    hashed.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if expected_sha256 is not None and hashed.hexdigest() != expected_sha256:
                raise ChecksumMismatchError(f"{key}: the data has SHA-256 {hashed.hexdigest()}, expected "
                                            f"{expected_sha256}; nothing was stored")
            if if_absent:  # a link is made only where no file is: create-only, atomically
                os.link(tmp, target)
                os.unlink(tmp)
            else:
                os.replace(tmp, target)
        except FileExistsError:
            Path(tmp).unlink(missing_ok=True)
            raise ObjectExistsError(f"{key} exists already under DATA_FOLDER ({self.root}): nothing was "
                                    "stored") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stat = self.stat(key)
        if description is not None:
            self._write_sidecar(key, replace(description, size=stat.size, sha256=hashed.hexdigest()))
        return stat

    def open_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        path = self._existing(key)
        handle = path.open("rb")  # opened now, so a missing file fails before the first chunk

        def chunks() -> Iterator[bytes]:
            with handle:
                handle.seek(start)
                remaining = None if end is None else end - start + 1
                while remaining is None or remaining > 0:
                    block = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
                    if not block:
                        return
                    if remaining is not None:
                        remaining -= len(block)
                    yield block

        return chunks()

    def open_file(self, key: str) -> BinaryIO:
        return self._existing(key).open("rb")

    def stat(self, key: str) -> ObjectStat:
        return _object_stat(safe_key(key), self._existing(key).stat())

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        self.path(_sidecar(key)).unlink(missing_ok=True)  # after the file: a sidecar alone describes nothing

    def description(self, key: str) -> Description | None:
        try:
            return Description.from_sidecar(self.path(_sidecar(key)).read_bytes())
        except FileNotFoundError:
            return None

    def describe(self, key: str, description: Description) -> None:
        digest = self.digest(key)
        self._write_sidecar(key, replace(description, size=digest.size, sha256=digest.sha256_hex))

    def _write_sidecar(self, key: str, description: Description) -> None:
        self.save_stream(_sidecar(key), io.BytesIO(description.sidecar()), "application/json")

    def list(self, prefix: str = "", start_after: str = "") -> Iterator[ObjectStat]:
        """Files under ``prefix`` in key order (after ``start_after``, as S3's ListObjectsV2 takes it: folders
        wholly before it are not walked); only the prefix's folder is walked, each file stat'ed once.

        A linked file is listed when it stays inside the root; linked folders are not walked (no loops)."""
        folder = prefix.rpartition("/")[0]
        start = self.path(folder) if folder else self._resolved_root
        if start.is_dir():
            yield from self._scan(str(start), folder + "/" if folder else "", prefix, start_after)

    def _scan(self, directory: str, key_prefix: str, prefix: str, start_after: str) -> Iterator[ObjectStat]:
        """One folder in key order, as S3 lists ("a.txt" before "a/..."), whatever its size (``sorted_entries``)."""
        for name in sorted_entries(directory):
            key = key_prefix + name.rstrip("/\0")
            if not (key.startswith(prefix) or prefix.startswith(key + "/")) or key.endswith(".part") \
                    or _wholly_before(key, name.endswith("/"), start_after):
                continue
            path = os.path.join(directory, name.rstrip("/\0"))
            if name.endswith("/"):
                yield from self._scan(path, key + "/", prefix, start_after)
            elif not name.endswith("\0"):
                yield _object_stat(key, os.stat(path))
            elif Path(path).resolve().is_relative_to(self._resolved_root) and os.path.isfile(path):
                yield _object_stat(key, os.stat(path))  # a link to a file inside the root

    def take_clean_stop(self) -> str | None:
        """What the app's last clean stop left, taken away (this process writes from now on): None when nothing
        has stopped cleanly since the last write (a crash, or a first start), else its note."""
        mark = self.path(CLEAN_STOP)
        try:
            note = mark.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        mark.unlink(missing_ok=True)
        return note

    def mark_clean_stop(self, note: str = "") -> None:
        """At the end of a stop with every write finished: the next start need not look for a crash's leftovers
        (or, with a note, where to go on from)."""
        mark = self.path(CLEAN_STOP)
        mark.parent.mkdir(parents=True, exist_ok=True)
        written = mark.with_name(f"{mark.name}.new")
        written.write_text(note, encoding="utf-8")
        os.replace(written, mark)  # whole or not at all: a cut note never reads as "clean"

    def remove_partials(self, older_than: float = 3600.0) -> tuple[str, ...]:
        """Delete the temporary files interrupted writes left behind; returns their keys.

        Only old ones: another process (a migration) may be writing right now.
        """
        folder = self.path(PARTIALS)
        if not folder.is_dir():
            return ()
        removed: builtins.list[str] = []
        deadline = time.time() - older_than
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".part") and entry.stat().st_mtime < deadline:
                    os.unlink(entry.path)
                    removed.append(f"{PARTIALS}/{entry.name}")
        return tuple(removed)

    def copy(self, source_key: str, dest_key: str) -> ObjectStat:
        source = self._existing(source_key)
        return self.save_file(dest_key, source, self.stat(source_key).content_type or "application/octet-stream",
                              description=self.description(source_key))

    def reference(self, key: str) -> str:
        return safe_key(key)

    def _existing(self, key: str) -> Path:
        path = self.path(key)
        if not path.is_file():
            raise ObjectNotFoundError(f"no file {key!r} under DATA_FOLDER ({self.root})")
        return path


def _wholly_before(key: str, folder: bool, start_after: str) -> bool:
    """Whether ``key`` (a folder: every key under it) sorts at or before ``start_after``."""
    if not folder:
        return key <= start_after
    inside = key + "/"
    return inside < start_after and not start_after.startswith(inside)


def _sidecar(key: str) -> str:
    return f"{SIDECARS}{safe_key(key)}.json"


def _object_stat(key: str, info: os.stat_result) -> ObjectStat:
    return ObjectStat(
        key=key,
        size=info.st_size,
        etag=f'"{info.st_mtime_ns:x}-{info.st_size:x}"',
        last_modified=datetime.fromtimestamp(info.st_mtime, UTC),
        content_type=mimetypes.guess_type(key)[0] or "application/octet-stream",
    )
