"""Sources: documents users upload for the notebook, kept under ``uploads/`` on the disk (as in the seed), or
in S3 under the same keys when the environment is scaled (no instance keeps a disk)."""

from __future__ import annotations

import logging
import mimetypes
import re
import time
import unicodedata
import uuid

from app.records import Records, Source
from app.recovery.tombstones import Tombstones
from app.storage import InvalidReferenceError, StorageError
from app.storage.checksums import Readable
from app.storage.descriptions import Description
from app.storage.stores import Stores

log = logging.getLogger("ephitup.sources")
MEDIA_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+")


class NotAMediaTypeError(ValueError):
    """A client declared a content type that is not ``type/subtype``."""


def display_name(filename: str | None) -> str:
    """A client's file name, kept only for display: last path segment, no control characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    return name.strip(" .")[:255] or "upload"


class Sources:
    def __init__(self, records: Records, stores: Stores) -> None:
        self.records, self.stores = records, stores

    def create(self, stream: Readable, filename: str | None, media_type: str) -> Source:
        """Store the bytes under a name of our own (never the client's), then record them."""
        if not MEDIA_TYPE.fullmatch(media_type):
            raise NotAMediaTypeError(f"not a media type: {media_type!r}")
        source_id = uuid.uuid4().hex
        key = f"uploads/{source_id}{mimetypes.guess_extension(media_type) or '.bin'}"
        files = self.stores.files  # S3 when scaled: checksummed and verified like episode audio
        described = Description(source_id, "source", display_name(filename), media_type, time.time())
        stat = files.save_stream(key, stream, media_type, description=described)
        source = Source(source_id, described.name, files.reference(key), media_type, stat.size, described.created_at)
        return self.records.add_source(source)

    def delete(self, source: Source) -> None:
        """A tombstone, then the record, then the file (as ``Episodes.delete``)."""
        Tombstones(self.stores.durable).bury(source.id)
        self.records.delete_source(source.id)
        try:
            storage, key = self.stores.locate(source.ref)
            storage.delete(key)
        except (StorageError, InvalidReferenceError) as error:
            log.warning("source %s deleted; its file %s was not: %s", source.id, source.ref, error)
