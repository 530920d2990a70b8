"""HTTP byte ranges over the storage interface: 200 / 206 / 416, HEAD, ``If-Range``.

Browsers (Safari first, with its ``Range: bytes=0-1`` probe) will not play or seek audio without
correct 206 answers. One code path serves local files and S3 objects alike; only the requested
bytes are read from the store, in bounded chunks. Modelled on Starlette's ``FileResponse`` rules:
a malformed header is a 400, an unsatisfiable one a 416 with ``Content-Range: bytes */size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.api.models import errors
from app.api.offload import Offload
from app.api.sendfile import FileRangeResponse, offers_sendfile
from app.storage import FileSender, Storage


def binary_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for a ranged download: the bytes (whole or partial) and every error it can answer."""
    binary = {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}
    return {200: {"description": "the whole file", **binary},
            206: {"description": "the requested byte range (Content-Range says which)", **binary},
            416: {"description": "the range lies outside the file; Content-Range says its size (bytes */SIZE)"},
            **errors(400, 404, 410, 503)}


class MalformedRangeError(ValueError):
    pass


class RangeNotSatisfiableError(ValueError):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str, size: int) -> ByteRange | None:
    """One ``bytes=`` range clipped to ``size``; ``None`` (serve it all) for a multi-range request.

    Positions are ASCII digits only (``str.isdigit`` also accepts ``²``, which ``int`` refuses); one too
    long to be a real position counts as past any object's end rather than being converted.
    """
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        raise MalformedRangeError(header)
    parts = [part.strip() for part in specs.split(",")]
    if len(parts) > 1:
        return None  # RFC 9110 lets a server answer a multi-range request with the whole
    first, dash, last = parts[0].partition("-")
    if not dash or not all(part == "" or _POSITION.fullmatch(part) for part in (first, last)):
        raise MalformedRangeError(header)
    if first == "":
        if last == "":
            raise MalformedRangeError(header)
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = _position(first)
    if last and _position(last) < start:
        raise MalformedRangeError(header)
    if start >= size:
        raise RangeNotSatisfiableError(header)
    return ByteRange(start, min(_position(last), size - 1) if last else size - 1)


_POSITION = re.compile(r"[0-9]+")
_BEYOND_ANY_OBJECT = 10**19  # more than 2**63: no object is that large


def _position(digits: str) -> int:
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) < 19 else _BEYOND_ANY_OBJECT


def ranged_response(
    request: Request, offload: Offload, storage: Storage, key: str, *, size: int, etag: str, last_modified: datetime,
    content_type: str, headers: dict[str, str] | None = None,
) -> Response:
    """Answer GET or HEAD for one stored object, honouring ``Range`` and ``If-Range``."""
    base = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": format_datetime(last_modified.astimezone(UTC), usegmt=True),  # botocore says tzutc()
        **(headers or {}),
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):  # the client's copy is current
        return Response(status_code=304, headers=base)
    byte_range = None
    header = request.headers.get("range")
    if header and _if_range_holds(request.headers.get("if-range"), base):
        try:
            byte_range = parse_range(header, size)
        except MalformedRangeError:
            return JSONResponse({"detail": f"malformed Range header {header!r}: use bytes=START-END, "
                                           "bytes=START- or bytes=-SUFFIX"}, status_code=400)
        except RangeNotSatisfiableError:
            return Response(status_code=416, headers={**base, "Content-Range": f"bytes */{size}"})
    if byte_range is None:
        status, start, end, length = 200, 0, size - 1, size
    else:
        status, start, end, length = 206, byte_range.start, byte_range.end, byte_range.length
        base["Content-Range"] = f"bytes {start}-{end}/{size}"
    base["Content-Length"] = str(length)
    if request.method == "HEAD" or length == 0:
        return Response(status_code=status, headers=base, media_type=content_type)
    # Opened before the response starts, so a vanished object is an error status, not a cut stream.
    if isinstance(storage, FileSender) and offers_sendfile(request.scope):
        return FileRangeResponse(storage.open_file(key), start, length, status_code=status, headers=base,
                                 media_type=content_type)
    chunk_size = offload.chunk_size(storage)
    chunks = storage.open_range(key, start, end, chunk_size=chunk_size)
    return StreamingResponse(offload.stream(storage, chunks, chunk_size), status_code=status, headers=base,
                             media_type=content_type)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or any listed tag equal to ``etag`` (weak comparison)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _if_range_holds(if_range: str | None, headers: dict[str, str]) -> bool:
    return if_range is None or if_range in (headers["ETag"], headers["Last-Modified"])
