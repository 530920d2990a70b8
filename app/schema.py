"""The records' shape: the rows (``Episode``, ``Source``) and the schema's steps, one per version, written once
for both engines (SQLite and PostgreSQL).

``SCHEMA_STEPS[i]`` takes a database from version ``i`` to ``i + 1``; a later change appends a step and
existing databases are brought forward at open (``app.records.Records``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

SCHEMA_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE episodes (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        user_id TEXT,
        audio_ref TEXT NOT NULL,
        local_key TEXT,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        etag TEXT,
        state TEXT NOT NULL CHECK (state IN ('stored', 'pending_upload')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX episodes_pending ON episodes (state, next_attempt_at);
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        filename TEXT NOT NULL,
        ref TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # v2: the reference an episode's audio had before `fix-keys` moved it, until the old copy is gone
    "ALTER TABLE episodes ADD COLUMN superseded_ref TEXT",
    # v3: the orders listings are paged in (keyset: after (created_at, id)), overall and per user; the few
    # episodes with a local copy to let go of, which the reconciler looks for on every pass
    """
    CREATE INDEX episodes_by_time ON episodes (created_at, id);
    CREATE INDEX episodes_by_user ON episodes (user_id, created_at, id);
    CREATE INDEX sources_by_time ON sources (created_at, id);
    CREATE INDEX episodes_local_copies ON episodes (state, created_at) WHERE local_key IS NOT NULL;
    """,
    # v4: the bucket (or access point) an episode's audio is in, NULL on the disk; filled for existing rows
    # before v5 (``Records``), so the health check reads the few buckets from an index, not every reference
    "ALTER TABLE episodes ADD COLUMN audio_bucket TEXT",
    "CREATE INDEX episodes_by_bucket ON episodes (audio_bucket)",
)
BUCKETS_FILLED = 4  # the version whose rows get their audio_bucket before the index of v5

EpisodeState = Literal["stored", "pending_upload"]

Position = tuple[float, str]  # (created_at, id): where a page of a listing starts after


@dataclass(frozen=True)
class Episode:
    id: str
    name: str
    user_id: str | None
    audio_ref: str
    local_key: str | None
    content_type: str
    size: int
    sha256: str
    etag: str | None
    state: EpisodeState
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    updated_at: float
    superseded_ref: str | None = None


@dataclass(frozen=True)
class Source:
    id: str
    filename: str
    ref: str
    content_type: str
    size: int
    created_at: float

    def moved_to(self, ref: str) -> Source:
        return replace(self, ref=ref)
