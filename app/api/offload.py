"""Blocking work off the event loop, on capacity of its own when it waits on S3.

FastAPI runs plain ``def`` routes on one shared pool of worker threads. Requests stuck on a hung S3 would
fill it, and ``/health``, listings and local audio would queue behind them. Work that may wait on S3
therefore runs on its own, smaller capacity: when S3 hangs, at most that many requests wait on it, and
everything else keeps its threads.

Audio streams read their chunks on a capacity of their own too (``STREAM_READERS`` threads per kind of
store), one chunk at a time: a stream holds no thread while its listener is paused, and at most two chunks
(one being read, one in the socket's buffer), so a thousand listeners cost memory, not threads.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from app.storage import Storage

T = TypeVar("T")
S3_THREADS = 16  # requests that may wait on S3 at once; the shared pool has 40


class Offload:
    def __init__(self, stream_readers: int) -> None:
        self.s3 = anyio.CapacityLimiter(S3_THREADS)
        self.readers = {"s3": anyio.CapacityLimiter(stream_readers), "local": anyio.CapacityLimiter(stream_readers)}

    async def run(self, store: Storage | None, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` on a worker thread: S3's own capacity when ``store`` is an object store."""
        limiter = self.s3 if store is not None and store.kind == "s3" else None
        return await anyio.to_thread.run_sync(functools.partial(work, *args), limiter=limiter)

    async def stream(self, store: Storage, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        """``chunks`` for a response body, each read on a stream reader once the client has taken the last.

        Starlette's send returns when the chunk is in the socket's buffer and waits first for what was
        written before to drain, so the next read overlaps the network and a paused listener stops it.
        A store's error mid-stream is raised here, in the response; the store's stream is always closed.
        """
        limiter = self.readers["s3" if store.kind == "s3" else "local"]
        try:
            while (chunk := await anyio.to_thread.run_sync(next, chunks, None, limiter=limiter)) is not None:
                yield chunk
        finally:
            getattr(chunks, "close", lambda: None)()  # no read is running: each was awaited to its end


def get_offload(request: Request) -> Offload:
    return request.app.state.offload  # type: ignore[no-any-return]


OffloadDep = Annotated[Offload, Depends(get_offload)]
