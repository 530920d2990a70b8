"""The app's two stores side by side, and the one place that says which one a stored reference is in."""

from __future__ import annotations

from dataclasses import dataclass

from app.storage.base import Storage, StorageError
from app.storage.local import LocalStorage
from app.storage.references import Location, parse_reference


class StorageNotConfiguredError(StorageError):
    """A record points at S3, but this process runs without S3 (or with another bucket)."""


@dataclass(frozen=True)
class Stores:
    """The data folder, always; an object store when S3 is on."""

    local: LocalStorage
    remote: Storage | None = None
    scaled: bool = False  # TOPOLOGY=scaled: an instance's disk holds no file past a request

    @property
    def files(self) -> Storage:
        """Where a new file is kept for good: the data folder, or S3 when no instance has a disk to keep it."""
        if self.scaled:
            assert self.remote is not None, "TOPOLOGY=scaled is refused without S3"
            return self.remote
        return self.local

    @property
    def durable(self) -> Storage:
        """Where what must outlive the disk goes (backups, tombstones): the bucket when S3 is on."""
        return self.remote or self.local

    def where(self, reference: str) -> Location:
        """Parse a reference against the data folder (legacy absolute paths re-rooted)."""
        return parse_reference(reference, self.local.root)

    def locate(self, reference: str) -> tuple[Storage, str]:
        """The backend and key a stored reference points at."""
        location = self.where(reference)
        if not location.is_s3:
            return self.local, location.key
        if self.remote is None or not self.remote.holds(location.bucket or ""):
            raise StorageNotConfiguredError(
                f"the data is in s3://{location.bucket}/ but this app has "
                f"{'no S3 configured' if self.remote is None else self.remote.name}")
        return self.remote, location.key
