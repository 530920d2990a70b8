"""ASGI middleware counting what leaves through the download routes: answers by status, bytes sent."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.access import AUDIO_PATH
from app.api.sendfile import SENDFILE
from app.metrics import Metrics

DOWNLOAD = re.compile(r"^/api/sources/[^/]+/download$")


class Measured:
    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics]) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        audio = bool(AUDIO_PATH.match(path))
        if not (audio or DOWNLOAD.match(path)):
            return await self.app(scope, receive, send)
        metrics, status = self.metrics(), [0]

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if audio:
                    metrics.audio_answers.labels(str(status[0])).inc()
            elif message["type"] == "http.response.body" and status[0] in (200, 206):  # the file's bytes only
                metrics.served.inc(len(message.get("body", b"")))
            elif message["type"] == SENDFILE:
                metrics.served.inc(message["count"])
            await send(message)

        await self.app(scope, receive, counted)
