"""The app's environment contract and its settings: one declarative model, the single source.

Each field of ``Settings`` is one environment variable (a ``Variable``, ``app/variables.py``): its name,
default, meaning, how its text is parsed and bounded, how Render's blueprint carries it (``blueprint``)
and whether it only matters with S3 on (``s3_only``); credentials are ``Secret``. ``app/env_contract.json`` is
generated from this model (``ephitup contract``) so that ``infra/`` can read the contract as data
without importing the app.

Declared with the standard library's dataclasses rather than pydantic: every ``ephitup`` command
builds this model first, and pydantic's import and schema build cost about 100 ms of each start (half
of a ``migrate`` rerun with nothing to do). The API's models, in the server only, still use pydantic.

Precedence (django-storages style): an explicit ``STORAGE_MODE`` wins; ``auto`` applies the seed's
rule, S3 iff a bucket and both keys are set. A half-set S3 config under ``auto`` runs on local disk and
says so (``StorageDecision.problems``); under ``s3`` it is an error naming what is missing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from app.compat.legacy import ACCESS_POINT_ARN, access_point_in_bucket_name
from app.variables import Choice, Secret, SettingsError, Variable, env, is_true

StorageMode = Literal["local", "s3"]
ModeSetting = Literal["auto", "local", "s3"]
Topology = Literal["single", "scaled"]
MIN_TOKEN_LENGTH = 32  # Render's generateValue makes 256-bit tokens (44 characters)
AudioDelivery = Literal["proxy", "redirect", "cdn"]


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment. Build with ``Settings.from_env()``."""

    data_folder: Path = env("DATA_FOLDER", "./data", "persistent data root; on Render, the disk's mountPath",
                            parse=Path)
    storage_mode: ModeSetting = env("STORAGE_MODE", "auto", "auto (S3 iff a bucket and credentials are set: both "
                                    "keys, or a role with its web identity token), local, or s3",
                                    parse=Choice[ModeSetting](get_args(ModeSetting)))
    bucket_name: str | None = env("S3_BUCKET_NAME", None, "bucket name (an access-point ARN is accepted, as in "
                                  "the seed)", s3_only=True, parse=str)
    access_point: str | None = env("S3_ACCESS_POINT", None, "access-point ARN or alias; object I/O goes through it",
                                   s3_only=True, parse=str)
    region: str = env("S3_REGION", "us-east-2", "the bucket's region", s3_only=True, parse=str)
    endpoint_url: str | None = env("S3_ENDPOINT_URL", None, "S3-compatible endpoint (emulator, R2, MinIO)",
                                   blueprint="absent", parse=str)
    access_key_id: Secret | None = env("AWS_ACCESS_KEY_ID", None, "access key id of the app's IAM user",
                                       parse=Secret, blueprint="sync", s3_only=True, auth="accessKey")
    secret_access_key: Secret | None = env("AWS_SECRET_ACCESS_KEY", None, "secret access key of the app's IAM user",
                                           parse=Secret, blueprint="sync", s3_only=True, auth="accessKey")
    role_arn: str | None = env("AWS_ROLE_ARN", None, "the app's role, assumed with the web identity token (instead "
                               "of keys)", s3_only=True, auth="oidc", parse=str)
    web_identity_token_file: str | None = env(
        "AWS_WEB_IDENTITY_TOKEN_FILE", None, "the OIDC token file the role is assumed with (Render's, per its OIDC "
        "documentation)", blueprint="platform", s3_only=True, auth="oidc", parse=str)
    session_token: Secret | None = env("AWS_SESSION_TOKEN", None, "session token, for temporary credentials",
                                       parse=Secret, blueprint="absent")
    topology: Topology = env(
        "TOPOLOGY", "single", "single: one server, files and records on its disk; scaled: several instances, no "
        "disk, every file in S3 and the records in DATABASE_URL's PostgreSQL",
        parse=Choice[Topology](get_args(Topology)))
    database_url: Secret | None = env(
        "DATABASE_URL", None, "PostgreSQL for the records (postgresql://...), for several instances; unset: SQLite "
        "app.db in DATA_FOLDER", parse=Secret, blueprint="database")
    target_database_url: Secret | None = env(
        "TARGET_DATABASE_URL", None, "the new PostgreSQL that `ephitup migrate to-scaled` copies the records into "
        "(operator's shell only)", parse=Secret, blueprint="absent")
    database_statement_seconds: float = env(
        "DATABASE_STATEMENT_SECONDS", 15.0, "PostgreSQL ends a statement running this long; the app stops waiting for "
        "a server that does not answer 2 s later (a frozen server, a partition)", tunable=True, parse=float, gt=0,
        le=3600)
    audio_delivery: AudioDelivery = env("AUDIO_DELIVERY", "proxy", "proxy (app streams, Range passed on), redirect "
                                        "(307 to S3) or cdn (307 to CloudFront)",
                                        tunable=True, parse=Choice[AudioDelivery](get_args(AudioDelivery)))
    cdn_domain: str | None = env("CDN_DOMAIN", None, "cdn: the CloudFront distribution's domain (d123.cloudfront.net)",
                                 s3_only=True, cdn_only=True, parse=str)
    cdn_key_id: str | None = env("CDN_KEY_ID", None, "cdn: the id of the public key the distribution trusts "
                                 "(Key-Pair-Id)", s3_only=True, cdn_only=True, parse=str)
    cdn_private_key: Secret | None = env("CDN_PRIVATE_KEY", None, "cdn: that key's private half, RSA 2048 in PEM",
                                         parse=Secret, blueprint="sync", s3_only=True, cdn_only=True)
    app_token: Secret | None = env("APP_TOKEN", None, "when set, /api/* requires 'Authorization: Bearer <token>'",
                                   parse=Secret, blueprint="generate")
    max_upload_mb: int = env("MAX_UPLOAD_MB", 200, "largest accepted upload, enforced while streaming", tunable=True,
                             parse=int, ge=1)
    upload_idle_seconds: float = env("UPLOAD_IDLE_SECONDS", 30.0, "an upload whose body sends nothing for this "
                                     "long is answered 408 and dropped", tunable=True, parse=float, gt=0)
    connect_timeout: float = env("S3_CONNECT_TIMEOUT", 3.0, "seconds to wait for a connection to S3", s3_only=True,
                                 tunable=True, parse=float, ge=0.1)
    read_timeout: float = env("S3_READ_TIMEOUT", 10.0, "seconds to wait for S3 to answer", s3_only=True,
                              tunable=True, parse=float, ge=0.1)
    max_attempts: int = env("S3_MAX_ATTEMPTS", 3, "attempts per S3 call (standard retry mode); with the timeouts, "
                            "what one request can wait on a hung S3", s3_only=True, tunable=True, parse=int, ge=1)
    max_connections: int = env("S3_MAX_CONNECTIONS", 32, "connections the S3 client keeps open (at least the app's "
                               "16 S3 threads; migrate raises it to its --concurrency)",
                               s3_only=True, tunable=True, parse=int, ge=1, le=512)
    stream_readers: int = env("STREAM_READERS", 8, "threads that read audio for listeners, per store (disk, S3), "
                              "shared by every stream; a stream reads its next 64 KiB only once its listener took "
                              "the last", tunable=True, parse=int, ge=1, le=256)
    reconcile_interval: float = env("RECONCILE_INTERVAL_SECONDS", 30.0, "how often pending uploads are retried",
                                    s3_only=True, tunable=True, parse=float, ge=0.05)
    records_backup_minutes: float = env(
        "RECORDS_BACKUP_MINUTES", 60.0, "how often a consistent copy of the SQLite records is kept (in the bucket "
        "under backups/records/ with S3 on, else beside the database); PostgreSQL keeps its own", tunable=True,
        parse=float, gt=0)
    health_check_seconds: float = env("HEALTH_CHECK_SECONDS", 15.0, "how often the background checks behind /health "
                                      "run (S3 probe, records S3 cannot serve)", tunable=True, parse=float, ge=0.05)
    pending_alert_minutes: float = env("PENDING_ALERT_MINUTES", 15.0, "a pending upload older than this is a "
                                       "problem in /health", s3_only=True, tunable=True, parse=float, gt=0)
    disk_degraded_percent: float = env("DISK_DEGRADED_PERCENT", 80.0, "the data folder's disk this full (percent) "
                                       "makes /health degraded", tunable=True, parse=float, gt=0, le=100)
    disk_error_percent: float = env("DISK_ERROR_PERCENT", 95.0, "the data folder's disk this full (percent) is an "
                                    "error in /health", tunable=True, parse=float, gt=0, le=100)
    on_render: bool = env("RENDER", False, "set by Render on its hosts: the data folder must then be the disk",
                          parse=is_true, blueprint="platform")
    storage: StorageDecision = dataclasses.field(init=False, compare=False)  # made from the fields above

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: the process environment); empty values count as unset.

        Only the contract's variables are read, by their exact names: the rest of the environment never
        reaches the model."""
        source = os.environ if environ is None else environ
        given = access_point_in_bucket_name(
            {name: text for name in contract() if (text := source.get(name, "").strip())})
        values: dict[str, Any] = {}
        wrong: list[str] = []
        for field_name, variable in _FIELDS.items():
            try:
                values[field_name] = variable.value(given.get(variable.name))
            except SettingsError as error:
                wrong.append(str(error))
        if wrong:
            raise SettingsError("; ".join(wrong))
        return cls(**values)

    def __post_init__(self) -> None:
        """The rules between fields, checked whenever settings are made (``from_env`` or ``replace``)."""
        for name, url in (("DATABASE_URL", self.database_url), ("TARGET_DATABASE_URL", self.target_database_url)):
            scheme = url.get_secret_value().partition("://")[0] if url else "postgresql"
            if scheme not in ("postgresql", "postgres"):
                raise SettingsError(f"{name} is a {scheme!r} URL: the records need PostgreSQL (postgresql://...), or "
                                    "leave it unset for SQLite in DATA_FOLDER")
        if self.disk_degraded_percent >= self.disk_error_percent:
            raise SettingsError(
                f"DISK_DEGRADED_PERCENT={self.disk_degraded_percent:g} must be below DISK_ERROR_PERCENT="
                f"{self.disk_error_percent:g}: lower the first or raise the second")
        if self.on_render and len(self.app_token.get_secret_value() if self.app_token else "") < MIN_TOKEN_LENGTH:
            raise SettingsError(
                f"APP_TOKEN is {'unset' if self.app_token is None else 'too short'} on Render (RENDER=true): the API "
                f"would be open to anyone. Set it to at least {MIN_TOKEN_LENGTH} random characters (the blueprint "
                "generates one: generateValue: true)")
        object.__setattr__(self, "storage", self._decide_storage())
        self._check_cdn()

    def _check_cdn(self) -> None:
        if self.audio_delivery != "cdn":
            return
        missing = [name for name, value in (("CDN_DOMAIN", self.cdn_domain), ("CDN_KEY_ID", self.cdn_key_id),
                                            ("CDN_PRIVATE_KEY", self.cdn_private_key)) if not value]
        if missing:
            raise SettingsError(f"AUDIO_DELIVERY=cdn needs {', '.join(missing)}: the stack's outputs cdn_domain and "
                                "cdn_key_id, and `pulumi stack output cdn_private_key --show-secrets`")
        if self.storage.mode != "s3":
            raise SettingsError("AUDIO_DELIVERY=cdn serves audio from the bucket, but S3 is off here: turn S3 on, or "
                                "set AUDIO_DELIVERY=proxy")

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

    def _decide_storage(self) -> StorageDecision:
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
        for field_name, variable in _FIELDS.items():
            if variable.blueprint == "platform":
                continue
            value = getattr(self, field_name)
            if variable.secret:
                shown[f"{variable.name}_set"] = value is not None
            else:
                shown[variable.name] = str(value) if isinstance(value, Path) else value
        return shown


@dataclass(frozen=True)
class StorageDecision:
    mode: StorageMode
    problems: tuple[str, ...] = ()


_FIELDS: dict[str, Variable] = {item.name: item.metadata["variable"] for item in dataclasses.fields(Settings)
                                if "variable" in item.metadata}


def contract() -> dict[str, Variable]:
    """Every variable of the contract by its environment name, in declaration order."""
    return {variable.name: variable for variable in _FIELDS.values()}


def alias_of(field_name: str) -> str:
    """The environment variable behind a field of ``Settings``."""
    return _FIELDS[field_name].name
