"""What the S3 backend needs to know, and nothing else: made from the app's settings by the composition root.

A narrow value (bucket, access point, region, endpoint, credentials, timeouts, pool size) so that the backend
and its tests never build the whole ``Settings``.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.variables import Secret

# SigV4 presigned URLs are valid for at most seven days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Credentials:
    """Keys, or nothing: botocore's default chain then finds them (a role assumed with a web identity token)."""

    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None
    role_arn: str | None = None  # for messages only: the chain assumes it from AWS_ROLE_ARN itself

    def revealed(self) -> dict[str, str | None]:
        """botocore's keyword arguments; the only place the secrets leave their wrapper."""
        return {"aws_access_key_id": _revealed(self.access_key_id),
                "aws_secret_access_key": _revealed(self.secret_access_key),
                "aws_session_token": _revealed(self.session_token)}


@dataclass(frozen=True)
class S3Config:
    bucket: str  # what stored references name: always the real bucket where it is known
    access_point: str | None = None  # ARN or alias; object calls go through it when set
    region: str = "us-east-2"
    endpoint_url: str | None = None
    credentials: Credentials = Credentials()
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 3
    max_connections: int = 32
    breaker_seconds: float = 10.0  # S3 is not called again this long after it failed to answer

    @property
    def target(self) -> str:
        """What object calls pass as ``Bucket=``: the access point when there is one."""
        return self.access_point or self.bucket


def _revealed(secret: Secret | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
