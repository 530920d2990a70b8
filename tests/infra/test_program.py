"""The Pulumi program under Pulumi's mocks: toggles, parenting, security settings, outputs, config errors."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.environment import ConfigError
from tests.support.paths import ROOT
from tests.support.pulumi import ACCOUNT, FAKE_SECRET, run_program

S3_ON = {"ephitup:s3Enabled": "true"}


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]  # type: ignore[no-any-return]


def test_s3_off_makes_no_resource_and_no_invoke() -> None:
    run = run_program("dev", stack_config("dev"))
    assert [r.type for r in run.registrations] == ["pulumi:pulumi:Stack"]
    assert run.invokes == []
    assert run.outputs["storage_mode"] == "local"
    assert (run.outputs["project"], run.outputs["stack"]) == ("ephitup", "dev")  # what outputs are checked against
    assert run.outputs["app_env"]["STORAGE_MODE"] == "local"
    assert "S3_BUCKET_NAME" not in run.outputs["app_env"]


def test_s3_on_puts_every_child_under_one_component() -> None:
    run = run_program("prod", stack_config("prod"))
    (component,) = run.resources("ephitup:storage:MediaStorage")
    children = [r for r in run.registrations if r.type.startswith("aws:")]
    assert len(children) == 13
    assert all(r.parent.endswith("ephitup:storage:MediaStorage::media") for r in children)
    assert run.invokes == ["aws:index/getCallerIdentity:getCallerIdentity"]


def test_bucket_is_protected_and_retained_when_retain_bucket_is_true() -> None:
    (bucket,) = run_program("prod", S3_ON).resources("aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete
    (bucket,) = run_program("prod", {**S3_ON, "ephitup:retainBucket": "false"}).resources("aws:s3/bucket:Bucket")
    assert not bucket.protect and not bucket.retain_on_delete


def test_bucket_name_is_configured_or_prefixed_by_the_stack() -> None:
    assert run_program("prod", S3_ON).inputs_of("aws:s3/bucket:Bucket")["bucketPrefix"] == "ephitup-prod-"
    named = run_program("prod", {**S3_ON, "ephitup:bucketName": "acme-podcasts"})
    assert named.inputs_of("aws:s3/bucket:Bucket")["bucket"] == "acme-podcasts"
    assert named.outputs["bucket_name"] == "acme-podcasts"


def test_security_settings_on_the_resource_inputs() -> None:
    run = run_program("prod", stack_config("prod"))
    block = run.inputs_of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    ownership = run.inputs_of("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    (rule,) = run.inputs_of(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]
    versioning = run.inputs_of("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    rules = {r["id"]: r for r in run.inputs_of(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
    access_point = run.inputs_of("aws:s3/accessPoint:AccessPoint")
    assert access_point["name"] == "ephitup-prod"
    assert all(access_point["publicAccessBlockConfiguration"][k] is True for k in (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    (key,) = run.resources("aws:iam/accessKey:AccessKey")
    assert "secret" in key.secret_outputs


def test_bucket_policy_denies_plain_http_and_delegates_to_the_accounts_access_points() -> None:
    policy = run_program("prod", S3_ON).policy("aws:s3/bucketPolicy:BucketPolicy")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    delegate = statements["DelegateToAccountAccessPoints"]
    assert delegate["Condition"] == {"StringEquals": {"s3:DataAccessPointAccount": ACCOUNT}}


def test_user_and_access_point_policies_name_the_access_point_and_the_user() -> None:
    run = run_program("prod", S3_ON)
    ap_arn = run.outputs["access_point_arn"]
    user_policy = run.policy("aws:iam/userPolicy:UserPolicy")
    assert {r for s in user_policy["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                           else s["Resource"])} == {
        ap_arn, f"{ap_arn}/object/episodes/*", f"{ap_arn}/object/uploads/*", f"{ap_arn}/object/backups/records/*"}
    ap_policy = run.policy("aws:s3control/accessPointPolicy:AccessPointPolicy")
    assert {s["Principal"]["AWS"] for s in ap_policy["Statement"]} == {
        f"arn:aws:iam::{ACCOUNT}:user/ephitup/ephitup-prod-app"}


def test_cors_only_when_origins_are_configured() -> None:
    assert run_program("prod", S3_ON).resources("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration") == []
    run = run_program("prod", stack_config("prod"))
    (rule,) = run.inputs_of("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")["corsRules"]
    assert rule["allowedOrigins"] == ["https://ephitup-prod.onrender.com"]
    assert rule["allowedMethods"] == ["GET", "HEAD"] and "Content-Range" in rule["exposeHeaders"]


def test_outputs_are_present_and_the_secret_one_is_secret() -> None:
    run = run_program("prod", stack_config("prod"))
    assert set(run.outputs) == {"project", "stack", "storage_mode", "aws_auth", "bucket_name", "bucket_arn", "region",
                                "access_point_arn", "access_point_alias", "iam_user_name", "access_key_id",
                                "secret_access_key", "app_env", "keys_delivered_to"}
    assert run.secret_outputs == {"secret_access_key"}
    assert run.outputs["app_env"] == {
        "DATA_FOLDER": "/mydata", "STORAGE_MODE": "s3", "S3_BUCKET_NAME": run.outputs["bucket_name"],
        "S3_ACCESS_POINT": run.outputs["access_point_arn"], "S3_REGION": "us-east-2", "AUDIO_DELIVERY": "proxy",
        "MAX_UPLOAD_MB": "200", "UPLOAD_IDLE_SECONDS": "30", "STREAM_READERS": "8",
        "DATABASE_STATEMENT_SECONDS": "15", "S3_CONNECT_TIMEOUT": "3", "S3_READ_TIMEOUT": "10", "S3_MAX_ATTEMPTS": "3",
        "S3_MAX_CONNECTIONS": "32", "RECONCILE_INTERVAL_SECONDS": "30", "RECORDS_BACKUP_MINUTES": "60",
        "HEALTH_CHECK_SECONDS": "15", "PENDING_ALERT_MINUTES": "15", "TOPOLOGY": "single",
        "DISK_DEGRADED_PERCENT": "80", "DISK_ERROR_PERCENT": "95"}
    assert FAKE_SECRET not in repr(run.outputs["app_env"])


@pytest.mark.parametrize("key,value", [("ephitup:bucketName", "Bad_Bucket"), ("ephitup:bucketName", "a..b"),
                                       ("ephitup:mountPath", "mydata"), ("ephitup:diskSizeGB", "0"),
                                       ("ephitup:diskSizeGB", "ten"), ("ephitup:renderPlan", "free"),
                                       ("ephitup:s3Enabled", "yes"), ("ephitup:renderRegion", "mars")])
def test_config_errors_name_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        run_program("prod", {**S3_ON, key: value})
    assert key in str(error.value) and "stack prod" in str(error.value) and repr(value) in str(error.value)


def test_no_deprecated_pulumi_aws_resource_is_used() -> None:
    types = {r.type for r in run_program("prod", stack_config("prod")).registrations}
    assert not [t for t in types if t.endswith("V2") or "/bucketV2:" in t]
