"""Audio from the disk with the kernel's ``sendfile(2)``: the bytes go from the page cache to the socket unread.

Streamed through ASGI, every byte of a file is read into Python and written out again, and each chunk
crosses the middleware and the event loop: CPU per byte that a file server (nginx's ``sendfile on``) does not spend.
ASGI has no message for a file's byte range (``http.response.pathsend`` sends a whole file, and uvicorn
implements no file extension at all), so the app offers itself one, ``ephitup.sendfile``, from its outermost
layer, and only where it can keep it: a connection of uvicorn's h11 server on asyncio's own event loop, as the
blueprint's start command runs (no uvloop or httptools installed). Anywhere else (Starlette's test client,
another server) the extension is absent and a download streams as before.

Private API (uvicorn's, bounded ``<0.56`` in pyproject.toml): the response cycle behind uvicorn's ``send``
(``send.__self__``), for its h11 connection and transport. h11's ``send_with_data_passthrough`` counts the
range toward ``Content-Length`` without the bytes, which asyncio's ``loop.sendfile`` then writes.
"""

from __future__ import annotations

import asyncio
from typing import Any, BinaryIO

import h11
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import RequestResponseCycle

SENDFILE = "ephitup.sendfile"


class FileRangeResponse(Response):
    """``count`` bytes of ``file`` from ``offset``, sent by the kernel; the file is closed when the answer ends."""

    def __init__(self, file: BinaryIO, offset: int, count: int, **response: Any) -> None:
        super().__init__(**response)
        self.file, self.offset, self.count = file, offset, count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.file:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            await send({"type": SENDFILE, "file": self.file, "offset": self.offset, "count": self.count})
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def offers_sendfile(scope: Scope) -> bool:
    return SENDFILE in (scope.get("extensions") or {})


class ZeroCopy:
    """The app's outermost layer: offers ``ephitup.sendfile`` on uvicorn's h11 connections and carries it out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = getattr(send, "__self__", None)
        if scope["type"] != "http" or not isinstance(cycle, RequestResponseCycle) or not _asyncio_loop():
            return await self.app(scope, receive, send)

        async def send_or_sendfile(message: Message) -> None:
            if message["type"] == SENDFILE:
                await _sendfile(cycle, message)
            else:
                await send(message)

        await self.app({**scope, "extensions": {**(scope.get("extensions") or {}), SENDFILE: {}}}, receive,
                       send_or_sendfile)


def _asyncio_loop() -> bool:
    """uvloop's transports have no ``sendfile``; asyncio's own loops send natively (plain TCP) or read and write."""
    return type(asyncio.get_running_loop()).__module__.startswith("asyncio.")


class _Range:
    """What h11 counts for a passed-through body: its length only."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count


async def _sendfile(cycle: RequestResponseCycle, message: Message) -> None:
    """The range after the headers uvicorn wrote; a listener who leaves closes the connection, as a cut stream does."""
    if cycle.disconnected or cycle.scope["method"] == "HEAD":
        return
    body = _Range(message["count"])
    try:
        # h11 passes through any object with a length (its documented sendfile support); typed as bytes
        for piece in cycle.conn.send_with_data_passthrough(h11.Data(data=body)) or []:  # type: ignore[arg-type]
            if piece is body:
                await asyncio.get_running_loop().sendfile(cycle.transport, message["file"], message["offset"],
                                                          message["count"])
            else:
                cycle.transport.write(piece)  # chunked framing, were there no Content-Length
    except (ConnectionError, RuntimeError):  # RuntimeError: the transport closed while the headers waited
        cycle.transport.close()
        await asyncio.sleep(0)  # uvicorn's connection_lost runs: the cycle is disconnected, its last send a no-op
