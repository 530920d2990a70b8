"""The app's environment contract, defined once, and the settings read from it.

Every variable the app reads is declared in ``env_contract.json`` (name, default, meaning, whether it
is a secret, how the blueprint carries it), loaded here as ``CONTRACT``. ``infra/`` reads the same file
as data (app and infra never import each other), so the app and the blueprint cannot drift apart.

Precedence (django-storages style): an explicit ``STORAGE_MODE`` wins; ``auto`` applies the seed's
rule, S3 iff a bucket and both keys are set. A half-set S3 config under ``auto`` runs on local disk and
says so (``StorageDecision.problems``); under ``s3`` it is an error naming what is missing.

This module imports nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

StorageMode = Literal["local", "s3"]

# SigV4 presigned URLs are valid for at most seven days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

ACCESS_POINT_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):s3:(?P<region>[\w-]+):(?P<account>\d{12}):accesspoint/(?P<name>[a-z0-9-]{3,50})$"
)


@dataclass(frozen=True)
class EnvVar:
    name: str
    default: str | None
    meaning: str
    secret: bool = False
    blueprint: str = "value"  # how render.yaml carries it: value, sync, generate, platform, absent
    s3_only: bool = False  # rendered only for environments with S3 on


CONTRACT_FILE = Path(__file__).with_name("env_contract.json")
CONTRACT: tuple[EnvVar, ...] = tuple(
    EnvVar(**{k: v for k, v in var.items()}) for var in json.loads(CONTRACT_FILE.read_text())["variables"]
)
ENV: Mapping[str, EnvVar] = {var.name: var for var in CONTRACT}

_CHOICES = {"STORAGE_MODE": ("auto", "local", "s3"), "AUDIO_DELIVERY": ("proxy", "redirect")}


class SettingsError(ValueError):
    """The environment cannot be run as configured; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    data_folder: Path
    storage_mode: str
    bucket_name: str | None
    access_point: str | None
    region: str
    endpoint_url: str | None
    access_key_id: str | None = field(repr=False)
    secret_access_key: str | None = field(repr=False)
    session_token: str | None = field(repr=False)
    audio_delivery: str
    app_token: str | None = field(repr=False)
    max_upload_bytes: int
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    reconcile_interval: float = 30.0
    on_render: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or ENV[name].default

        for name, choices in _CHOICES.items():
            value = (get(name) or "").lower()
            if value not in choices:
                raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")

        bucket, access_point = get("S3_BUCKET_NAME"), get("S3_ACCESS_POINT")
        if bucket and ACCESS_POINT_ARN.match(bucket):
            # The seed accepted an access-point ARN in S3_BUCKET_NAME: treat it as the access point.
            access_point = access_point or bucket
            bucket = None
        return cls(
            data_folder=Path(get("DATA_FOLDER") or "./data"),
            storage_mode=(get("STORAGE_MODE") or "auto").lower(),
            bucket_name=bucket,
            access_point=access_point,
            region=get("S3_REGION") or "us-east-2",
            endpoint_url=get("S3_ENDPOINT_URL"),
            access_key_id=get("AWS_ACCESS_KEY_ID"),
            secret_access_key=get("AWS_SECRET_ACCESS_KEY"),
            session_token=get("AWS_SESSION_TOKEN"),
            audio_delivery=(get("AUDIO_DELIVERY") or "proxy").lower(),
            app_token=get("APP_TOKEN"),
            max_upload_bytes=_number(get, "MAX_UPLOAD_MB", int, minimum=1) * 1024 * 1024,
            connect_timeout=_number(get, "S3_CONNECT_TIMEOUT", float, minimum=0.1),
            read_timeout=_number(get, "S3_READ_TIMEOUT", float, minimum=0.1),
            max_attempts=_number(get, "S3_MAX_ATTEMPTS", int, minimum=1),
            reconcile_interval=_number(get, "RECONCILE_INTERVAL_SECONDS", float, minimum=0.05),
            on_render=(get("RENDER") or "").lower() == "true",
        )

    @property
    def s3_target(self) -> str | None:
        """What object calls pass as ``Bucket=``: the access point when there is one."""
        return self.access_point or self.bucket_name

    def missing_s3_settings(self) -> list[str]:
        """The variables S3 mode still needs, in contract order."""
        missing = [] if self.s3_target else ["S3_BUCKET_NAME"]
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        return missing + [name for name in keys if not getattr(self, _SECRET_FIELDS[name])]

    def decide_storage(self) -> StorageDecision:
        """Pick the storage mode; raise ``SettingsError`` when ``s3`` is asked for but half-set."""
        missing = self.missing_s3_settings()
        problems: list[str] = []
        any_s3 = bool(self.s3_target or self.access_key_id or self.secret_access_key)
        if self.storage_mode == "s3" and missing:
            raise SettingsError(
                f"STORAGE_MODE=s3 but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                "not set: set them, or set STORAGE_MODE=local"
            )
        if self.storage_mode == "local":
            mode: StorageMode = "local"
        elif self.storage_mode == "s3" or not missing:
            mode = "s3"
        else:
            mode = "local"
            if any_s3:
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
        shown: dict[str, object] = {
            "DATA_FOLDER": str(self.data_folder),
            "STORAGE_MODE": self.storage_mode,
            "S3_BUCKET_NAME": self.bucket_name,
            "S3_ACCESS_POINT": self.access_point,
            "S3_REGION": self.region,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AUDIO_DELIVERY": self.audio_delivery,
            "MAX_UPLOAD_MB": self.max_upload_bytes // (1024 * 1024),
        }
        for var in CONTRACT:
            if var.secret:
                shown[f"{var.name}_set"] = bool(getattr(self, _SECRET_FIELDS[var.name]))
        return shown


_SECRET_FIELDS = {
    "AWS_ACCESS_KEY_ID": "access_key_id",
    "AWS_SECRET_ACCESS_KEY": "secret_access_key",
    "AWS_SESSION_TOKEN": "session_token",
    "APP_TOKEN": "app_token",
}


@dataclass(frozen=True)
class StorageDecision:
    mode: StorageMode
    problems: tuple[str, ...] = ()


def _number(get, name: str, kind: type, minimum: float):  # type: ignore[no-untyped-def]
    raw = get(name)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


def is_s3_configured(environ: Mapping[str, str] | None = None) -> bool:
    """The seed's rule: S3 iff a bucket and both keys are set (``STORAGE_MODE`` can override)."""
    return Settings.from_env(environ).decide_storage().mode == "s3"
