"""The policy documents as pure functions: shape, least privilege, and a lint by parliament."""

from __future__ import annotations

import json
import re

import pytest
from parliament import analyze_policy_string

from infra import policies

AP = "arn:aws:s3:us-east-2:123456789012:accesspoint/ephitup-prod"
BUCKET = "arn:aws:s3:::ephitup-prod-media"
USER = "arn:aws:iam::123456789012:user/ephitup/ephitup-prod-app"
DOCUMENTS = {
    "user": policies.app_user_policy(AP),
    "access point": policies.access_point_policy(AP, USER),
    "bucket": policies.bucket_policy(BUCKET, "123456789012"),
}


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@pytest.mark.parametrize("name", DOCUMENTS)
def test_valid_json_without_wildcard_grants(name: str) -> None:
    document = json.loads(policies.to_json(DOCUMENTS[name]))
    assert document["Version"] == "2012-10-17"
    for statement in document["Statement"]:
        assert statement["Resource"] != "*" and "*" not in as_list(statement["Resource"])
        if statement["Effect"] == "Allow":
            assert not {"*", "s3:*"} & set(as_list(statement["Action"]))


@pytest.mark.parametrize("name", ["user", "access point"])
def test_every_granted_object_arn_sits_under_an_allowed_prefix(name: str) -> None:
    allowed = tuple(f"{AP}/object/{prefix}" for prefix in policies.APP_PREFIXES)
    for statement in DOCUMENTS[name]["Statement"]:
        for resource in as_list(statement["Resource"]):
            assert resource == AP or resource.startswith(allowed)
        if "s3:ListBucket" in as_list(statement["Action"]):
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["episodes/*", "uploads/*",
                                                                            "backups/records/*"]}}


def test_the_user_gets_only_the_actions_the_app_uses() -> None:
    actions = {a for s in DOCUMENTS["user"]["Statement"] for a in as_list(s["Action"])}
    assert actions == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListBucket"}


def test_rewriting_to_bucket_arns_keeps_actions_and_conditions() -> None:
    rewritten = policies.rewritten_to_bucket(DOCUMENTS["user"], AP, BUCKET)
    assert [as_list(s["Resource"]) for s in rewritten["Statement"]] == [
        [f"{BUCKET}/episodes/*", f"{BUCKET}/uploads/*", f"{BUCKET}/backups/records/*"], [BUCKET]]
    assert [s["Action"] for s in rewritten["Statement"]] == [s["Action"] for s in DOCUMENTS["user"]["Statement"]]


def lint(document: dict) -> list:  # type: ignore[type-arg]
    """parliament's findings, less one it cannot judge: its action database (1.6.x) predates
    access-point ARNs, so it reports RESOURCE_MISMATCH for object actions on ``.../accesspoint/...``
    resources that AWS documents as valid. Only findings whose statement uses access-point ARNs
    exclusively are dropped; everything else fails the test."""
    findings = analyze_policy_string(json.dumps(document), ignore_private_auditors=True).findings
    access_point_only = all(":accesspoint/" in r for s in document["Statement"] for r in as_list(s["Resource"]))
    return [f for f in findings if not (f.issue == "RESOURCE_MISMATCH" and access_point_only)]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_parliament_finds_nothing(name: str) -> None:
    assert lint(DOCUMENTS[name]) == []


def test_parliament_judges_the_bucket_arn_form_without_any_filter() -> None:
    findings = analyze_policy_string(json.dumps(policies.rewritten_to_bucket(DOCUMENTS["user"], AP, BUCKET)),
                                     ignore_private_auditors=True).findings
    assert findings == []


def test_parliament_still_catches_a_bad_policy() -> None:
    bad = policies.document({"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": f"{AP}/object/episodes/*"})
    assert [f.issue for f in lint(bad)] == ["UNKNOWN_ACTION"]


PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.render.com/tea-abc123"
TRUST = policies.render_trust_policy(PROVIDER, "tea-abc123", "evm-prod123:srv-app456")


def test_the_role_trusts_one_render_service_through_the_workspace_issuer() -> None:
    (statement,) = TRUST["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {"oidc.render.com/tea-abc123:aud": "sts.amazonaws.com",
                                                       "oidc.render.com/tea-abc123:sub": "evm-prod123:srv-app456"}}


def lint_trust(document: dict, provider: str = PROVIDER, issuer: str = r"oidc\.render\.com/tea-[a-z0-9]+") -> list:  # type: ignore[type-arg]
    """parliament (1.6.x) reads every document as an identity policy: a trust policy (which has no
    Resource) is only MALFORMED to it, so it is linted with ``"Resource": "*"`` added, and the findings
    that addition and its limits cause are dropped: RESOURCE_STAR (the added Resource), and for this
    custom issuer, which its database cannot know, UNKNOWN_FEDERATION_SOURCE and
    UNKNOWN_CONDITION_FOR_ACTION on the issuer's own ``:aud``/``:sub`` keys. Anything else fails."""
    linted = {**document, "Statement": [{**s, "Resource": "*"} for s in document["Statement"]]}
    findings = analyze_policy_string(json.dumps(linted), ignore_private_auditors=True).findings
    issuer_keys = re.compile(rf"Unknown condition {issuer}:(aud|sub) for action ")
    return [f for f in findings if f.issue != "RESOURCE_STAR"
            and not (f.issue == "UNKNOWN_FEDERATION_SOURCE" and f.detail == provider)
            and not (f.issue == "UNKNOWN_CONDITION_FOR_ACTION" and issuer_keys.match(str(f.detail)))]


def test_parliament_finds_nothing_else_in_the_trust_policy() -> None:
    assert lint_trust(TRUST) == []


@pytest.mark.parametrize("typo,finding", [("sts:AssumeRoleWithWebIdentty", "UNKNOWN_ACTION"),
                                          ("StringEqualz", "UNKNOWN_OPERATOR")])
def test_parliament_still_catches_a_bad_trust_policy(typo: str, finding: str) -> None:
    right = "sts:AssumeRoleWithWebIdentity" if typo.startswith("sts:") else "StringEquals"
    bad = json.loads(json.dumps(TRUST).replace(right, typo))
    assert finding in [f.issue for f in lint_trust(bad)]
