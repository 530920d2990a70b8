"""Blocking work off the event loop, on capacity of its own when it waits on S3.

FastAPI runs plain ``def`` routes on one shared pool of worker threads. Requests stuck on a hung S3 would
fill it, and ``/health``, listings and local audio would queue behind them. Work that may wait on S3
therefore runs on its own, smaller capacity: when S3 hangs, at most that many requests wait on it, and
everything else keeps its threads.

Audio streams read on a pool of their own (``STREAM_READERS`` threads per kind of store), one hop at a
time: a stream holds no thread while its listener is paused, and at most two hops' bytes (one being read,
one in the socket's buffer). A hop takes chunks from the store, as many as a shared budget allows, each
as large as the budget allowed when the stream opened: a lone disk stream moves 4 MiB a hop in 1 MiB chunks
(the per-chunk cost is what limits a fast listener), two hundred move 64 KiB, so memory stays near
``STREAM_MEMORY`` however many listeners there are.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from app.storage import Storage

T = TypeVar("T")
S3_THREADS = 16  # requests that may wait on S3 at once; the shared pool has 40
STREAM_CHUNK = 64 * 1024  # the smallest read from a store; a hop joins up to MOST_CHUNKS_A_HOP of them
LARGEST_CHUNK = 2**20  # a disk stream opened while few others run reads this much at a time
MOST_CHUNKS_A_HOP = 4
STREAM_MEMORY = 16 * 2**20  # shared by every stream: two hops' bytes each


class Offload:
    def __init__(self, stream_readers: int) -> None:
        self.s3 = anyio.CapacityLimiter(S3_THREADS)
        self.readers = {kind: ThreadPoolExecutor(stream_readers, thread_name_prefix=f"ephitup-{kind}-reader")
                        for kind in ("s3", "local")}
        self.streams = 0  # open now, on this event loop

    async def run(self, store: Storage | None, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` on a worker thread: S3's own capacity when ``store`` is an object store."""
        limiter = self.s3 if store is not None and store.kind == "s3" else None
        return await anyio.to_thread.run_sync(functools.partial(work, *args), limiter=limiter)

    def chunk_size(self, store: Storage) -> int:
        """The read size for a stream opening now: from the disk, large while few streams share the budget (each
        chunk costs a trip through the middleware and the event loop), down to ``STREAM_CHUNK`` as more open;
        from S3 always ``STREAM_CHUNK`` (its body is read that way, and the S3 client's buffers come on top)."""
        # half the fair share: a stream keeps the size it opened with while others open after it
        fair = STREAM_MEMORY // (4 * MOST_CHUNKS_A_HOP * (self.streams + 1))
        return STREAM_CHUNK if store.kind == "s3" else max(STREAM_CHUNK, min(LARGEST_CHUNK, fair))

    async def stream(self, store: Storage, chunks: Iterator[bytes],
                     chunk_size: int = STREAM_CHUNK) -> AsyncIterator[bytes]:
        """``chunks`` for a response body, each hop read on a stream reader once the client took the last.

        Starlette's send returns when the bytes are in the socket's buffer and waits first for what was
        written before to drain, so the next read overlaps the network and a paused listener stops it.
        A store's error mid-stream is raised here, in the response; the store's stream is always closed.
        """
        loop, readers = asyncio.get_running_loop(), self.readers["s3" if store.kind == "s3" else "local"]
        self.streams += 1
        try:
            while hop := await loop.run_in_executor(readers, _take, chunks, self._chunks_a_hop(chunk_size)):
                for chunk in hop:  # sent one by one: joined, a hop's bytes would be held twice
                    yield chunk
        finally:
            self.streams -= 1
            getattr(chunks, "close", lambda: None)()  # no read is running: each was awaited to its end

    def _chunks_a_hop(self, chunk_size: int) -> int:
        return max(1, min(MOST_CHUNKS_A_HOP, STREAM_MEMORY // (2 * chunk_size * self.streams)))

    def close(self) -> None:
        for readers in self.readers.values():
            readers.shutdown(wait=False, cancel_futures=True)


def _take(chunks: Iterator[bytes], count: int) -> list[bytes]:
    return list(itertools.islice(chunks, count))


def get_offload(request: Request) -> Offload:
    return request.app.state.offload  # type: ignore[no-any-return]


OffloadDep = Annotated[Offload, Depends(get_offload)]
