"""Policy as code for `pulumi preview --policy-pack infra/policy_pack`: the rules, as plain functions.

This module stands alone (the pack runs with only its own folder on ``sys.path``), so each rule can
be tested by calling it with a fake ``args`` object; ``__main__.py`` only assembles the pack.
Props arrive as the engine sees them: camelCase, and possibly unknown during a preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

Report = Callable[..., None]

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
AUDIO_PATTERN = "episodes/*"
IAM_POLICIES = ("aws:iam/userPolicy:UserPolicy", "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
                "aws:iam/groupPolicy:GroupPolicy")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _statements(policy: Any) -> Iterable[dict[str, Any]]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            return []
    if not isinstance(policy, dict):
        return []  # unknown during preview: judged at `pulumi up`
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def no_public_bucket(args: Any, report_violation: Report) -> None:
    """No public ACL, no Block Public Access switched off, no unconditioned Allow to everyone."""
    props = args.props
    if args.resource_type in (BUCKET, BUCKET_ACL) and props.get("acl") in PUBLIC_ACLS:
        report_violation(f"{args.name}: acl {props['acl']!r} makes the bucket public")
    if args.resource_type == PUBLIC_ACCESS_BLOCK:
        off = [flag for flag in BLOCK_FLAGS if props.get(flag) is False]
        if off:
            report_violation(f"{args.name}: Block Public Access must be on; off: {', '.join(off)}")
    if args.resource_type == BUCKET_POLICY:
        for statement in _statements(props.get("policy")):
            principal = statement.get("Principal")
            everyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))
            if statement.get("Effect") == "Allow" and everyone and not statement.get("Condition"):
                report_violation(f"{args.name}: statement {statement.get('Sid', '?')} allows everyone")


def no_wildcard_iam(args: Any, report_violation: Report) -> None:
    """IAM policies grant named actions on named resources: no `*`, no `service:*`, no `Resource: *`."""
    if args.resource_type not in IAM_POLICIES:
        return
    for statement in _statements(args.props.get("policy")):
        if statement.get("Effect") != "Allow":
            continue
        wild = [a for a in _as_list(statement.get("Action", [])) if a == "*" or str(a).endswith(":*")]
        if wild:
            report_violation(f"{args.name}: wildcard action {', '.join(wild)} in {statement.get('Sid', 'a statement')}")
        if "*" in _as_list(statement.get("Resource", [])):
            report_violation(f"{args.name}: Resource '*' in {statement.get('Sid', 'a statement')}")


def cdn_serves_audio_signed_only(args: Any, report_violation: Report) -> None:
    """A distribution serves the audio prefix (and everything by default) only to URLs its key group signed,
    over HTTPS."""
    if args.resource_type != DISTRIBUTION:
        return
    props = args.props
    behaviours = [("the default behaviour", props.get("defaultCacheBehavior") or {})]
    behaviours += [(f"the behaviour for {b.get('pathPattern')}", b) for b in props.get("orderedCacheBehaviors") or []
                   if b.get("pathPattern") in (AUDIO_PATTERN, "episodes/", "/episodes/*", "*")]
    for where, behaviour in behaviours:
        if not behaviour.get("trustedKeyGroups") and not behaviour.get("trustedSigners"):
            report_violation(f"{args.name}: {where} serves unsigned viewers: set trusted_key_groups")
        if behaviour.get("viewerProtocolPolicy") == "allow-all":
            report_violation(f"{args.name}: {where} allows plain http: use https-only")


def _buckets_missing(companion: str, args: Any) -> list[str]:
    """Buckets that no resource of type ``companion`` depends on."""
    covered = {dep.urn for r in args.resources if r.resource_type == companion for dep in r.dependencies}
    return [r.name for r in args.resources if r.resource_type == BUCKET and r.urn not in covered]


def buckets_are_encrypted(args: Any, report_violation: Report) -> None:
    for name in _buckets_missing(ENCRYPTION, args):
        report_violation(f"bucket {name} has no BucketServerSideEncryptionConfiguration")


def buckets_block_public_access(args: Any, report_violation: Report) -> None:
    for name in _buckets_missing(PUBLIC_ACCESS_BLOCK, args):
        report_violation(f"bucket {name} has no BucketPublicAccessBlock")


POLICIES = [
    ResourceValidationPolicy(name="s3-no-public-bucket", description=no_public_bucket.__doc__ or "",
                             validate=no_public_bucket, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(name="iam-no-wildcards", description=no_wildcard_iam.__doc__ or "",
                             validate=no_wildcard_iam, enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(name="cdn-signed-urls-only", description=cdn_serves_audio_signed_only.__doc__ or "",
                             validate=cdn_serves_audio_signed_only, enforcement_level=EnforcementLevel.MANDATORY),
    StackValidationPolicy(name="s3-encryption-required", description="every bucket has default encryption",
                          validate=buckets_are_encrypted, enforcement_level=EnforcementLevel.MANDATORY),
    StackValidationPolicy(name="s3-block-public-access-required", description="every bucket blocks public access",
                          validate=buckets_block_public_access, enforcement_level=EnforcementLevel.MANDATORY),
]
