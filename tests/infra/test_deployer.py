"""The deployer's policy: linted by parliament, and proven under moto's IAM enforcement to allow the calls the
program's resources need, on the program's names only (as far as moto models IAM for each service)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from parliament import analyze_policy_string

from infra import policies
from infra.deployer import deployer_policy
from tests.support.aws import ACCOUNT, REGION, create_bucket, iam_enforced

# The deployer administers these buckets by design: it sets their policy and lifecycle, so parliament rightly
# notes it could grant itself object access. That, and nothing else, is accepted.
BY_DESIGN = {("RESOURCE_POLICY_PRIVILEGE_ESCALATION", "s3:PutBucketPolicy"),
             ("RESOURCE_POLICY_PRIVILEGE_ESCALATION", "s3:PutLifecycleConfiguration")}


def test_parliament_finds_nothing_but_what_deploying_a_bucket_policy_means() -> None:
    findings = analyze_policy_string(json.dumps(deployer_policy(ACCOUNT)), ignore_private_auditors=True).findings
    unexpected = [(f.issue, f.detail) for f in findings
                  if not any(f.issue == issue and action in str(f.detail) for issue, action in BY_DESIGN)]
    assert unexpected == []


def test_no_action_wildcards_and_no_resource_wildcard_but_for_read_only_calls() -> None:
    for statement in deployer_policy(ACCOUNT)["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [a for a in actions if "*" in a]
        if statement["Resource"] == "*":
            assert set(actions) == {"s3:GetAccessPoint", "sts:GetCallerIdentity"}


def as_moto_evaluates_it(policy: dict) -> dict:
    """moto checks IAM and STS calls against the resource "*" (moto/core/authorization.py), never the user's
    ARN, so a path-scoped IAM statement can only be evaluated there with its resource widened. What moto
    then proves for IAM is the action list; the /ephitup/ scoping is checked as data below."""
    widened = ("AppUsers", "AppRoles", "RenderOidcProvider")
    return {**policy, "Statement": [{**st, "Resource": "*"} if st["Sid"] in widened else st
                                    for st in policy["Statement"]]}


def test_app_users_roles_and_the_identity_provider_are_scoped_to_the_programs_names() -> None:
    scoped = {st["Sid"]: st["Resource"] for st in deployer_policy(ACCOUNT)["Statement"]}
    assert scoped["AppUsers"] == f"arn:aws:iam::{ACCOUNT}:user/ephitup/*"  # the path infra/storage.py gives
    assert scoped["AppRoles"] == f"arn:aws:iam::{ACCOUNT}:role/ephitup/*"
    assert scoped["RenderOidcProvider"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.render.com/*"


def test_the_policy_allows_the_programs_calls_on_its_names_and_refuses_others(aws: None) -> None:
    admin_iam = boto3.client("iam", region_name=REGION)
    admin_iam.create_user(UserName="deployer")
    admin_iam.put_user_policy(UserName="deployer", PolicyName="deploy",
                              PolicyDocument=json.dumps(as_moto_evaluates_it(deployer_policy(ACCOUNT))))
    key = admin_iam.create_access_key(UserName="deployer")["AccessKey"]
    create_bucket(boto3.client("s3", region_name=REGION), "someone-elses-bucket")
    as_deployer = {"region_name": REGION, "aws_access_key_id": key["AccessKeyId"],
                   "aws_secret_access_key": key["SecretAccessKey"]}
    s3, iam = boto3.client("s3", **as_deployer), boto3.client("iam", **as_deployer)
    bucket = "ephitup-prod-20261124abcdef"
    with iam_enforced():
        create_bucket(s3, bucket)  # what MediaStorage declares, call by call
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "expire", "Status": "Enabled", "Filter": {},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]})
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://ephitup.onrender.com"]}]})
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "project", "Value": "ephitup"}]})
        s3.get_bucket_versioning(Bucket=bucket)
        iam.create_user(UserName="ephitup-prod-app", Path="/ephitup/", Tags=[{"Key": "project", "Value": "ephitup"}])
        iam.put_user_policy(UserName="ephitup-prod-app", PolicyName="app", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/episodes/*"}]}))
        assert iam.create_access_key(UserName="ephitup-prod-app")["AccessKey"]["UserName"] == "ephitup-prod-app"
        provider = iam.create_open_id_connect_provider(  # awsAuth: oidc
            Url="https://oidc.render.com/tea-abc123", ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
        iam.create_role(RoleName="ephitup-staging-app", Path="/ephitup/", AssumeRolePolicyDocument=json.dumps(
            policies.render_trust_policy(provider, "tea-abc123", "evm-staging:srv-app")))
        iam.put_role_policy(RoleName="ephitup-staging-app", PolicyName="app", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/episodes/*"}]}))

        refused = [
            lambda: create_bucket(s3, "not-ours"),  # another name
            lambda: s3.put_bucket_policy(Bucket="someone-elses-bucket", Policy="{}"),
            lambda: s3.put_object(Bucket=bucket, Key="episodes/x.mp3", Body=b"x"),  # no object access
            lambda: iam.attach_user_policy(UserName="ephitup-prod-app",  # an action the program never calls
                                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
            lambda: iam.attach_role_policy(RoleName="ephitup-staging-app",
                                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
        ]
        for call in refused:
            with pytest.raises(ClientError) as error:
                call()
            assert error.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")


def test_the_cli_prints_the_policy_for_an_account(capsys: pytest.CaptureFixture[str]) -> None:
    from scripts.cli import main

    assert main(["deployer-policy", "--account", ACCOUNT, "--bucket", "acme-podcasts"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == deployer_policy(ACCOUNT, ("ephitup-*", "acme-podcasts"))
    with pytest.raises(SystemExit):
        main(["deployer-policy", "--account", "12"])
    assert "'12' is not an AWS account id" in capsys.readouterr().err


def test_the_state_bucket_the_read_only_variant_and_a_bad_bucket_name(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.deployer import read_only
    from scripts.cli import main

    assert main(["deployer-policy", "--account", ACCOUNT, "--state-bucket", "acme-pulumi-state"]) == 0
    state = json.loads(capsys.readouterr().out)["Statement"][0]
    assert state["Sid"] == "PulumiState" and state["Resource"] == [
        "arn:aws:s3:::acme-pulumi-state", "arn:aws:s3:::acme-pulumi-state/*"]
    assert "s3:PutObject" in state["Action"]
    assert main(["deployer-policy", "--account", ACCOUNT, "--read-only"]) == 0
    assert json.loads(capsys.readouterr().out) == read_only(deployer_policy(ACCOUNT))
    with pytest.raises(SystemExit) as refused:
        main(["deployer-policy", "--account", ACCOUNT, "--bucket", "Bad_Bucket!"])
    assert refused.value.code == 2
    assert "'Bad_Bucket!' is not a bucket name: 3-63 lowercase letters" in capsys.readouterr().err
