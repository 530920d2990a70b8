"""The checks ``ephitup verify`` runs against the configured S3: one canary object through the app's own code.

Each check is a method that returns what it saw or raises; ``CheckFailed`` says the store answered wrongly.
Checks are explicit comparisons, never ``assert``: ``python -O`` would strip those and pass a broken store.
"""

from __future__ import annotations

import io
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.runtime import cdn_signer
from app.settings import Settings
from app.storage import StorageError, StorageUnavailableError
from app.storage.s3_client import caller_identity, translate

if TYPE_CHECKING:
    from app.storage.s3 import S3Storage

CANARY_SIZE = 256 * 1024


class CheckFailed(Exception):
    """The store answered, but not as it should have."""


class NotAsked(Exception):
    """A check that does not apply here (its reason is the detail): neither passed nor failed."""


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float
    unreachable: bool = False  # failed because S3 did not answer
    skipped: bool = False  # not asked here (NotAsked)


@dataclass
class Canary:
    settings: Settings
    storage: S3Storage
    prefix: str
    data: bytes = field(default_factory=lambda: os.urandom(CANARY_SIZE))
    steps: list[Step] = field(default_factory=list)
    signed_url: str = ""

    def __post_init__(self) -> None:
        self.key = f"{self.prefix.rstrip('/')}/{uuid.uuid4().hex}.bin"

    def run(self, name: str, check: Callable[[], str]) -> bool:
        """One check, timed and recorded; its line (result, time, detail) printed as it ends, once."""
        started = time.monotonic()
        unreachable = skipped = False
        try:
            detail, ok = check(), True
        except NotAsked as reason:
            detail, ok, skipped = str(reason), True, True
        except (StorageError, OSError, CheckFailed) as error:
            detail, ok = f"{type(error).__name__}: {error}", False
            unreachable = isinstance(error, StorageUnavailableError)
        step = Step(name, ok, detail, time.monotonic() - started, unreachable, skipped)
        self.steps.append(step)
        result = "skip" if skipped else "ok  " if ok else "FAIL"
        print(f"  {result}  {name:26} {step.seconds * 1000:5.0f}ms  {detail}", flush=True)
        return ok

    def all(self) -> list[Step]:
        """Every check in order; what depends on a failed one is not run."""
        self.run("identity", self.identity)
        if self.run("upload canary (checksum)", self.upload):
            self.run("HEAD canary", self.head)
            self.run("read a byte range", self.read_range)
            if self.run("presigned GET", self.presigned):
                self.run("unsigned GET is refused", self.unsigned_refused)
            self.run("delete canary", self.delete)
        self.run("CDN: signed GET served, unsigned and expired refused", self.cdn)
        return self.steps

    def identity(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.settings.endpoint_url and not os.environ.get("AWS_ENDPOINT_URL_STS"):
            raise NotAsked("not asked: S3_ENDPOINT_URL is not AWS (set AWS_ENDPOINT_URL_STS to ask that store's STS)")
        try:
            arn = caller_identity(self.storage.config)
        except (BotoCoreError, ClientError) as error:
            raise translate(error, "sts:GetCallerIdentity", "the credentials", self.storage.name) from None
        how = "a role, assumed with the web identity token" if self.settings.uses_role else "an access key"
        return f"{arn} ({how})"

    def upload(self) -> str:
        stat = self.storage.save_stream(self.key, io.BytesIO(self.data), "application/octet-stream")
        return f"{stat.size} bytes, SHA-256 verified by S3"

    def head(self) -> str:
        stat = self.storage.stat(self.key)
        if stat.size != CANARY_SIZE:
            raise CheckFailed(f"HEAD says {stat.size} bytes, expected {CANARY_SIZE}")
        return f"ETag {stat.etag}"

    def read_range(self) -> str:
        if b"".join(self.storage.open_range(self.key, 1000, 1999)) != self.data[1000:2000]:
            raise CheckFailed("the range came back different")
        return "bytes 1000-1999 match"

    def presigned(self) -> str:
        self.signed_url = self.storage.presign(self.key, 300)
        with urllib.request.urlopen(self.signed_url, timeout=self.settings.read_timeout) as response:
            if response.read() != self.data:
                raise CheckFailed("the presigned GET returned other bytes")
        return "presigned GET returns the canary"

    def unsigned_refused(self) -> str:
        unsigned = self.signed_url.split("?", 1)[0]
        try:
            with urllib.request.urlopen(unsigned, timeout=self.settings.read_timeout) as response:
                raise CheckFailed(f"an unsigned GET succeeded ({response.status}): the object is public")
        except urllib.error.HTTPError as error:
            if error.code not in (401, 403):
                raise CheckFailed(f"an unsigned GET answered {error.code}, expected 403") from None
            return f"unsigned GET refused with {error.code}"

    def cdn(self) -> str:
        """Through CloudFront, for a canary under the audio prefix (the only one the distribution may read)."""
        signer = cdn_signer(self.settings)
        if signer is None:
            raise NotAsked("not asked: AUDIO_DELIVERY is not cdn")
        key = f"episodes/{self.key}"
        self.storage.save_stream(key, io.BytesIO(self.data), "application/octet-stream")
        try:
            url = signer.url(key)
            with urllib.request.urlopen(url, timeout=self.settings.read_timeout) as response:
                if response.read() != self.data:
                    raise CheckFailed("the signed CDN URL returned other bytes")
            for what, refused in (("unsigned", url.split("?", 1)[0]), ("expired", signer.url(key, expires_in=-60))):
                try:
                    with urllib.request.urlopen(refused, timeout=self.settings.read_timeout) as response:
                        raise CheckFailed(f"an {what} CDN URL was served ({response.status}): the audio is public")
                except urllib.error.HTTPError as error:
                    if error.code != 403:
                        raise CheckFailed(f"an {what} CDN URL answered {error.code}, expected 403") from None
        finally:
            self.storage.delete(key)
        return f"https://{signer.domain}: signed GET returns the canary; unsigned and expired ones refused (403)"

    def delete(self) -> str:
        self.storage.delete(self.key)
        if self.storage.exists(self.key):
            raise CheckFailed("the canary is still there after DELETE")
        return "deleted"
