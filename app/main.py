"""The bundled app's HTTP API (ASGI ``app.main:app``): episodes, sources, audio, health."""

from __future__ import annotations

import asyncio
import hmac
import logging
import mimetypes
import re
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.byte_ranges import ranged_response
from app.episodes import AUDIO_TYPES, StorageNotConfiguredError
from app.records import Episode, Source
from app.runtime import Runtime
from app.settings import Settings
from app.storage import StorageAccessDeniedError, StorageUnavailableError

log = logging.getLogger("ephitup.api")
REDIRECT_SECONDS = 300  # presigned audio URLs live five minutes
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and small form fields around one file


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


Rt = Annotated[Runtime, Depends(runtime)]


def require_token(request: Request) -> None:
    """When ``APP_TOKEN`` is set, every ``/api`` call must carry it as a bearer token."""
    expected = runtime(request).settings.app_token
    if not expected:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer <APP_TOKEN>)",
                            headers={"WWW-Authenticate": "Bearer"})


class UploadLimit:
    """Refuse request bodies over the limit while they stream in, not after they are spooled."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        limit = self.limit() + MULTIPART_OVERHEAD
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _too_large(limit).__call__(scope, receive, send)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, _too_large_text(limit))
            return message

        await self.app(scope, counted, send)


def _too_large_text(limit: int) -> str:
    return f"upload larger than MAX_UPLOAD_MB ({(limit - MULTIPART_OVERHEAD) // 2**20} MB)"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": _too_large_text(limit)}, status_code=413, headers={"Connection": "close"})


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; settings are read from the environment at startup unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = Runtime.start(settings or Settings.from_env())
        app.state.runtime = state
        reconciler = asyncio.create_task(state.reconcile_forever())
        try:
            yield
        finally:
            reconciler.cancel()
            await asyncio.gather(reconciler, return_exceptions=True)
            state.close()

    app = FastAPI(title="ephitup", lifespan=lifespan)
    app.add_middleware(UploadLimit, limit=lambda: app.state.runtime.settings.max_upload_bytes)
    app.include_router(health)
    app.include_router(api)

    @app.exception_handler(StorageUnavailableError)
    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"storage unavailable, retry later: {error}"}, 503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(StorageAccessDeniedError)
    @app.exception_handler(StorageNotConfiguredError)
    async def misconfigured(_: Request, error: Exception) -> JSONResponse:
        log.error("storage misconfigured: %s", error)
        return JSONResponse({"detail": f"storage misconfigured: {error}"}, 503)

    @app.exception_handler(FileNotFoundError)
    async def vanished(_: Request, error: Exception) -> JSONResponse:
        log.error("a record points at missing data: %s", error)
        return JSONResponse({"detail": "the stored file is missing"}, 410)

    return app


health = APIRouter()
api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])


@health.get("/health")
def get_health(rt: Rt) -> JSONResponse:
    problems = rt.problems()
    pending = rt.episodes.pending()
    status = "error" if any(p.severity == "error" for p in problems) else "degraded" if problems else "ok"
    return JSONResponse(
        {
            "status": status,
            "storage": {"mode": rt.decision.mode, "settings": rt.settings.public()},
            "problems": [{"severity": p.severity, "message": p.message} for p in problems],
            "pending_uploads": {"count": len(pending), "episodes": [e.id for e in pending[:20]]},
        },
        status_code=503 if status == "error" else 200,
    )


# -- episodes ------------------------------------------------------------------------------------


def _episode(rt: Runtime, episode_id: str) -> Episode:
    try:
        return rt.records.episode(episode_id)
    except KeyError:
        raise HTTPException(404, f"no episode {episode_id!r}") from None


def _media_type(upload: UploadFile) -> str:
    return (upload.content_type or "").split(";")[0].strip().lower()


def _check_size(rt: Runtime, upload: UploadFile) -> None:
    if (upload.size or 0) > rt.settings.max_upload_bytes:
        raise HTTPException(413, _too_large_text(rt.settings.max_upload_bytes + MULTIPART_OVERHEAD))


@api.post("/podcasts/episodes", status_code=201)
def create_episode(
    rt: Rt,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    audio: Annotated[UploadFile, File(description="the finished episode audio")],
    user_id: Annotated[str | None, Form(max_length=200)] = None,
) -> dict[str, Any]:
    """Store finished audio and run the finalize step (upload to S3 when S3 is on)."""
    media_type = _media_type(audio)
    if media_type not in AUDIO_TYPES:
        raise HTTPException(415, f"audio must be one of {', '.join(sorted(AUDIO_TYPES))}, not {media_type!r}")
    _check_size(rt, audio)
    return rt.episodes.create(name, user_id, audio.file, media_type).public()


@api.get("/podcasts/episodes")
def list_episodes(rt: Rt) -> list[dict[str, Any]]:
    return [episode.public() for episode in rt.records.episodes()]


@api.get("/podcasts/episodes/{episode_id}")
def get_episode(rt: Rt, episode_id: str) -> dict[str, Any]:
    return _episode(rt, episode_id).public()


@api.delete("/podcasts/episodes/{episode_id}", status_code=204)
def delete_episode(rt: Rt, episode_id: str) -> Response:
    rt.episodes.delete(_episode(rt, episode_id))
    return Response(status_code=204)


@api.api_route("/podcasts/episodes/{episode_id}/audio", methods=["GET", "HEAD"])
def episode_audio(rt: Rt, request: Request, episode_id: str) -> Response:
    """The audio from wherever it lives: ranges proxied, or a 307 to a presigned URL."""
    episode = _episode(rt, episode_id)
    storage, key = rt.episodes.locate(episode.audio_ref)
    if storage is rt.remote and rt.settings.audio_delivery == "redirect":
        return RedirectResponse(storage.presign(key, REDIRECT_SECONDS), status_code=307,
                                headers={"Cache-Control": "no-store"})
    if storage is rt.remote and episode.etag:
        # The record knows size and ETag: one ranged GET to S3, no HEAD first.
        size, etag, modified = episode.size, episode.etag, datetime.fromtimestamp(episode.updated_at, UTC)
    else:
        stat = storage.stat(key)
        size, etag, modified = stat.size, stat.etag, stat.last_modified
    return ranged_response(request, storage, key, size=size, etag=etag, last_modified=modified,
                           content_type=episode.content_type)


# -- sources -------------------------------------------------------------------------------------


def display_name(filename: str | None) -> str:
    """A client's file name, kept only for display: last path segment, no control characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    return name.strip(" .")[:255] or "upload"


def _source(rt: Runtime, source_id: str) -> Source:
    try:
        return rt.records.source(source_id)
    except KeyError:
        raise HTTPException(404, f"no source {source_id!r}") from None


@api.post("/sources", status_code=201)
def create_source(rt: Rt, file: Annotated[UploadFile, File(description="a source document")]) -> dict[str, Any]:
    """Store an uploaded source on the disk (sources stay local, as in the seed)."""
    _check_size(rt, file)
    media_type = _media_type(file) or "application/octet-stream"
    if not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", media_type):
        raise HTTPException(415, f"not a media type: {media_type!r}")
    source_id = uuid.uuid4().hex
    key = f"uploads/{source_id}{mimetypes.guess_extension(media_type) or '.bin'}"  # never the client's name
    stat = rt.local.save_stream(key, file.file, media_type)
    source = Source(source_id, display_name(file.filename), rt.local.reference(key), media_type, stat.size,
                    time.time())
    return rt.records.add_source(source).public()


@api.get("/sources")
def list_sources(rt: Rt) -> list[dict[str, Any]]:
    return [source.public() for source in rt.records.sources()]


@api.api_route("/sources/{source_id}/download", methods=["GET", "HEAD"])
def download_source(rt: Rt, request: Request, source_id: str) -> Response:
    source = _source(rt, source_id)
    storage, key = rt.episodes.locate(source.ref)
    stat = storage.stat(key)
    disposition = f"attachment; filename*=UTF-8''{quote(source.filename)}"
    return ranged_response(request, storage, key, size=stat.size, etag=stat.etag,
                           last_modified=stat.last_modified, content_type=source.content_type,
                           headers={"Content-Disposition": disposition})


@api.delete("/sources/{source_id}", status_code=204)
def delete_source(rt: Rt, source_id: str) -> Response:
    source = _source(rt, source_id)
    rt.records.delete_source(source.id)  # record first: a crash leaves an orphan, never a dangling record
    storage, key = rt.episodes.locate(source.ref)
    storage.delete(key)
    return Response(status_code=204)


app = create_app()
