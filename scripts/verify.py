"""``ephitup verify``: smoke-test the configured S3 with the app's own credentials and code path."""

from __future__ import annotations

import argparse
import io
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.runtime import s3_storage
from app.settings import Settings
from app.storage import StorageError, StorageUnavailableError
from app.storage.s3_client import caller_identity, translate
from scripts.exit_codes import Exit

CANARY_SIZE = 256 * 1024


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float
    unreachable: bool = False  # failed because S3 did not answer


def cmd_verify(args: argparse.Namespace) -> int:
    """Upload a canary, HEAD it, read a range, fetch a presigned URL, delete it; check unsigned GETs fail."""
    settings = Settings.from_env()
    storage = s3_storage(settings)
    key = f"{args.prefix.rstrip('/')}/{uuid.uuid4().hex}.bin"
    canary = os.urandom(CANARY_SIZE)
    steps: list[Step] = []
    urls: dict[str, str] = {}

    def run(name: str, check: Callable[[], str]) -> bool:
        started = time.monotonic()
        unreachable = False
        try:
            detail, ok = check(), True
        except (StorageError, OSError, AssertionError) as error:
            detail, ok = f"{type(error).__name__}: {error}", False
            unreachable = isinstance(error, StorageUnavailableError)
        steps.append(Step(name, ok, detail, time.monotonic() - started, unreachable))
        print(f"  {'ok  ' if ok else 'FAIL'}  {name}", flush=True)
        return ok

    def identity() -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        if settings.endpoint_url and not os.environ.get("AWS_ENDPOINT_URL_STS"):
            return "not asked: S3_ENDPOINT_URL is not AWS (set AWS_ENDPOINT_URL_STS to ask that store's STS)"
        try:
            arn = caller_identity(settings)
        except (BotoCoreError, ClientError) as error:
            raise translate(error, "sts:GetCallerIdentity", "the credentials", storage.name) from None
        return f"{arn} ({'a role, assumed with the web identity token' if settings.uses_role else 'an access key'})"

    def upload() -> str:
        stat = storage.save_stream(key, io.BytesIO(canary), "application/octet-stream")
        return f"{stat.size} bytes, SHA-256 verified by S3"

    def head() -> str:
        stat = storage.stat(key)
        assert stat.size == CANARY_SIZE, f"HEAD says {stat.size} bytes, expected {CANARY_SIZE}"
        return f"ETag {stat.etag}"

    def read_range() -> str:
        got = b"".join(storage.open_range(key, 1000, 1999))
        assert got == canary[1000:2000], "the range came back different"
        return "bytes 1000-1999 match"

    def presigned() -> str:
        urls["signed"] = storage.presign(key, 300)
        with urllib.request.urlopen(urls["signed"], timeout=settings.read_timeout) as response:
            assert response.read() == canary, "the presigned GET returned other bytes"
        return "presigned GET returns the canary"

    def unsigned_refused() -> str:
        unsigned = urls["signed"].split("?", 1)[0]
        try:
            with urllib.request.urlopen(unsigned, timeout=settings.read_timeout) as response:
                raise AssertionError(f"an unsigned GET succeeded ({response.status}): the object is public")
        except urllib.error.HTTPError as error:
            assert error.code in (401, 403), f"an unsigned GET answered {error.code}, expected 403"
            return f"unsigned GET refused with {error.code}"

    def delete() -> str:
        storage.delete(key)
        assert not storage.exists(key), "the canary is still there after DELETE"
        return "deleted"

    print(f"ephitup verify: {storage.reference(key)} ({storage.name})")
    run("identity", identity)
    if run("upload canary (checksum)", upload):
        run("HEAD canary", head)
        run("read a byte range", read_range)
        if run("presigned GET", presigned):
            run("unsigned GET is refused", unsigned_refused)
        run("delete canary", delete)
    width = max(len(s.name) for s in steps)
    print(f"\n{'step':{width}}  result  {'time':>7}  detail")
    for step in steps:
        print(f"{step.name:{width}}  {'ok' if step.ok else 'FAILED':6}  {step.seconds * 1000:5.0f}ms  {step.detail}")
    failed = [s for s in steps if not s.ok]
    print(f"\n{'FAILED: ' + ', '.join(s.name for s in failed) if failed else 'all checks passed'}")
    if failed and failed[0].unreachable:
        return Exit.UNAVAILABLE
    return Exit.FAILED if failed else Exit.OK
