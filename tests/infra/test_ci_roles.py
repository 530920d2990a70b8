"""CI's identity with no key: GitHub's OIDC tokens assume a previewer (pull requests, the default branch) or a
deployer (a GitHub environment named after a stack), and nothing else does. The trust policies are pure
functions linted by parliament; under moto, with STS's trust check restored (tests/support/trust.py)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import deployer, policies
from infra.ci import CI_PATH
from tests.infra.test_policies import lint, lint_trust
from tests.support.aws import ACCOUNT, REGION
from tests.support.pulumi import run_program
from tests.support.trust import token_for, trust_checked

# moto's serializer knows no STS error shape for AccessDenied; the code and message still reach boto3 intact
pytestmark = pytest.mark.filterwarnings("ignore:Exception\\(STSClientError\\):UserWarning")
REPOSITORY, IDS = "octo-org/ephitup", "123456/789012"
CI = {"ephitup:ciRoles": "true", "ephitup:githubRepository": REPOSITORY, "ephitup:githubIds": IDS}
ISSUER = f"https://{policies.GITHUB_ISSUER}"


def claims(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    return {"iss": ISSUER, "aud": aud, "sub": sub, "repository": REPOSITORY}


def test_a_ci_stack_declares_the_provider_and_two_roles_trusted_exactly() -> None:
    run = run_program("ci", CI)
    assert len(run.resources("ephitup:ci:CiAccess")) == 1
    assert run.inputs_of("aws:iam/openIdConnectProvider:OpenIdConnectProvider")["url"] == ISSUER
    roles = {r.name: run.inputs[r.name] for r in run.resources("aws:iam/role:Role")}
    assert {role["path"] for role in roles.values()} == {CI_PATH}  # out of the deployer policy's reach
    previewer = json.loads(roles["ci-previewer"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert previewer == {f"{policies.GITHUB_ISSUER}:aud": "sts.amazonaws.com", f"{policies.GITHUB_ISSUER}:sub": [
        f"repo:{REPOSITORY}:pull_request", "repo:octo-org@123456/ephitup@789012:pull_request",
        f"repo:{REPOSITORY}:ref:refs/heads/main", "repo:octo-org@123456/ephitup@789012:ref:refs/heads/main"]}
    deploy = json.loads(roles["ci-deployer"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert deploy[f"{policies.GITHUB_ISSUER}:sub"] == [
        f"repo:{REPOSITORY}:environment:dev", "repo:octo-org@123456/ephitup@789012:environment:dev",
        f"repo:{REPOSITORY}:environment:prod", "repo:octo-org@123456/ephitup@789012:environment:prod"]
    assert set(run.outputs) >= {"ci_previewer_role_arn", "ci_deployer_role_arn"}


def test_a_stack_without_ci_roles_declares_none() -> None:
    run = run_program("dev", {})
    assert not run.resources("ephitup:ci:CiAccess") and "ci_deployer_role_arn" not in run.outputs


def test_the_trust_policies_and_the_read_only_policy_pass_parliament() -> None:
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{policies.GITHUB_ISSUER}"
    trust = policies.github_trust_policy(provider, policies.github_subjects(REPOSITORY, IDS, "pull_request"))
    assert lint_trust(trust, provider, r"token\.actions\.githubusercontent\.com") == []
    read_only = deployer.read_only(deployer.deployer_policy(ACCOUNT))
    assert lint(read_only) == []
    actions = [a for s in read_only["Statement"] for a in s["Action"]]
    assert actions and all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in actions)
    assert "s3:PutBucketPolicy" not in actions and "iam:CreateRole" not in actions


@pytest.fixture
def roles(aws: None, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    iam = boto3.client("iam", region_name=REGION)
    provider = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["sts.amazonaws.com"])[
        "OpenIDConnectProviderArn"]
    previewer = policies.github_subjects(REPOSITORY, IDS, "pull_request") + policies.github_subjects(
        REPOSITORY, IDS, "ref:refs/heads/main")
    deploy = policies.github_subjects(REPOSITORY, IDS, "environment:prod")
    arns = {name: iam.create_role(RoleName=f"ephitup-ci-{name}", Path=CI_PATH, AssumeRolePolicyDocument=json.dumps(
        policies.github_trust_policy(provider, subjects)))["Role"]["Arn"]
            for name, subjects in (("previewer", previewer), ("deployer", deploy))}
    with trust_checked(monkeypatch):
        yield arns


def assumes(role_arn: str, token_claims: dict[str, str]) -> bool:
    sts = boto3.client("sts", region_name=REGION)
    try:
        sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="ci", WebIdentityToken=token_for(
            token_claims))
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False
    return True


@pytest.mark.parametrize("sub,previewer,deployer_", [
    (f"repo:{REPOSITORY}:pull_request", True, False),
    ("repo:octo-org@123456/ephitup@789012:pull_request", True, False),  # the id form
    (f"repo:{REPOSITORY}:ref:refs/heads/main", True, False),  # the nightly drift check
    (f"repo:{REPOSITORY}:environment:prod", False, True),
    ("repo:octo-org@123456/ephitup@789012:environment:prod", False, True),
    ("repo:someone/ephitup:pull_request", False, False),  # a fork's pull request runs in the fork's name
    ("repo:octo-org/other-repo:pull_request", False, False),
    (f"repo:{REPOSITORY}:ref:refs/heads/feature", False, False),  # another branch
    (f"repo:{REPOSITORY}:environment:staging", False, False),  # an environment that is not a deploy stack
    ("repo:octo-org@999999/ephitup@789012:pull_request", False, False),  # same names, another owner id
])
def test_only_this_repositorys_runs_get_a_role_and_only_the_right_one(roles, sub: str, previewer: bool,
                                                                      deployer_: bool) -> None:  # type: ignore[no-untyped-def]
    assert assumes(roles["previewer"], claims(sub)) is previewer
    assert assumes(roles["deployer"], claims(sub)) is deployer_


def test_a_token_for_another_audience_is_refused(roles) -> None:  # type: ignore[no-untyped-def]
    assert not assumes(roles["previewer"], claims(f"repo:{REPOSITORY}:pull_request", aud="https://github.com/octo-org"))
