"""What a stored file says about itself, so that the records can be rebuilt from the stores alone.

Every episode's audio and every source carries the durable fields of its record: on S3 as the object's
user metadata, on the disk as a small JSON sidecar in a tree of its own (``.ephitup/descriptions/<key>.json``
under the data folder), so the seed's layout and its listings see no new file. S3 metadata is US-ASCII and
at most 2 KB (keys and values together, in UTF-8): names and user ids travel base64url-encoded, so any
Unicode round-trips; a name too long to fit is cut at a character and marked, and the rebuild says so.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace
from typing import Literal

Kind = Literal["episode", "source"]
METADATA_PREFIX = "ephitup-"
METADATA_LIMIT = 2048  # S3's limit on user metadata, keys and values in UTF-8
ENCODED = ("name", "user_id")  # free text: base64url of UTF-8
CUT_MARK = "name-cut"


@dataclass(frozen=True)
class Description:
    id: str
    kind: Kind
    name: str  # an episode's name, a source's display file name
    content_type: str
    created_at: float
    user_id: str | None = None
    size: int | None = None  # known before the bytes are stored (episodes); otherwise the store says it
    sha256: str | None = None  # hex
    name_cut: bool = False  # the name was too long for S3 metadata and was shortened

    def metadata(self) -> dict[str, str]:
        """S3 user metadata (boto3 adds the ``x-amz-meta-`` prefix), within S3's 2 KB."""
        fields = self._fields()
        if _metadata_size(fields) <= METADATA_LIMIT or not self.name:
            return fields
        return replace(self, name=self.name[:-8], name_cut=True).metadata()

    def _fields(self) -> dict[str, str]:
        fields = {key: _encode(value) if key in ENCODED else str(value) for key, value in asdict(self).items()
                  if value is not None and key != "name_cut"}
        if self.name_cut:
            fields[CUT_MARK] = "1"
        return {METADATA_PREFIX + key.replace("_", "-"): value for key, value in fields.items()}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> Description | None:
        """The description S3 metadata carries; None for an object stored without one (or not by this app)."""
        fields = {key.lower().removeprefix(METADATA_PREFIX).replace("-", "_"): value for key, value in metadata.items()
                  if key.lower().startswith(METADATA_PREFIX)}
        try:
            return cls(id=fields["id"], kind=_kind(fields["kind"]), name=_decode(fields["name"]),
                       content_type=fields["content_type"], created_at=float(fields["created_at"]),
                       user_id=_decode(fields["user_id"]) if "user_id" in fields else None,
                       size=int(fields["size"]) if "size" in fields else None, sha256=fields.get("sha256"),
                       name_cut=CUT_MARK.replace("-", "_") in fields)
        except (KeyError, ValueError):
            return None

    def sidecar(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def from_sidecar(cls, data: bytes) -> Description | None:
        try:
            fields = json.loads(data)
            return cls(**{**fields, "kind": _kind(fields["kind"])})
        except (ValueError, TypeError, KeyError):
            return None


def _kind(value: str) -> Kind:
    if value not in ("episode", "source"):
        raise ValueError(value)
    return value  # type: ignore[return-value]


def _encode(text: object) -> str:
    return base64.urlsafe_b64encode(str(text).encode()).decode().rstrip("=")


def _decode(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def _metadata_size(fields: dict[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in fields.items())
