"""Fault injection for botocore clients: canned S3 error answers from a ``before-send`` hook."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _RawBody(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def s3_error(status: int, code: str) -> AWSResponse:
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse("https://injected", status, {"Content-Type": "application/xml"}, _RawBody(body))


def fail_first(client: Any, operation: str, times: int, status: int, code: str) -> list[str]:
    """Make the first ``times`` attempts at ``operation`` fail; returns a log of every attempt."""
    attempts: list[str] = []

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(request.url)
        return s3_error(status, code) if len(attempts) <= times else None

    client.meta.events.register(f"before-send.s3.{operation}", hook)
    return attempts


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers: a hung S3."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:  # closed
                return

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()
