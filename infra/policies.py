"""The IAM and resource policies, as pure functions of ARNs and prefixes.

Kept free of Pulumi so they can be unit-tested, linted (parliament) and evaluated by moto outside any
deployment. The app's identity (an IAM user with a key, or a role Render's OIDC tokens assume)
reaches objects only through the access point; the bucket delegates object access to the account's
access points (AWS's documented shape) and refuses plain HTTP.
"""

from __future__ import annotations

import json
from typing import Any

Policy = dict[str, Any]

APP_PREFIXES = ("episodes/", "uploads/", "backups/records/")  # backups/records/: consistent copies of app.db
# Exactly what the app's storage layer calls: PutObject covers multipart (Create/UploadPart/Complete),
# GetObject covers GET and HEAD; ListBucket is needed to tell a missing key (404) from a denied one.
APP_OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
LIST_ACTION = "s3:ListBucket"
OIDC_AUDIENCE = "sts.amazonaws.com"  # what Render's documentation has the identity provider accept


def render_oidc_issuer(workspace_id: str) -> str:
    """Render's OIDC issuer for one workspace (``tea-...``), without the scheme, as IAM names it."""
    return f"oidc.render.com/{workspace_id}"


def document(*statements: dict[str, Any]) -> Policy:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def to_json(policy: Policy) -> str:
    return json.dumps(policy, indent=2, sort_keys=True)


def _prefix_patterns(prefixes: tuple[str, ...]) -> list[str]:
    return [f"{prefix}*" for prefix in prefixes]


def access_point_object_arns(access_point_arn: str, prefixes: tuple[str, ...] = APP_PREFIXES) -> list[str]:
    return [f"{access_point_arn}/object/{pattern}" for pattern in _prefix_patterns(prefixes)]


def app_user_policy(access_point_arn: str, prefixes: tuple[str, ...] = APP_PREFIXES) -> Policy:
    """The app's identity (user or role): object actions and prefix-scoped listing, through the access point
    only."""
    return document(
        {
            "Sid": "ObjectsThroughAccessPoint",
            "Effect": "Allow",
            "Action": list(APP_OBJECT_ACTIONS),
            "Resource": access_point_object_arns(access_point_arn, prefixes),
        },
        {
            "Sid": "ListPrefixesThroughAccessPoint",
            "Effect": "Allow",
            "Action": LIST_ACTION,
            "Resource": access_point_arn,
            "Condition": {"StringLike": {"s3:prefix": _prefix_patterns(prefixes)}},
        },
    )


def access_point_policy(access_point_arn: str, user_arn: str, prefixes: tuple[str, ...] = APP_PREFIXES) -> Policy:
    """The access point's own policy: the app's identity (``user_arn``: a user or a role), the same actions,
    the same prefixes."""
    return document(
        {
            "Sid": "AppUserObjects",
            "Effect": "Allow",
            "Principal": {"AWS": user_arn},
            "Action": list(APP_OBJECT_ACTIONS),
            "Resource": access_point_object_arns(access_point_arn, prefixes),
        },
        {
            "Sid": "AppUserList",
            "Effect": "Allow",
            "Principal": {"AWS": user_arn},
            "Action": LIST_ACTION,
            "Resource": access_point_arn,
            "Condition": {"StringLike": {"s3:prefix": _prefix_patterns(prefixes)}},
        },
    )


def render_trust_policy(provider_arn: str, workspace_id: str, subject: str) -> Policy:
    """Who may assume the app's role: Render's OIDC tokens for this workspace, for one service only.

    Both the audience and the exact subject (the environment and service Render puts in ``sub``) are
    required: a token of another service, environment or workspace is refused by STS.
    """
    return web_identity_trust("RenderServiceOidc", provider_arn, render_oidc_issuer(workspace_id), subject)


def web_identity_trust(sid: str, provider_arn: str, issuer: str, subject: str | list[str]) -> Policy:
    """Tokens of ``issuer``'s provider for STS, whose ``sub`` is exactly ``subject`` (or one of them): no wildcard."""
    return document({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:aud": OIDC_AUDIENCE, f"{issuer}:sub": subject}},
    })


def cdn_read_statement(bucket_arn: str, distribution_arn: str, prefix: str = "episodes/") -> dict[str, Any]:
    """CloudFront's Origin Access Control reads the audio prefix, for this one distribution only."""
    return {
        "Sid": "AllowThisDistributionToReadAudio",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/{prefix}*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


GITHUB_ISSUER = "token.actions.githubusercontent.com"


def github_subjects(repository: str, ids: str, context: str) -> list[str]:
    """GitHub's ``sub`` for one context (``pull_request``, ``ref:refs/heads/main``, ``environment:prod``) of this
    repository: by names, and with ``ids`` (``OWNER_ID/REPOSITORY_ID``) also in the id form repositories created
    from 15 July 2026 carry (``repo:octo-org@123456/octo-repo@789012:...``), which a policy on names refuses."""
    subjects = [f"repo:{repository}:{context}"]
    if ids:
        (owner, name), (owner_id, repository_id) = repository.split("/"), ids.split("/")
        subjects.append(f"repo:{owner}@{owner_id}/{name}@{repository_id}:{context}")
    return subjects


def github_trust_policy(provider_arn: str, subjects: list[str]) -> Policy:
    """Who may assume a CI role: GitHub's OIDC tokens with one of these subjects."""
    return web_identity_trust("GitHubActionsOidc", provider_arn, GITHUB_ISSUER, subjects)


def bucket_policy(bucket_arn: str, account_id: str, distribution_arn: str | None = None) -> Policy:
    """TLS only; object access delegated to this account's access points (never a public grant); with a CDN,
    its distribution may read the audio."""
    cdn = [cdn_read_statement(bucket_arn, distribution_arn)] if distribution_arn else []
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DelegateToAccountAccessPoints",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [*APP_OBJECT_ACTIONS, LIST_ACTION],
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"StringEquals": {"s3:DataAccessPointAccount": account_id}},
        },
        *cdn,
    )


def rewritten_to_bucket(policy: Policy, access_point_arn: str, bucket_arn: str) -> Policy:
    """The same statements addressed to the bucket instead of the access point.

    For emulators that evaluate only bucket ARNs (moto): ``<ap>/object/<key>`` becomes
    ``<bucket>/<key>`` and ``<ap>`` becomes ``<bucket>``; actions and conditions are unchanged.
    """

    def rewrite(resource: str) -> str:
        if resource.startswith(f"{access_point_arn}/object/"):
            return f"{bucket_arn}/{resource[len(access_point_arn) + len('/object/'):]}"
        return bucket_arn if resource == access_point_arn else resource

    statements = []
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        rewritten = [rewrite(r) for r in resources] if isinstance(resources, list) else rewrite(resources)
        statements.append({**statement, "Resource": rewritten})
    return document(*statements)
