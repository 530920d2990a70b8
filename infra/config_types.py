"""The value types of stack keys (``infra/environment.py``): how Pulumi's stored text becomes a checked value.

Each refusal is a ``ValueError`` whose text says what a valid value looks like; the model words it into one
line naming the stack and the key. This module must not import pulumi.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Strict

RenderRegion = Literal["oregon", "ohio", "virginia", "frankfurt", "singapore"]
# Render's serverPlan enum (blueprint schema, October 2026) without "free": the free plan has no disk.
RenderPaidPlan = Literal[
    "starter", "standard", "pro", "pro plus", "pro max", "pro ultra", "0.5c-512mb", "1c-2g", "2c-4g", "2c-8g",
    "2c-16g", "4c-8g", "4c-16g", "4c-32g", "8c-16g", "8c-32g", "8c-64g", "12c-24g", "12c-48g", "12c-96g",
]
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def true_or_false(value: Any) -> Any:
    """Pulumi stores booleans as the strings ``true``/``false``; nothing else ("yes", "1") is one."""
    if isinstance(value, bool) or str(value).lower() not in ("true", "false"):
        return value
    return str(value).lower() == "true"


def strings(value: Any) -> Any:
    """A list, a JSON list as Pulumi stores it, or comma-separated text."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    return tuple(str(item).strip() for item in value if str(item).strip()) if isinstance(value, list) else value


def matching(pattern: str, expected: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(expected)
        return value
    return AfterValidator(check)


def check_bucket_name(value: str | None) -> str | None:
    if value and (not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value) or ".." in value
                  or re.fullmatch(r"[\d.]+", value) or value.startswith(("xn--", "sthree-"))
                  or value.endswith(("-s3alias", "--ol-s3"))):
        raise ValueError("3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit")
    return value


def absolute_path(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/"):
        raise ValueError("an absolute path such as /mydata")
    return value


def origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    for origin in origins:
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(f"origins such as https://app.example.com (no path), not {origin!r}")
    return origins


Flag = Annotated[bool, Strict(), BeforeValidator(true_or_false)]
Text = Annotated[str, BeforeValidator(lambda value: str(value).strip())]
Origins = Annotated[tuple[str, ...], BeforeValidator(strings), AfterValidator(origins)]


