"""One environment (a Pulumi stack) as data: read from ``pulumi.Config`` or straight from the stack
file ``Pulumi.<stack>.yaml``, validated once, with defaults that live here in code.

Pulumi's mocks do not apply the ``config:`` block of ``Pulumi.yaml``, and the blueprint renderer
reads stack files without the Pulumi CLI, so the defaults below are the ones both paths use; a test
keeps ``Pulumi.yaml`` in step with them. This module must not import pulumi.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = "ephitup"
RENDER_REGIONS = ("oregon", "ohio", "virginia", "frankfurt", "singapore")
# Render's serverPlan enum (blueprint schema, October 2026) without "free": the free plan has no disk.
RENDER_PAID_PLANS = (
    "starter", "standard", "pro", "pro plus", "pro max", "pro ultra", "0.5c-512mb", "1c-2g", "2c-4g", "2c-8g",
    "2c-16g", "4c-8g", "4c-16g", "4c-32g", "8c-16g", "8c-32g", "8c-64g", "12c-24g", "12c-48g", "12c-96g",
)

# key -> (default, meaning). Empty strings mean "derived from the stack name".
SETTINGS: Mapping[str, tuple[Any, str]] = {
    "ephitup:s3Enabled": (False, "provision S3 (bucket, access point, IAM user) and store podcast audio there"),
    "aws:region": ("us-east-2", "AWS region of the bucket (us-east-2 sits next to Render's ohio)"),
    "ephitup:bucketName": ("", "exact bucket name; empty: a unique name from the prefix ephitup-<stack>-"),
    "ephitup:accessPointName": ("", "S3 access point name; empty: ephitup-<stack>"),
    "ephitup:retainBucket": (True, "protect the bucket and keep it (and its audio) when the stack is destroyed"),
    "ephitup:noncurrentVersionDays": (30, "days before an overwritten or deleted object version expires"),
    "ephitup:corsOrigins": ([], "browser origins allowed to play presigned audio URLs (empty: no CORS)"),
    "ephitup:serviceName": ("ephitup", "Render service name; the environment is appended (ephitup-<stack>)"),
    "ephitup:renderPlan": ("starter", "Render instance type (a paid plan: the free plan has no disk)"),
    "ephitup:renderRegion": ("ohio", "Render region: oregon, ohio, virginia, frankfurt or singapore"),
    "ephitup:diskName": ("ephitup-data", "name of the service's persistent disk"),
    "ephitup:mountPath": ("/mydata", "where the disk is mounted; also the app's DATA_FOLDER"),
    "ephitup:diskSizeGB": (10, "disk size in GB (a disk can grow, never shrink)"),
    "ephitup:numInstances": (1, "Render instances; a service with a disk runs exactly one"),
}

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ACCESS_POINT = re.compile(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")
_STACK = re.compile(r"^[A-Za-z0-9_.-]+$")


class ConfigError(ValueError):
    """A stack's configuration is invalid; the message names the stack, the key and the fix."""


@dataclass(frozen=True)
class Environment:
    stack: str
    s3_enabled: bool
    region: str
    bucket_name: str | None
    access_point_name: str
    retain_bucket: bool
    noncurrent_version_days: int
    cors_origins: tuple[str, ...]
    service_name: str
    render_plan: str
    render_region: str
    disk_name: str
    mount_path: str
    disk_size_gb: int
    num_instances: int = 1

    @property
    def render_service(self) -> str:
        """Service names carry the environment: a blueprint for one never takes over another's."""
        return f"{self.service_name}-{self.stack}"

    @classmethod
    def from_values(cls, stack: str, values: Mapping[str, Any]) -> Environment:
        """Build from ``{"ephitup:key": value}`` (strings as Pulumi stores them, or YAML types)."""
        if not _STACK.match(stack):
            raise ConfigError(f"stack name {stack!r} may only hold letters, digits, '.', '_' and '-'")
        unknown = sorted(k for k in values if k.startswith(f"{PROJECT}:") and k not in SETTINGS)
        if unknown:
            raise ConfigError(f"stack {stack}: unknown key {unknown[0]} (known: {', '.join(sorted(SETTINGS))})")
        reader = _Reader(stack, values)
        env = cls(
            stack=stack,
            s3_enabled=reader.boolean("ephitup:s3Enabled"),
            region=reader.text("aws:region"),
            bucket_name=reader.text("ephitup:bucketName") or None,
            access_point_name=reader.text("ephitup:accessPointName") or f"ephitup-{stack}",
            retain_bucket=reader.boolean("ephitup:retainBucket"),
            noncurrent_version_days=reader.integer("ephitup:noncurrentVersionDays", minimum=1),
            cors_origins=reader.strings("ephitup:corsOrigins"),
            service_name=reader.text("ephitup:serviceName"),
            render_plan=reader.text("ephitup:renderPlan"),
            render_region=reader.text("ephitup:renderRegion"),
            disk_name=reader.text("ephitup:diskName"),
            mount_path=reader.text("ephitup:mountPath"),
            disk_size_gb=reader.integer("ephitup:diskSizeGB", minimum=1),
            num_instances=reader.integer("ephitup:numInstances", minimum=1),
        )
        env._validate(reader)
        return env

    @classmethod
    def from_stack_file(cls, path: Path) -> Environment:
        """Read ``Pulumi.<stack>.yaml`` with pyyaml: no Pulumi CLI needed."""
        match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
        if not match:
            raise ConfigError(f"{path} is not a stack file (Pulumi.<stack>.yaml)")
        document = yaml.safe_load(path.read_text()) or {}
        config = document.get("config") or {}
        return cls.from_values(match.group(1), {k: v for k, v in config.items() if not isinstance(v, dict)})

    def _validate(self, reader: _Reader) -> None:
        if self.bucket_name and not _valid_bucket_name(self.bucket_name):
            reader.fail("ephitup:bucketName", self.bucket_name,
                        "3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit")
        if not _ACCESS_POINT.match(self.access_point_name):
            reader.fail("ephitup:accessPointName", self.access_point_name, "3-50 lowercase letters, digits or '-'")
        if not self.mount_path.startswith("/") or ".." in self.mount_path.split("/"):
            reader.fail("ephitup:mountPath", self.mount_path, "an absolute path such as /mydata")
        if self.render_region not in RENDER_REGIONS:
            reader.fail("ephitup:renderRegion", self.render_region, f"one of {', '.join(RENDER_REGIONS)}")
        if self.render_plan not in RENDER_PAID_PLANS:
            reader.fail("ephitup:renderPlan", self.render_plan,
                        "a paid instance type such as starter or standard: the free plan has no disk")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            reader.fail("aws:region", self.region, "an AWS region such as us-east-2")
        for origin in self.cors_origins:
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                reader.fail("ephitup:corsOrigins", origin, "origins such as https://app.example.com (no path)")


def _valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET.match(name)) and ".." not in name and not re.fullmatch(r"[\d.]+", name) \
        and not name.startswith(("xn--", "sthree-")) and not name.endswith(("-s3alias", "--ol-s3"))


class _Reader:
    def __init__(self, stack: str, values: Mapping[str, Any]) -> None:
        self.stack, self.values = stack, values

    def fail(self, key: str, value: Any, expected: str) -> None:
        raise ConfigError(f"stack {self.stack}: {key}={value!r} is invalid: expected {expected} "
                          f"(fix: pulumi config set {key} <value> -s {self.stack})")

    def raw(self, key: str) -> Any:
        value = self.values.get(key)
        if value is None or value == "":
            return SETTINGS[key][0]
        return value

    def text(self, key: str) -> str:
        return str(self.raw(key)).strip()

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        self.fail(key, value, "true or false")
        raise AssertionError  # unreachable: fail raises

    def integer(self, key: str, minimum: int) -> int:
        value = self.raw(key)
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool) or number < minimum or str(number) != str(value).strip():
            self.fail(key, value, f"a whole number of at least {minimum}")
        return number  # type: ignore[return-value]

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        if not isinstance(value, list):
            self.fail(key, value, "a list of strings")
        return tuple(str(item).strip() for item in value if str(item).strip())
