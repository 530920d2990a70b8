"""Fault injection for botocore clients: canned S3 error answers from a ``before-send`` hook."""

from __future__ import annotations

import io
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
