"""ephitup:cdn: CloudFront in front of the bucket (Origin Access Control, signed URLs only), under Pulumi's mocks;
the policy pack's rule; the blueprint of a CDN stack and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra.blueprint import RenderError, StackInput, render, schema_errors, services_of
from infra.environment import ConfigError, Environment
from infra.outputs import OutputsError, check_against
from infra.policy_pack import rules
from tests.infra.test_policy_pack import resource, violations
from tests.support.paths import FIXTURES, GOLDEN, ROOT
from tests.support.pulumi import ACCOUNT, CDN_DISTRIBUTION, CDN_DOMAIN, CDN_KEY_ID, run_program

CDN_ON = {"ephitup:s3Enabled": "true", "ephitup:cdn": "true"}
DISTRIBUTION_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/{CDN_DISTRIBUTION}"
OUTPUTS = {**json.loads((FIXTURES / "prod.outputs.json").read_text()), "cdn_domain": CDN_DOMAIN,
           "cdn_key_id": CDN_KEY_ID}
SCHEMA_FILE = ROOT.parent / "shared" / "schemas" / "render-blueprint.schema.json"


def test_a_cdn_stack_declares_the_distribution_its_access_control_and_its_key_group() -> None:
    run = run_program("prod", CDN_ON)
    (component,) = run.resources("ephitup:cdn:AudioCdn")
    assert component.parent.startswith("ephitup:storage:MediaStorage::")
    for type_ in ("tls:index/privateKey:PrivateKey", "aws:cloudfront/publicKey:PublicKey",
                  "aws:cloudfront/keyGroup:KeyGroup", "aws:cloudfront/originAccessControl:OriginAccessControl",
                  "aws:cloudfront/cachePolicy:CachePolicy", "aws:cloudfront/distribution:Distribution"):
        (child,) = run.resources(type_)
        assert child.parent == f"ephitup:cdn:AudioCdn::{component.name}", type_
    assert run.inputs_of("tls:index/privateKey:PrivateKey").items() >= {"algorithm": "RSA", "rsaBits": 2048}.items()
    access = run.inputs_of("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert (access["originAccessControlOriginType"], access["signingBehavior"], access["signingProtocol"]) == (
        "s3", "always", "sigv4")
    assert run.inputs_of("aws:cloudfront/keyGroup:KeyGroup")["items"] == [CDN_KEY_ID]
    cache = run.inputs_of("aws:cloudfront/cachePolicy:CachePolicy")["parametersInCacheKeyAndForwardedToOrigin"]
    assert cache["queryStringsConfig"] == {"queryStringBehavior": "none"}  # signatures never split the cache
    distribution = run.inputs_of("aws:cloudfront/distribution:Distribution")
    (origin,) = distribution["origins"]
    assert origin["originAccessControlId"] and "s3OriginConfig" not in origin  # OAC, no Origin Access Identity
    (audio,) = distribution["orderedCacheBehaviors"]
    for behaviour in (audio, distribution["defaultCacheBehavior"]):
        assert behaviour["trustedKeyGroups"] and behaviour["viewerProtocolPolicy"] == "https-only"
    assert audio["pathPattern"] == "episodes/*"


def test_the_bucket_lets_only_this_distribution_read_only_the_audio() -> None:
    statements = run_program("prod", CDN_ON).policy("aws:s3/bucketPolicy:BucketPolicy")["Statement"]
    (cdn,) = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert cdn["Action"] == "s3:GetObject" and cdn["Resource"].endswith("/episodes/*")
    assert cdn["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}


def test_the_outputs_carry_the_domain_and_key_id_and_keep_the_private_key_secret() -> None:
    run = run_program("prod", CDN_ON)
    assert (run.outputs["cdn_domain"], run.outputs["cdn_key_id"]) == (CDN_DOMAIN, CDN_KEY_ID)
    assert "cdn_private_key" in run.secret_outputs
    expected = {"AUDIO_DELIVERY": "cdn", "CDN_DOMAIN": CDN_DOMAIN, "CDN_KEY_ID": CDN_KEY_ID}
    assert run.outputs["app_env"].items() >= expected.items()


def test_a_stack_without_the_cdn_declares_none_of_it() -> None:
    run = run_program("prod", {"ephitup:s3Enabled": "true"})
    assert not [r for r in run.registrations if r.type.startswith(("aws:cloudfront", "tls:", "ephitup:cdn"))]
    statements = run.policy("aws:s3/bucketPolicy:BucketPolicy")["Statement"]
    assert not [s for s in statements if "Service" in (s.get("Principal") or {})]
    assert "cdn_domain" not in run.outputs and run.outputs["app_env"]["AUDIO_DELIVERY"] == "proxy"


def test_the_policy_pack_passes_the_programs_distribution_and_refuses_one_open_to_unsigned_viewers() -> None:
    run = run_program("prod", CDN_ON)
    for registration in run.registrations:
        if registration.type.startswith("aws:"):
            item = resource(registration.type, registration.name, run.inputs[registration.name])
            assert violations(rules.cdn_serves_audio_signed_only, item) == []
            assert violations(rules.no_public_bucket, item) == []
    distribution = run.inputs_of("aws:cloudfront/distribution:Distribution")
    open_audio = {**distribution, "orderedCacheBehaviors": [
        {**distribution["orderedCacheBehaviors"][0], "trustedKeyGroups": []}]}
    found = violations(rules.cdn_serves_audio_signed_only, resource(rules.DISTRIBUTION, "cdn", open_audio))
    assert found == ["cdn: the behaviour for episodes/* serves unsigned viewers: set trusted_key_groups"]


def cdn_stack(**config: str) -> Environment:
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    return Environment.from_values("prod", {**document["config"], "ephitup:cdn": "true", **config})


def test_the_blueprint_of_a_cdn_stack_is_golden_and_valid_against_renders_schema() -> None:
    text = render([StackInput(cdn_stack(), OUTPUTS)])
    assert text == (GOLDEN / "cdn.render.yaml").read_text()
    document = yaml.safe_load(text)
    if SCHEMA_FILE.exists():
        assert schema_errors(document, json.loads(SCHEMA_FILE.read_text())) == []
    (service,) = services_of(document)
    variables = {v["key"]: v for v in service["envVars"]}
    assert variables["AUDIO_DELIVERY"]["value"] == "cdn"
    assert (variables["CDN_DOMAIN"]["value"], variables["CDN_KEY_ID"]["value"]) == (CDN_DOMAIN, CDN_KEY_ID)
    assert variables["CDN_PRIVATE_KEY"] == {"key": "CDN_PRIVATE_KEY", "sync": False}


def test_the_cdn_is_refused_with_s3_off_and_outputs_that_are_not_its_own() -> None:
    with pytest.raises(ConfigError, match="ephitup:cdn serves audio from the bucket, but ephitup:s3Enabled is false"):
        Environment.from_values("dev", {"ephitup:cdn": "true"})
    with pytest.raises(RenderError, match="the outputs lack cdn_domain, cdn_key_id"):
        render([StackInput(cdn_stack(), {k: v for k, v in OUTPUTS.items() if not k.startswith("cdn")})])
    with pytest.raises(OutputsError, match="the outputs hold a CDN but ephitup:cdn is off"):
        check_against(cdn_stack(**{"ephitup:cdn": "false"}), OUTPUTS)
    with pytest.raises(OutputsError, match="are not a CloudFront domain"):
        check_against(cdn_stack(), {**OUTPUTS, "cdn_domain": "ephitup-staging.example.com"})
    with pytest.raises(OutputsError, match="stack 'staging'"):
        check_against(cdn_stack(), {**OUTPUTS, "stack": "staging"})


def test_no_cdn_secret_reaches_the_blueprint(tmp_path: Path) -> None:
    text = render([StackInput(cdn_stack(), OUTPUTS)])
    assert "PRIVATE KEY" not in text and "sync: false" in text
