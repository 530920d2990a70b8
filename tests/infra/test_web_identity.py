"""The app on a web identity, as on Render with awsAuth: oidc: no key anywhere, the role assumed with a
token file through boto3's standard chain, and the role allowed what the old user was and nothing more.

moto evaluates the role's policy (on bucket ARNs, as for the user: see test_policies_enforced.py); it
does not verify the token's signature or the trust policy's conditions (STS would), so those are proven
as documents in test_policies.py. Its IAM enforcement also fails on the unsigned
AssumeRoleWithWebIdentity call itself (it looks for an Authorization header), so the role is assumed
(by the app's own first call) just before enforcement starts; every S3 call after it is judged.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest

from app.compat.s3 import is_s3_configured
from app.runtime import s3_config
from app.settings import Settings
from app.storage import StorageAccessDeniedError
from app.storage.s3 import S3Storage
from app.storage.s3_client import caller_identity
from infra import policies
from tests.support.aws import ACCOUNT, REGION, create_bucket, iam_enforced
from tests.support.pulumi import run_program

WORKSPACE, SUBJECT = "tea-abc123", "evm-prod123:srv-app456"
OIDC = {"ephitup:s3Enabled": "true", "ephitup:awsAuth": "oidc", "ephitup:renderWorkspaceId": WORKSPACE,
        "ephitup:renderOidcSubject": SUBJECT}


@pytest.fixture
def role_env(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The program's role and policy in moto, and the app's environment on Render with only the role."""
    run = run_program("prod", OIDC)
    iam = boto3.client("iam", region_name=REGION)
    provider = iam.create_open_id_connect_provider(Url=f"https://oidc.render.com/{WORKSPACE}",
                                                   ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    trust = policies.render_trust_policy(provider, WORKSPACE, SUBJECT)
    iam.create_role(RoleName="ephitup-prod-app", Path="/ephitup/", AssumeRolePolicyDocument=json.dumps(trust))
    produced = run.policy("aws:iam/rolePolicy:RolePolicy")
    document = policies.rewritten_to_bucket(produced, run.outputs["access_point_arn"], run.outputs["bucket_arn"])
    iam.put_role_policy(RoleName="ephitup-prod-app", PolicyName="app", PolicyDocument=json.dumps(document))
    s3 = boto3.client("s3", region_name=REGION)
    create_bucket(s3, run.outputs["bucket_name"])
    create_bucket(s3, "someone-elses-bucket")
    token = tmp_path / "render-oidc-token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJldm0tcHJvZDEyMzpzcnYtYXBwNDU2In0.c2lnbmF0dXJl")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    env = {"AWS_ROLE_ARN": run.outputs["role_arn"], "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # what boto3's standard chain reads
    return {**env, "DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "auto", "S3_REGION": REGION,
            "S3_BUCKET_NAME": run.outputs["bucket_name"], "S3_MAX_ATTEMPTS": "1"}


def test_a_role_and_its_token_select_s3_without_keys(role_env: dict[str, str]) -> None:
    settings = Settings.from_env(role_env)
    assert settings.uses_role and settings.missing_s3_settings() == []
    assert settings.storage.mode == "s3" and is_s3_configured(role_env)  # the seed's name too
    assert Settings.from_env({**role_env, "AWS_WEB_IDENTITY_TOKEN_FILE": ""}).storage.mode == "local"


def test_the_role_does_what_the_user_did_and_nothing_more(role_env: dict[str, str]) -> None:
    app = S3Storage(s3_config(Settings.from_env(role_env)))
    elsewhere = S3Storage(s3_config(Settings.from_env({**role_env, "S3_BUCKET_NAME": "someone-elses-bucket"})))
    assert caller_identity(app.config).startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/ephitup-prod-app/")
    app.probe(), elsewhere.exists("episodes/none.mp3")  # each client assumes the role once, here
    with iam_enforced():
        app.save_stream("episodes/u1/e1/e1.mp3", io.BytesIO(b"0123456789"), "audio/mpeg")
        assert b"".join(app.open_range("episodes/u1/e1/e1.mp3", 2, 5)) == b"2345"
        assert [s.key for s in app.list("episodes/u1/")] == ["episodes/u1/e1/e1.mp3"]
        app.delete("episodes/u1/e1/e1.mp3")
        with pytest.raises(StorageAccessDeniedError, match="s3:PutObject"):
            app.save_stream("private/notes.txt", io.BytesIO(b"x"), "text/plain")
        with pytest.raises(StorageAccessDeniedError):
            elsewhere.save_stream("episodes/y.mp3", io.BytesIO(b"x"), "audio/mpeg")


def test_the_app_stores_and_plays_on_the_role(role_env: dict[str, str]) -> None:
    """The whole app on the role (what the role may do is judged above: under enforcement, moto cannot
    answer the token refreshes botocore makes ahead of expiry)."""
    from tests.support.live import LiveApp

    with LiveApp(role_env) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "on a role"},
                              files={"audio": ("a.mp3", b"ID3 role audio" * 1000, "audio/mpeg")}).json()
        assert episode["state"] == "stored" and episode["audio_ref"].startswith("s3://")
        assert client.get(episode["audio_url"]).content == b"ID3 role audio" * 1000
        assert client.get("/health").json()["storage"]["mode"] == "s3"
