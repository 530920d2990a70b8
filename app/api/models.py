"""Response models: what each route answers, as ``/openapi.json`` shows it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel

from app.records import Episode, EpisodeState, Source


class EpisodeOut(BaseModel):
    id: str
    name: str
    user_id: str | None
    state: EpisodeState
    audio_ref: str
    size: int
    sha256: str
    content_type: str
    last_error: str | None
    created_at: float
    updated_at: float
    audio_url: str

    @classmethod
    def of(cls, episode: Episode) -> EpisodeOut:
        return cls(id=episode.id, name=episode.name, user_id=episode.user_id, state=episode.state,
                   audio_ref=episode.audio_ref, size=episode.size, sha256=episode.sha256,
                   content_type=episode.content_type, last_error=episode.last_error, created_at=episode.created_at,
                   updated_at=episode.updated_at, audio_url=f"/api/podcasts/episodes/{episode.id}/audio")


class SourceOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    created_at: float
    download_url: str

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        return cls(id=source.id, filename=source.filename, content_type=source.content_type, size=source.size,
                   created_at=source.created_at, download_url=f"/api/sources/{source.id}/download")


class ProblemOut(BaseModel):
    severity: Literal["warning", "error"]
    message: str


class StorageOut(BaseModel):
    mode: Literal["local", "s3"]
    settings: dict[str, object]


class PendingOut(BaseModel):
    count: int
    episodes: list[str]


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "error"]
    storage: StorageOut
    problems: list[ProblemOut]
    pending_uploads: PendingOut


class ErrorOut(BaseModel):
    detail: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route gives, each ``{"detail": "..."}``."""
    return {code: {"model": ErrorOut, "description": HTTPStatus(code).phrase} for code in codes}
