"""Deletions that stay deleted: before a record is forgotten, a tombstone names it where the records' backups
live (the bucket with S3 on, else the disk), so a file a crash left behind is never brought back."""

from __future__ import annotations

import io

from app.storage import Storage

TOMBSTONES = "backups/records/deleted/"  # inside the backups' prefix (app.backups.PREFIX): no wider IAM policy


class Tombstones:
    def __init__(self, store: Storage) -> None:
        self.store = store

    def bury(self, record_id: str) -> None:
        """Durable before it returns; a store that cannot take it fails the delete, which then changes nothing."""
        self.store.save_stream(TOMBSTONES + record_id, io.BytesIO(b""), "application/octet-stream")

    def ids(self) -> set[str]:
        return {stat.key.removeprefix(TOMBSTONES) for stat in self.store.list(TOMBSTONES)}
