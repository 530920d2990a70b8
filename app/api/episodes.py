"""Episodes: finished audio in, the finalize step, listings, and the audio served from wherever it lives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.api.access import audio_link
from app.api.deps import EpisodeDep, RuntimeDep
from app.api.limits import check_size, media_type_of
from app.api.models import EpisodeOut, errors
from app.api.offload import Offload, OffloadDep
from app.api.pages import PageDep, page_response
from app.api.ranges import binary_responses, ranged_response
from app.episodes import AUDIO_TYPES
from app.records import Episode
from app.runtime import Runtime
from app.storage import Presigner, Storage

REDIRECT_SECONDS = 300  # presigned audio URLs live five minutes
# No control characters (NUL above all: PostgreSQL refuses it, and S3 metadata and keys cannot carry it).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

router = APIRouter(prefix="/podcasts/episodes", tags=["episodes"])


@router.post("", status_code=201, response_model=EpisodeOut, responses=errors(400, 409, 413, 415, 503, 507))
async def create_episode(
    rt: RuntimeDep,
    offload: OffloadDep,
    name: Annotated[str, Form(min_length=1, max_length=200, pattern=PRINTABLE)],
    audio: Annotated[UploadFile, File(description="the finished episode audio")],
    user_id: Annotated[str | None, Form(max_length=200, pattern=PRINTABLE)] = None,
) -> EpisodeOut:
    """Store finished audio and run the finalize step (upload to S3 when S3 is on)."""
    media_type = media_type_of(audio)
    if media_type not in AUDIO_TYPES:
        raise HTTPException(415, f"audio must be one of {', '.join(sorted(AUDIO_TYPES))}, not {media_type!r}")
    check_size(audio, rt.settings.max_upload_bytes)
    episode = await offload.run(rt.stores.remote, rt.episodes.create, name, user_id, audio.file, media_type)
    return _out(rt, episode)


@router.get("", response_model=list[EpisodeOut], responses=errors(400))
def list_episodes(rt: RuntimeDep, page: PageDep, request: Request,
                  user_id: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None) -> Response:
    """Episodes in creation order, a page at a time (``Link: <...>; rel="next"`` while there are more)."""
    episodes = rt.records.episode_page(page.after, page.limit, user_id)
    return page_response([_out(rt, episode) for episode in episodes], request, page, episodes)


@router.get("/{episode_id}", response_model=EpisodeOut, responses=errors(404))
def get_episode(rt: RuntimeDep, episode: EpisodeDep) -> EpisodeOut:
    return _out(rt, episode)


def _out(rt: Runtime, episode: Episode) -> EpisodeOut:
    return EpisodeOut.of(episode, audio_link(episode.id, rt.settings.app_token))


@router.delete("/{episode_id}", status_code=204, response_class=Response, responses=errors(404, 503))
async def delete_episode(rt: RuntimeDep, offload: OffloadDep, episode: EpisodeDep) -> Response:
    await offload.run(rt.stores.remote, rt.episodes.delete, episode)
    return Response(status_code=204)


AUDIO_RESPONSES = {**binary_responses("audio/mpeg"),
                   307: {"description": "redirect or cdn delivery: a presigned S3 URL or a signed CloudFront URL, "
                                         "valid five minutes"}}


@router.head("/{episode_id}/audio", response_class=Response, responses=AUDIO_RESPONSES,
             operation_id="episode_audio_headers")
@router.get("/{episode_id}/audio", response_class=Response, responses=AUDIO_RESPONSES, operation_id="episode_audio")
async def episode_audio(rt: RuntimeDep, offload: OffloadDep, request: Request, episode: EpisodeDep) -> Response:
    """The audio from wherever it lives: ranges proxied, or a 307 to a presigned URL.

    A copy gone by the time it is opened may have just moved (``migrate``, ``fix-keys``: the record switches
    first, the old copy goes last): the record is read once more, and played from where it points now."""
    try:
        storage, key = rt.stores.locate(episode.audio_ref)
        return await offload.run(storage, _audio, rt, offload, request, episode, storage, key)
    except FileNotFoundError:
        try:
            moved = rt.records.episode(episode.id)
        except KeyError:
            raise HTTPException(404, f"episode {episode.id!r} was deleted") from None
        if moved.audio_ref == episode.audio_ref:
            raise
    storage, key = rt.stores.locate(moved.audio_ref)
    return await offload.run(storage, _audio, rt, offload, request, moved, storage, key)


def _audio(rt: Runtime, offload: Offload, request: Request, episode: Episode, storage: Storage, key: str) -> Response:
    remote = storage is rt.stores.remote
    if remote and rt.cdn is not None:
        return RedirectResponse(rt.cdn.url(key), status_code=307, headers={"Cache-Control": "no-store"})
    if isinstance(storage, Presigner) and rt.settings.audio_delivery == "redirect":
        return RedirectResponse(storage.presign(key, REDIRECT_SECONDS), status_code=307,
                                headers={"Cache-Control": "no-store"})
    if remote and episode.etag and request.method == "GET":
        # The record knows size and ETag: one ranged GET to S3, no HEAD first. A HEAD asks S3 itself: it is
        # all the request does, and an object deleted behind the app's back must not answer 200.
        size, etag, modified = episode.size, episode.etag, datetime.fromtimestamp(episode.updated_at, UTC)
    else:
        stat = storage.stat(key)
        size, etag, modified = stat.size, stat.etag, stat.last_modified
    return ranged_response(request, offload, storage, key, size=size, etag=etag, last_modified=modified,
                           content_type=episode.content_type)
