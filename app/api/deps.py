"""Named dependencies: the runtime, and the records a path names (404 when absent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request

from app.records import Episode, Source
from app.runtime import Runtime

T = TypeVar("T")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


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
