"""The app's environment contract and its settings: one declarative pydantic model, the single source.

Each field is one environment variable (its alias), with its type, bounds, default and meaning, plus
how Render's blueprint carries it (``blueprint``) and whether it only matters with S3 on (``s3_only``);
credentials are ``SecretStr``. ``app/env_contract.json`` is generated from this model (``ephitup
contract``) so that ``infra/`` can read the contract as data without importing the app.

Precedence (django-storages style): an explicit ``STORAGE_MODE`` wins; ``auto`` applies the seed's
rule, S3 iff a bucket and both keys are set. A half-set S3 config under ``auto`` runs on local disk and
says so (``StorageDecision.problems``); under ``s3`` it is an error naming what is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo

StorageMode = Literal["local", "s3"]
Blueprint = Literal["value", "sync", "generate", "platform", "absent", "database"]
AwsAuth = Literal["accessKey", "oidc"]

# SigV4 presigned URLs are valid for at most seven days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

ACCESS_POINT_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):s3:(?P<region>[\w-]+):(?P<account>\d{12}):accesspoint/(?P<name>[a-z0-9-]{3,50})$"
)

_Lower = BeforeValidator(lambda value: value.lower() if isinstance(value, str) else value)


def env(name: str, default: Any, meaning: str, blueprint: Blueprint = "value", s3_only: bool = False,
        auth: AwsAuth | None = None, **constraints: Any) -> Any:
    """One variable of the contract: the field's alias is its name in the environment.

    ``auth``: the variable belongs to one way of getting AWS credentials only (a stack's ``awsAuth``)."""
    return Field(default, alias=name, description=meaning, validate_default=True,
                 json_schema_extra={"blueprint": blueprint, "s3_only": s3_only, "auth": auth}, **constraints)


class SettingsError(ValueError):
    """The environment cannot be run as configured; the message names the variable and the fix."""


class Settings(BaseModel):
    """Everything the app reads from its environment. Build with ``Settings.from_env()``."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    data_folder: Path = env("DATA_FOLDER", "./data", "persistent data root; on Render, the disk's mountPath")
    storage_mode: Annotated[Literal["auto", "local", "s3"], _Lower] = env(
        "STORAGE_MODE", "auto", "auto (S3 iff bucket + both keys are set), local, or s3")
    bucket_name: str | None = env("S3_BUCKET_NAME", None, "bucket name (an access-point ARN is accepted, as in "
                                  "the seed)", s3_only=True)
    access_point: str | None = env("S3_ACCESS_POINT", None, "access-point ARN or alias; object I/O goes through it",
                                   s3_only=True)
    region: str = env("S3_REGION", "us-east-2", "the bucket's region", s3_only=True)
    endpoint_url: str | None = env("S3_ENDPOINT_URL", None, "S3-compatible endpoint (emulator, R2, MinIO)",
                                   blueprint="absent")
    access_key_id: SecretStr | None = env("AWS_ACCESS_KEY_ID", None, "access key id of the app's IAM user",
                                          blueprint="sync", s3_only=True, auth="accessKey")
    secret_access_key: SecretStr | None = env("AWS_SECRET_ACCESS_KEY", None, "secret access key of the app's IAM "
                                              "user", blueprint="sync", s3_only=True, auth="accessKey")
    role_arn: str | None = env("AWS_ROLE_ARN", None, "the app's role, assumed with the web identity token (instead "
                               "of keys)", s3_only=True, auth="oidc")
    web_identity_token_file: str | None = env(
        "AWS_WEB_IDENTITY_TOKEN_FILE", None, "the OIDC token file the role is assumed with (Render's, per its OIDC "
        "documentation)", blueprint="platform", s3_only=True, auth="oidc")
    session_token: SecretStr | None = env("AWS_SESSION_TOKEN", None, "session token, for temporary credentials",
                                          blueprint="absent")
    topology: Annotated[Literal["single", "scaled"], _Lower] = env(
        "TOPOLOGY", "single", "single: one server, files and records on its disk; scaled: several instances, no "
        "disk, every file in S3 and the records in DATABASE_URL's PostgreSQL")
    database_url: SecretStr | None = env(
        "DATABASE_URL", None, "PostgreSQL for the records (postgresql://...), for several instances; unset: SQLite "
        "app.db in DATA_FOLDER", blueprint="database")
    audio_delivery: Annotated[Literal["proxy", "redirect"], _Lower] = env(
        "AUDIO_DELIVERY", "proxy", "proxy (app streams, Range passed on) or redirect (307)")
    app_token: SecretStr | None = env("APP_TOKEN", None, "when set, /api/* requires 'Authorization: Bearer "
                                      "<token>'", blueprint="generate")
    max_upload_mb: int = env("MAX_UPLOAD_MB", 200, "largest accepted upload, enforced while streaming", ge=1)
    connect_timeout: float = env("S3_CONNECT_TIMEOUT", 3.0, "seconds to wait for a connection to S3", s3_only=True,
                                  ge=0.1)
    read_timeout: float = env("S3_READ_TIMEOUT", 10.0, "seconds to wait for S3 to answer", s3_only=True, ge=0.1)
    max_attempts: int = env("S3_MAX_ATTEMPTS", 3, "attempts per S3 call (standard retry mode); with the timeouts, "
                            "what one request can wait on a hung S3", s3_only=True, ge=1)
    max_connections: int = env("S3_MAX_CONNECTIONS", 32, "connections the S3 client keeps open (at least the app's "
                               "16 S3 threads; migrate raises it to its --concurrency)",
                               s3_only=True, ge=1, le=512)
    reconcile_interval: float = env("RECONCILE_INTERVAL_SECONDS", 30.0, "how often pending uploads are retried",
                                    s3_only=True, ge=0.05)
    health_check_seconds: float = env("HEALTH_CHECK_SECONDS", 15.0, "how often the background checks behind /health "
                                      "run (S3 probe, records S3 cannot serve)", ge=0.05)
    pending_alert_minutes: float = env("PENDING_ALERT_MINUTES", 15.0, "a pending upload older than this is a "
                                       "problem in /health", s3_only=True, gt=0)
    disk_degraded_percent: float = env("DISK_DEGRADED_PERCENT", 80.0, "the data folder's disk this full (percent) "
                                       "makes /health degraded", gt=0, le=100)
    disk_error_percent: float = env("DISK_ERROR_PERCENT", 95.0, "the data folder's disk this full (percent) is an "
                                    "error in /health", gt=0, le=100)
    on_render: Annotated[bool, BeforeValidator(lambda value: str(value).lower() == "true")] = env(
        "RENDER", False, "set by Render on its hosts: the data folder must then be the disk", blueprint="platform")

    @model_validator(mode="before")
    @classmethod
    def _access_point_in_bucket_name(cls, values: Any) -> Any:
        """The seed accepted an access-point ARN in S3_BUCKET_NAME: treat it as the access point."""
        bucket = values.get("S3_BUCKET_NAME") if isinstance(values, dict) else None
        if isinstance(bucket, str) and ACCESS_POINT_ARN.match(bucket.strip()):
            values = {**values, "S3_BUCKET_NAME": None}
            values.setdefault("S3_ACCESS_POINT", bucket.strip())
        return values

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: the process environment); empty values count as unset.

        Only the contract's variables are read, by their exact names: the rest of the environment never
        reaches the model."""
        source = os.environ if environ is None else environ
        given = {name: value for name in contract() if (value := source.get(name, "").strip())}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise SettingsError(_explain(error)) from None

    @property
    def database_url_value(self) -> str | None:
        """The URL itself (it may hold a password): for opening the database only, never to print."""
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def s3_target(self) -> str | None:
        """What object calls pass as ``Bucket=``: the access point when there is one."""
        return self.access_point or self.bucket_name

    def missing_s3_settings(self) -> list[str]:
        """The variables S3 mode still needs, in contract order: a bucket, and keys or a role with its token."""
        missing = [] if self.s3_target else ["S3_BUCKET_NAME"]
        if self.uses_role:
            return missing
        return missing + [alias_of(name) for name in ("access_key_id", "secret_access_key") if not getattr(self, name)]

    @property
    def uses_role(self) -> bool:
        """Credentials from a web identity (boto3's standard chain assumes the role), not from keys."""
        return bool(self.role_arn and self.web_identity_token_file and not self.access_key_id)

    def decide_storage(self) -> StorageDecision:
        """Pick the storage mode; raise ``SettingsError`` when ``s3`` is asked for but half-set."""
        missing = self.missing_s3_settings()
        problems: list[str] = []
        if self.storage_mode == "s3" and missing:
            raise SettingsError(
                f"STORAGE_MODE=s3 but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                "not set: set them, or set STORAGE_MODE=local"
            )
        mode: StorageMode = "s3" if self.storage_mode == "s3" or (self.storage_mode == "auto" and not missing) \
            else "local"
        if self.topology == "scaled" and (mode != "s3" or missing or not self.database_url):
            needs = [*missing, *([] if self.database_url else ["DATABASE_URL"])] or ["STORAGE_MODE=s3"]
            raise SettingsError(f"TOPOLOGY=scaled keeps nothing on an instance's disk, so it needs S3 and PostgreSQL: "
                                f"{', '.join(needs)} missing (set them, or TOPOLOGY=single)")
        if mode == "s3" and self.endpoint_url and self.access_point and ACCESS_POINT_ARN.match(self.access_point):
            raise SettingsError(
                f"S3_ACCESS_POINT={self.access_point} with S3_ENDPOINT_URL={self.endpoint_url}: requests for an "
                "access-point ARN go to the access point's own host, so the endpoint would silently be wrong. Unset "
                "S3_ENDPOINT_URL to reach AWS through the access point, or unset S3_ACCESS_POINT to use the endpoint "
                "with S3_BUCKET_NAME")
        if mode == "local" and self.storage_mode == "auto" and (
                self.s3_target or self.access_key_id or self.secret_access_key):
            problems.append(
                f"S3 is half-configured ({', '.join(missing)} missing): running on local disk. "
                "Set the missing variables, or STORAGE_MODE=local to silence this."
            )
        if mode == "s3" and not self.bucket_name:
            problems.append(
                "only an access point is configured: set S3_BUCKET_NAME to the real bucket name and "
                "S3_ACCESS_POINT to the ARN so that stored references name the bucket"
            )
        return StorageDecision(mode, tuple(problems))

    def public(self) -> dict[str, object]:
        """Settings safe to show (``/health``, logs): secrets are reduced to whether they are set."""
        shown: dict[str, object] = {}
        for name, info in contract().items():
            if info.json_schema_extra["blueprint"] == "platform":  # type: ignore[index]
                continue
            value = getattr(self, field_of(name))
            if is_secret(info):
                shown[f"{name}_set"] = value is not None
            else:
                shown[name] = str(value) if isinstance(value, Path) else value
        return shown


@dataclass(frozen=True)
class StorageDecision:
    mode: StorageMode
    problems: tuple[str, ...] = ()


def contract() -> dict[str, FieldInfo]:
    """Every variable of the contract by its environment name, in declaration order."""
    return {info.alias: info for info in Settings.model_fields.values() if info.alias}


def field_of(variable: str) -> str:
    return next(name for name, info in Settings.model_fields.items() if info.alias == variable)


def alias_of(field: str) -> str:
    return Settings.model_fields[field].alias or field


def is_secret(info: FieldInfo) -> bool:
    return SecretStr in getattr(info.annotation, "__args__", (info.annotation,))


def _explain(error: ValidationError) -> str:
    """The first problem as one line: the variable, the bad value, and what would be accepted."""
    problem = error.errors()[0]
    name, value, context = problem["loc"][0], problem.get("input"), problem.get("ctx") or {}
    kind = problem["type"]
    if kind == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", str(context.get("expected", ""))))
        return f"{name}={value!r} is not one of {choices}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{name}={value!r} must be at least {context.get('ge', context.get('gt'))}"
    if kind.endswith(("_parsing", "_type")):
        return f"{name}={value!r} is not a {'number' if kind.startswith(('int', 'float')) else 'valid value'}"
    return f"{name}={value!r}: {problem['msg']}"


def is_s3_configured(environ: Mapping[str, str] | None = None) -> bool:
    """The seed's rule: S3 iff a bucket and both keys are set (``STORAGE_MODE`` can override)."""
    return Settings.from_env(environ).decide_storage().mode == "s3"
