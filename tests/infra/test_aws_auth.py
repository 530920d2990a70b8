"""The app's AWS identity per stack: an access key delivered to Render, or an OIDC role with no key at all."""

from __future__ import annotations

import json

import pytest

from infra import policies
from infra.environment import ConfigError
from tests.support.pulumi import ACCOUNT, FAKE_KEY_ID, FAKE_SECRET, run_program

S3_ON = {"ephitup:s3Enabled": "true"}
WORKSPACE = "tea-abc123"
SUBJECT = "evm-prod123:srv-app456"  # as copied from Render for this environment's service
OIDC = {**S3_ON, "ephitup:awsAuth": "oidc", "ephitup:renderWorkspaceId": WORKSPACE,
        "ephitup:renderOidcSubject": SUBJECT}
DELIVERY = "pulumi-python:dynamic:Resource"


def test_an_oidc_stack_declares_no_user_and_no_key() -> None:
    run = run_program("prod", OIDC)
    assert run.resources("aws:iam/user:User") == [] and run.resources("aws:iam/accessKey:AccessKey") == []
    assert run.resources(DELIVERY) == []
    assert "access_key_id" not in run.outputs and "secret_access_key" not in run.outputs
    assert run.outputs["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/ephitup/ephitup-prod-app"
    assert run.outputs["app_env"]["AWS_ROLE_ARN"] == run.outputs["role_arn"]
    assert run.secret_outputs == set()


def test_the_oidc_role_is_trusted_by_this_service_only_and_gets_the_apps_policy() -> None:
    run = run_program("prod", OIDC)
    provider = run.inputs_of("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider["url"] == f"https://oidc.render.com/{WORKSPACE}"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]
    trust = json.loads(run.inputs_of("aws:iam/role:Role")["assumeRolePolicy"])
    assert trust == policies.render_trust_policy(f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.render.com/{WORKSPACE}",
                                                 WORKSPACE, SUBJECT)
    access_point = run.policy("aws:s3control/accessPointPolicy:AccessPointPolicy")
    assert {s["Principal"]["AWS"] for s in access_point["Statement"]} == {run.outputs["role_arn"]}
    assert run.policy("aws:iam/rolePolicy:RolePolicy") == policies.app_user_policy(run.outputs["access_point_arn"])


def test_an_existing_identity_provider_is_used_not_created() -> None:
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.render.com/{WORKSPACE}"
    run = run_program("prod", {**OIDC, "ephitup:renderOidcProviderArn": existing})
    assert run.resources("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    trust = json.loads(run.inputs_of("aws:iam/role:Role")["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Federated": existing}


def test_an_access_key_stack_declares_the_delivery_with_secret_inputs() -> None:
    run = run_program("prod", S3_ON)
    (delivery,) = run.resources(DELIVERY)
    assert delivery.name == "render-keys"
    assert {"access_key_id", "secret_access_key"} <= delivery.secret_inputs
    assert {"access_key_id", "secret_access_key"} <= set(delivery.secret_outputs)
    assert "service_name" not in delivery.secret_inputs
    inputs = run.inputs[delivery.name]
    assert inputs["service_name"] == "ephitup-prod" and inputs["service_id"] == ""
    assert "render_api_key" not in json.dumps(inputs, default=str).lower()  # the API key is never an input


def test_an_api_key_kept_with_the_stack_is_a_secret_input_of_the_delivery() -> None:
    run = run_program("prod", {**S3_ON, "ephitup:renderApiKey": "rnd_kept_with_the_stack"})
    (delivery,) = run.resources(DELIVERY)
    assert "api_key" in delivery.secret_inputs and "api_key" in delivery.secret_outputs
    assert "rnd_kept_with_the_stack" not in json.dumps(run.outputs, default=str)


def test_delivery_can_be_turned_off_for_the_manual_path() -> None:
    run = run_program("prod", {**S3_ON, "ephitup:deliverKeys": "false"})
    assert run.resources(DELIVERY) == [] and run.outputs["access_key_id"] == FAKE_KEY_ID
    assert FAKE_SECRET not in json.dumps({k: v for k, v in run.outputs.items() if k != "secret_access_key"})


@pytest.mark.parametrize("config,named", [
    ({"ephitup:awsAuth": "oidc"}, "renderWorkspaceId"),
    ({"ephitup:awsAuth": "oidc", "ephitup:renderWorkspaceId": WORKSPACE}, "renderOidcSubject"),
    ({"ephitup:awsAuth": "oidc", "ephitup:renderWorkspaceId": WORKSPACE, "ephitup:renderOidcSubject": "evm-*"},
     "renderOidcSubject"),
    ({"ephitup:awsAuth": "role"}, "awsAuth"),
])
def test_an_incomplete_oidc_stack_is_refused_naming_the_key(config: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=f"ephitup:{named}"):
        run_program("prod", {**S3_ON, **config})
