"""Uploads: refused while the body streams in, not after it is spooled to disk, for their size or a stall."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import HTTPException, UploadFile
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and small form fields around one file


def too_large_text(limit: int) -> str:
    return f"upload larger than MAX_UPLOAD_MB ({limit // 2**20} MB)"


class UploadLimit:
    """ASGI middleware: a declared or streamed body over the limit (plus form overhead) answers 413; a body
    that stops arriving for UPLOAD_IDLE_SECONDS answers 408 (nginx's client_body_timeout)."""

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings]) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        settings = self.settings()
        upload_limit, idle = settings.max_upload_bytes, settings.upload_idle_seconds
        limit = upload_limit + MULTIPART_OVERHEAD
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": too_large_text(upload_limit)}, status_code=413,
                                    headers={"Connection": "close"})
            return await response(scope, receive, send)
        received, body_done = 0, False

        async def counted() -> Message:
            nonlocal received, body_done
            if body_done:  # after the body only a disconnect can come, whenever it does
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), idle)
            except TimeoutError:
                raise HTTPException(408, f"upload stalled: no bytes for {idle:g} s (UPLOAD_IDLE_SECONDS)",
                                    headers={"Connection": "close"}) from None
            received += len(message.get("body", b""))
            body_done = not message.get("more_body", False)
            if received > limit:
                raise HTTPException(413, too_large_text(upload_limit))
            return message

        await self.app(scope, counted, send)


def check_size(upload: UploadFile, limit: int) -> None:
    """The file part alone, once parsed: the streaming limit allowed for the form around it."""
    if (upload.size or 0) > limit:
        raise HTTPException(413, too_large_text(limit))


def media_type_of(upload: UploadFile) -> str:
    return (upload.content_type or "").split(";")[0].strip().lower()
