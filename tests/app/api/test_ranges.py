"""Range parsing and the read-ahead stream, as pure units: one behaviour per row."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from app.api.offload import MOST_CHUNKS_A_HOP, Offload
from app.api.ranges import ByteRange, MalformedRangeError, RangeNotSatisfiableError, parse_range

SIZE = 1000


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-1", ByteRange(0, 1)),  # Safari's probe
    ("bytes=0-", ByteRange(0, 999)),
    ("bytes=500-", ByteRange(500, 999)),
    ("bytes=990-2000", ByteRange(990, 999)),  # clipped to the end
    ("bytes=-10", ByteRange(990, 999)),  # a suffix
    ("bytes=-5000", ByteRange(0, 999)),  # a suffix longer than the file: all of it
    ("bytes=999-999", ByteRange(999, 999)),
    ("BYTES = 3-4", ByteRange(3, 4)),  # unit case and spaces are tolerated
    ("bytes=0-1,5-6", None),  # several ranges: the whole file
    ("bytes=00000000000000000000000000007-8", ByteRange(7, 8)),  # leading zeros are only zeros
    ("bytes=0-" + "9" * 5000, ByteRange(0, 999)),  # an end past Python's int-string limit: clipped
    ("bytes=-" + "9" * 5000, ByteRange(0, 999)),
])
def test_a_valid_range(header: str, expected: ByteRange | None) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize("header", [
    "bytes=abc", "bytes=5-2", "items=0-1", "bytes=", "bytes=--1", "bytes=-", "bytes", "bytes=1",
    "bytes=\u00b2-5",  # a superscript two: str.isdigit() accepts it, int() does not
    "bytes=\u0661-5",  # an Arabic-Indic one
    "bytes=1-\uff15",  # a full-width five
    "bytes=0x10-20", "bytes=+1-2", "bytes=1.5-2", "bytes=-0x5",
])
def test_a_malformed_range(header: str) -> None:
    with pytest.raises(MalformedRangeError):
        parse_range(header, SIZE)


@pytest.mark.parametrize("header,size", [
    ("bytes=1000-", SIZE), ("bytes=1000-2000", SIZE), ("bytes=-0", SIZE), ("bytes=0-", 0), ("bytes=-5", 0),
    ("bytes=" + "9" * 5000 + "-", SIZE),  # a start past any object
])
def test_an_unsatisfiable_range(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, size)


class CountingChunks:
    def __init__(self) -> None:
        self.read = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        self.read += 1
        return b"x" * 1024

    def close(self) -> None:
        self.closed.set()


class Store:
    kind = "s3"


@pytest.mark.parametrize("taken", [1, 10])
def test_a_stream_reads_only_what_its_client_takes_and_closes_the_store_stream_when_it_leaves(taken: int) -> None:
    chunks = CountingChunks()

    async def client_reads_then_leaves() -> None:
        stream = Offload(stream_readers=2).stream(Store(), chunks)  # type: ignore[arg-type]
        for _ in range(taken):
            await anext(stream)
        await stream.aclose()  # what Starlette does when the client disconnects

    asyncio.run(client_reads_then_leaves())
    assert chunks.closed.is_set(), "the store's stream was left open"
    hops = -(-taken // MOST_CHUNKS_A_HOP)
    assert chunks.read == hops * MOST_CHUNKS_A_HOP  # one stream: full hops, none read ahead of the client


def test_a_store_error_mid_stream_reaches_the_response() -> None:
    def failing() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the store went away")

    async def consume() -> list[bytes]:
        return [chunk async for chunk in Offload(stream_readers=1).stream(Store(), failing())]  # type: ignore[arg-type]

    with pytest.raises(OSError, match="the store went away"):
        asyncio.run(consume())


def test_streams_never_use_more_reader_threads_than_the_setting() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def slow_chunks() -> Iterator[bytes]:
        nonlocal running, most
        for _ in range(3):
            with lock:
                running += 1
                most = max(most, running)
            threading.Event().wait(0.02)
            with lock:
                running -= 1
            yield b"x"

    async def listeners() -> None:
        offload = Offload(stream_readers=3)

        async def listen() -> None:
            async for _ in offload.stream(Store(), slow_chunks()):  # type: ignore[arg-type]
                pass
        await asyncio.gather(*(listen() for _ in range(12)))

    asyncio.run(listeners())
    assert most == 3
