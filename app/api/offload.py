"""Blocking work off the event loop, on capacity of its own when it waits on S3.

FastAPI runs plain ``def`` routes on one shared pool of worker threads. Requests stuck on a hung S3 would
fill it, and ``/health``, listings and local audio would queue behind them. Work that may wait on S3
therefore runs on its own, smaller capacity: when S3 hangs, at most that many requests wait on it, and
everything else keeps its threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from app.storage import Storage

T = TypeVar("T")
S3_THREADS = 16  # requests that may wait on S3 at once; the shared pool has 40


class Offload:
    def __init__(self) -> None:
        self.s3 = anyio.CapacityLimiter(S3_THREADS)

    async def run(self, store: Storage | None, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` on a worker thread: S3's own capacity when ``store`` is an object store."""
        limiter = self.s3 if store is not None and store.kind == "s3" else None
        return await anyio.to_thread.run_sync(functools.partial(work, *args), limiter=limiter)


def get_offload(request: Request) -> Offload:
    return request.app.state.offload  # type: ignore[no-any-return]


OffloadDep = Annotated[Offload, Depends(get_offload)]
