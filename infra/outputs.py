"""A stack's outputs as the blueprint needs them: committed per stack under ``outputs/<stack>.json``.

``pulumi stack output --json`` holds more than the blueprint needs, secrets among them (masked or not).
``keep_for_blueprint`` keeps only the non-secret values the blueprint renders, refuses anything
secret-shaped, and ``check_against`` holds outputs to the stack they are used for: the program exports
its project and stack, and the region, bucket and access point must be that stack's. This module must
not import pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra import names
from infra.environment import ConfigError, Environment

OUTPUTS_FOLDER = "outputs"
BLUEPRINT_KEYS = ("project", "stack", "storage_mode", "region", "bucket_name", "access_point_arn")
OIDC_KEYS = ("role_arn",)  # what the blueprint also needs from a stack with awsAuth: oidc
CDN_KEYS = ("cdn_domain", "cdn_key_id")  # and from a stack with ephitup:cdn on
SECRET_KEYS = ("secret_access_key", "access_key_id", "cdn_private_key")
_CDN_DOMAIN = re.compile(r"^d[a-z0-9]+\.cloudfront\.net$")
_CDN_KEY_ID = re.compile(r"^K[A-Z0-9]+$")
AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_ACCESS_POINT = re.compile(r"^arn:aws[\w-]*:s3:(?P<region>[\w-]+):\d{12}:accesspoint/(?P<name>[a-z0-9-]+)$")


class OutputsError(ConfigError):
    """Outputs that cannot be used for this stack; the message names both stacks or the value, and the fix."""


def committed_file(stack: str, directory: Path | None = None) -> Path:
    return (directory or Path.cwd()) / OUTPUTS_FOLDER / f"{stack}.json"


def looks_secret(value: Any) -> bool:
    text = str(value)
    return bool(AWS_KEY_ID.search(text) or AWS_SECRET.search(text))


def keep_for_blueprint(outputs: Mapping[str, Any], env: Environment) -> dict[str, Any]:
    """The blueprint's share of ``pulumi stack output --json``, checked against ``env``."""
    kept = {key: outputs[key] for key in (*BLUEPRINT_KEYS, *OIDC_KEYS, *CDN_KEYS) if key in outputs}
    check_against(env, kept)
    return kept


def check_against(env: Environment, outputs: Mapping[str, Any]) -> None:
    """Outputs are only ever used for the stack that made them."""
    fix = f"(fix: `pulumi stack output --json -s {env.stack} | ephitup outputs import --stack {env.stack}`)"
    if not env.s3_enabled:
        raise OutputsError(f"stack {env.stack}: outputs were given but ephitup:s3Enabled is false, so the "
                           "blueprint uses none: remove them, or turn S3 on for this stack")
    secret = [key for key in BLUEPRINT_KEYS if looks_secret(outputs.get(key, ""))]
    if secret:
        raise OutputsError(f"stack {env.stack}: outputs key {secret[0]} holds a secret-shaped value: refusing it (the "
                           "committed outputs are public; credentials reach Render otherwise)")
    missing = [key for key in BLUEPRINT_KEYS if not outputs.get(key)]
    if missing:
        raise OutputsError(f"stack {env.stack}: the outputs lack {', '.join(missing)} {fix}")
    made_by = outputs.get("project"), outputs.get("stack")
    if made_by != (names.PROJECT, env.stack):
        raise OutputsError(f"stack {env.stack}: these outputs are stack {made_by[1]!r}'s (project {made_by[0]!r}), "
                           f"not {names.PROJECT}/{env.stack}'s {fix}")
    if outputs.get("region") != env.region:
        raise OutputsError(f"stack {env.stack}: the outputs' region {outputs.get('region')!r} is not the stack's "
                           f"aws:region {env.region!r} {fix}")
    bucket = str(outputs.get("bucket_name") or "")
    expected = env.bucket_name or names.bucket_prefix(env.stack)
    if not (bucket == env.bucket_name if env.bucket_name else bucket.startswith(expected)):
        raise OutputsError(f"stack {env.stack}: bucket {bucket!r} is not this stack's ({expected}...) {fix}")
    role = str(outputs.get("role_arn") or "")
    own_role = rf"arn:aws[\w-]*:iam::\d{{12}}:role{re.escape(names.IAM_PATH + names.app_identity(env.stack))}"
    if env.aws_auth == "oidc" and not re.fullmatch(own_role, role):
        raise OutputsError(f"stack {env.stack}: awsAuth is oidc but the outputs' role_arn {role or 'is missing'!r} is "
                           f"not this stack's role ({names.app_identity(env.stack)}) {fix}")
    if env.aws_auth != "oidc" and role:
        raise OutputsError(f"stack {env.stack}: the outputs hold a role_arn but awsAuth is {env.aws_auth} {fix}")
    access_point = _ACCESS_POINT.match(str(outputs.get("access_point_arn") or ""))
    if not access_point or (access_point["name"], access_point["region"]) != (env.access_point_name, env.region):
        raise OutputsError(f"stack {env.stack}: access point {outputs.get('access_point_arn')!r} is not this "
                           f"stack's ({env.access_point_name} in {env.region}) {fix}")
    _check_cdn(env, outputs, fix)


def _check_cdn(env: Environment, outputs: Mapping[str, Any], fix: str) -> None:
    domain, key_id = str(outputs.get("cdn_domain") or ""), str(outputs.get("cdn_key_id") or "")
    if not env.cdn:
        if domain or key_id:
            raise OutputsError(f"stack {env.stack}: the outputs hold a CDN but ephitup:cdn is off {fix}")
        return
    if not _CDN_DOMAIN.match(domain) or not _CDN_KEY_ID.match(key_id):
        raise OutputsError(f"stack {env.stack}: ephitup:cdn is on but the outputs' cdn_domain {domain!r} and "
                           f"cdn_key_id {key_id!r} are not a CloudFront domain (d....cloudfront.net) and public key "
                           f"id (K...) {fix}")
