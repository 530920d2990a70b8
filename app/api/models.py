"""Response models: what each route answers, as ``/openapi.json`` shows it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

from app.records import Episode, EpisodeState


def link(template: str) -> Any:
    """A URL computed from the record's id, shown in responses and in the OpenAPI schema."""
    return computed_field(return_type=str)(property(lambda self: template.format(id=self.id)))


class StoredFileOut(BaseModel):
    """What episodes and sources share; built from their records with ``model_validate(record)``."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    content_type: str
    size: int
    created_at: float


class EpisodeOut(StoredFileOut):
    name: str
    user_id: str | None
    state: EpisodeState
    audio_ref: str
    sha256: str
    last_error: str | None
    updated_at: float
    audio_url: str  # signed, and short-lived, when the API needs a token: an <audio> element can play it

    @classmethod
    def of(cls, episode: Episode, audio_url: str) -> EpisodeOut:
        return cls.model_validate({**vars(episode), "audio_url": audio_url})  # vars: asdict deep-copies


class SourceOut(StoredFileOut):
    filename: str

    download_url = link("/api/sources/{id}/download")


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
    problems: list[ProblemOut]
    storage: StorageOut | None = None  # with the APP_TOKEN (or where none is set)
    pending_uploads: PendingOut | None = None  # likewise


class ErrorOut(BaseModel):
    detail: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route gives, each ``{"detail": "..."}``."""
    return {code: {"model": ErrorOut, "description": HTTPStatus(code).phrase} for code in codes}
