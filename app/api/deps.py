"""Named dependencies: the runtime, the bearer token, and the records a path names (404 when absent)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request

from app.records import Episode, Source
from app.runtime import Runtime

T = TypeVar("T")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def require_token(request: Request, rt: RuntimeDep) -> None:
    """When ``APP_TOKEN`` is set, every ``/api`` call must carry it as a bearer token."""
    expected = rt.settings.app_token
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer <APP_TOKEN>)",
                            headers={"WWW-Authenticate": "Bearer"})


def _found(lookup: Callable[[str], T], what: str, record_id: str) -> T:
    try:
        return lookup(record_id)
    except KeyError:
        raise HTTPException(404, f"no {what} {record_id!r}") from None


def get_episode(episode_id: str, rt: RuntimeDep) -> Episode:
    return _found(rt.records.episode, "episode", episode_id)


def get_source(source_id: str, rt: RuntimeDep) -> Source:
    return _found(rt.records.source, "source", source_id)


EpisodeDep = Annotated[Episode, Depends(get_episode)]
SourceDep = Annotated[Source, Depends(get_source)]
