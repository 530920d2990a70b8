"""The S3 client the storage backend uses, and what its errors mean to the app.

Built with botocore alone, imported when the first client is made (a command that plans nothing for
S3 never loads it); boto3's session (resources, s3transfer at import) is not needed. Credentials left
unset fall back to botocore's default chain, as boto3's would.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from app.storage.base import (
    ChecksumMismatchError,
    ObjectExistsError,
    ObjectNotFoundError,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)
from app.storage.s3_config import S3Config

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId",
           "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_BAD_BODY = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}  # S3 hashed the body: not as declared
_UNAVAILABLE = {"500", "502", "503", "504", "SlowDown", "ServiceUnavailable", "InternalError",
                "RequestTimeout", "RequestTimeTooSkewed",
                "ConditionalRequestConflict"}  # two create-only PUTs of one key at once: S3 says retry


def make_client(config: S3Config) -> Any:
    """An S3 client with the region always set, SigV4, standard retries and bounded timeouts."""
    from botocore.config import Config

    from app.storage.botocore_session import botocore_session, loading_trust_once

    client_config = Config(
        region_name=config.region,
        signature_version="s3v4",
        retries={"mode": "standard", "total_max_attempts": config.max_attempts},  # max_attempts counts retries
        max_pool_connections=config.max_connections,  # botocore's 10 would queue work behind it
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        s3={
            # Emulators and S3-compatible stores rarely resolve virtual-hosted bucket names.
            "addressing_style": "path" if config.endpoint_url else "auto",
            # Over https S3 verifies every upload's declared x-amz-checksum-sha256 itself, and TLS guards
            # every body in transit; signing bodies as well would hash each upload a second time (botocore
            # skips it only for checksums it computed itself).
            "payload_signing_enabled": (config.endpoint_url or "").startswith("http://"),
        },
    )
    client = loading_trust_once(botocore_session().create_client(
        "s3", region_name=config.region, endpoint_url=config.endpoint_url, config=client_config,
        **config.credentials.revealed()))
    client.meta.events.register("before-send.s3.PutObject", check_signed_payload)
    for operation in ("PutObject", "UploadPart"):
        client.meta.events.register(f"before-sign.s3.{operation}", send_without_waiting_for_continue)
    return client


def caller_identity(config: S3Config) -> str:
    """The ARN these credentials act as on AWS (a user, or a role assumed with a web identity)."""
    from app.storage.botocore_session import botocore_session, loading_trust_once

    sts = loading_trust_once(botocore_session().create_client(
        "sts", region_name=config.region, **config.credentials.revealed()))
    return sts.get_caller_identity()["Arn"]  # type: ignore[no-any-return]


def send_without_waiting_for_continue(request: Any, **_: Any) -> None:
    """Send a PUT's body at once instead of first waiting for ``100 Continue``: one round trip less per
    upload (a whole second where the server never sends it). The body is small (a part at most) and S3
    rarely refuses one, so waiting buys nothing."""
    if "Expect" in request.headers:
        del request.headers["Expect"]


def check_signed_payload(request: Any, **_: Any) -> None:
    """Over plain http botocore signs the SHA-256 of the very body it sends: it must be the declared checksum.

    An upload that declares its record's SHA-256 relies on this instead of hashing the same bytes twice, so
    a body that was not hashed (``UNSIGNED-PAYLOAD``) is refused as well. Over https S3 checks the declared
    checksum itself (``BadDigest``).
    """
    declared = _header(request, "x-amz-checksum-sha256")
    if declared is None or request.url.startswith("https://"):
        return
    signed = _header(request, "X-Amz-Content-SHA256") or ""
    if not re.fullmatch(r"[0-9a-f]{64}", signed):  # UNSIGNED-PAYLOAD and the like
        raise ChecksumMismatchError(f"the body about to be sent over http was not hashed ({signed or 'no hash'}), "
                                    "so it cannot be held to its declared checksum: nothing was uploaded")
    if base64.b64encode(bytes.fromhex(signed)).decode() != declared:
        raise ChecksumMismatchError(f"the body about to be sent has SHA-256 {signed}, not the declared "
                                    f"{base64.b64decode(declared).hex()}: nothing was uploaded")


def _header(request: Any, name: str) -> str | None:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else value


def translate(error: BaseException, action: str, where: str, bucket: str) -> StorageError:
    """A botocore error as the storage error a caller acts on (retry later, fix credentials, missing)."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _NOT_FOUND:
            return ObjectNotFoundError(f"{where} does not exist")
        if code in _DENIED or status == "403":
            return StorageAccessDeniedError(
                f"S3 denied access to {where} ({code}): the credentials likely lack {action}"
            )
        if code in _UNAVAILABLE or status.startswith("5"):
            return StorageUnavailableError(f"S3 is unavailable for {where} ({code})")
        if code in _BAD_BODY:
            return ChecksumMismatchError(f"S3 refused the body sent for {where}: it does not match its declared "
                                         f"checksum ({code}); nothing was stored")
        if code == "PreconditionFailed":  # only create-only PUTs carry a condition (If-None-Match: *)
            return ObjectExistsError(f"{where} exists already: nothing was uploaded")
        if code == "NoSuchBucket":
            return StorageError(f"bucket {bucket!r} does not exist: check S3_BUCKET_NAME")
        return StorageError(f"S3 refused {action} on {where}: {code}")
    if isinstance(error, (BotoConnectionError, HTTPClientError)):
        return StorageUnavailableError(f"S3 is unreachable for {where}: {error}")
    return StorageError(f"S3 failed {action} on {where}: {error}")
