"""The policy pack's rules, called directly (the pack's server cannot run here), on the resources the
program really declares and on bad ones."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from infra import policies
from infra.policy_pack import rules
from tests.support.pulumi import run_program


def resource(type_: str, name: str, props: dict[str, Any], deps: list[Any] | None = None) -> SimpleNamespace:
    return SimpleNamespace(resource_type=type_, name=name, props=props, urn=f"urn:{name}", dependencies=deps or [])


def violations(rule, args) -> list[str]:  # type: ignore[no-untyped-def]
    found: list[str] = []
    rule(args, lambda message, *_: found.append(message))
    return found


def program_resources() -> list[SimpleNamespace]:
    run = run_program("prod", {"ephitup:s3Enabled": "true"})
    return [resource(r.type, r.name, run.inputs[r.name]) for r in run.registrations if r.type.startswith("aws:")]


def test_the_programs_resources_pass_every_resource_rule() -> None:
    for item in program_resources():
        assert violations(rules.no_public_bucket, item) == []
        assert violations(rules.no_wildcard_iam, item) == []


@pytest.mark.parametrize("item", [
    resource(rules.BUCKET, "b", {"acl": "public-read"}),
    resource(rules.PUBLIC_ACCESS_BLOCK, "pab", {"blockPublicAcls": True, "blockPublicPolicy": False,
                                                 "ignorePublicAcls": True, "restrictPublicBuckets": True}),
    resource(rules.BUCKET_POLICY, "p", {"policy": json.dumps(policies.document({
        "Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*"}))}),
])
def test_a_public_bucket_is_rejected(item: SimpleNamespace) -> None:
    assert len(violations(rules.no_public_bucket, item)) == 1


@pytest.mark.parametrize("statement,expected", [
    ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}, "wildcard action *"),
    ({"Effect": "Allow", "Action": ["s3:GetObject", "s3:*"], "Resource": "arn:aws:s3:::b/*"}, "wildcard action s3:*"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, "Resource '*'"),
])
def test_wildcard_iam_is_rejected(statement: dict[str, Any], expected: str) -> None:
    item = resource("aws:iam/userPolicy:UserPolicy", "up", {"policy": json.dumps(policies.document(statement))})
    (message,) = violations(rules.no_wildcard_iam, item)
    assert expected in message


def test_a_deny_with_wildcards_and_unknown_preview_values_pass() -> None:
    deny = policies.document({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert violations(rules.no_wildcard_iam, resource("aws:iam/policy:Policy", "d", {"policy": json.dumps(deny)})) == []
    assert violations(rules.no_wildcard_iam, resource("aws:iam/policy:Policy", "u", {})) == []


def test_stack_rules_want_encryption_and_block_public_access_for_every_bucket() -> None:
    bucket = resource(rules.BUCKET, "media-bucket", {})
    bare = SimpleNamespace(resources=[bucket])
    assert violations(rules.buckets_are_encrypted, bare) == ["bucket media-bucket has no "
                                                             "BucketServerSideEncryptionConfiguration"]
    assert violations(rules.buckets_block_public_access, bare) == ["bucket media-bucket has no BucketPublicAccessBlock"]
    covered = SimpleNamespace(resources=[bucket, resource(rules.ENCRYPTION, "enc", {}, [bucket]),
                                         resource(rules.PUBLIC_ACCESS_BLOCK, "pab", {}, [bucket])])
    assert violations(rules.buckets_are_encrypted, covered) == []
    assert violations(rules.buckets_block_public_access, covered) == []
