"""Range parsing and the read-ahead stream, as pure units: one behaviour per row."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from app.api.ranges import ByteRange, MalformedRangeError, RangeNotSatisfiableError, parse_range, prefetched

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
    """An endless store stream that counts what was read from it and whether it was closed."""

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


@pytest.mark.parametrize("taken,depth", [(1, 1), (1, 4), (10, 2), (3, 16)])
def test_read_ahead_stops_and_closes_the_store_stream_when_the_client_goes_away(taken: int, depth: int) -> None:
    chunks = CountingChunks()

    async def client_reads_then_leaves() -> None:
        stream = prefetched(chunks, depth=depth)
        for _ in range(taken):
            await anext(stream)
        await stream.aclose()  # what Starlette does when the client disconnects

    asyncio.run(client_reads_then_leaves())
    assert chunks.closed.wait(5), "the reader thread never closed the store's stream"
    assert chunks.read <= taken + depth + 2  # it read ahead by the queue's depth at most, then stopped


def test_read_ahead_hands_a_store_error_to_the_response() -> None:
    def failing() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the store went away")

    async def consume() -> list[bytes]:
        return [chunk async for chunk in prefetched(failing())]

    with pytest.raises(OSError, match="the store went away"):
        asyncio.run(consume())
