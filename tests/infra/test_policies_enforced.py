"""The user policy proven, not just read: moto with IAM enforcement on, the app's own storage layer.

The document is the one the program produced (captured from Pulumi's mocks). moto evaluates IAM
policies on bucket ARNs only (DESIGN.md), so it runs here rewritten to the bucket ARNs. Not exercised
by this test, because moto does not evaluate them: the access-point ARN resources themselves, the
access point's own policy, the bucket policy's delegation (``s3:DataAccessPointAccount``) and its
TLS-only deny (moto turns that condition into an unconditional deny).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest

from app.storage import StorageAccessDeniedError
from app.storage.s3 import S3Storage
from app.storage.s3_config import Credentials, S3Config
from app.variables import Secret
from infra import policies
from tests.support.aws import REGION, create_bucket, iam_enforced
from tests.support.pulumi import run_program


def test_the_programs_user_policy_allows_the_app_and_nothing_else(aws: None, tmp_path: Path) -> None:
    run = run_program("prod", {"ephitup:s3Enabled": "true"})
    produced = run.policy("aws:iam/userPolicy:UserPolicy")
    bucket = run.outputs["bucket_name"]
    document = policies.rewritten_to_bucket(produced, run.outputs["access_point_arn"], run.outputs["bucket_arn"])

    s3, iam = boto3.client("s3", region_name=REGION), boto3.client("iam", region_name=REGION)
    create_bucket(s3, bucket)
    create_bucket(s3, "someone-elses-bucket")
    s3.put_object(Bucket="someone-elses-bucket", Key="episodes/x.mp3", Body=b"not yours")
    iam.create_user(UserName=run.outputs["iam_user_name"], Path="/ephitup/")
    iam.put_user_policy(UserName=run.outputs["iam_user_name"], PolicyName="app", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=run.outputs["iam_user_name"])["AccessKey"]

    def storage(bucket_name: str) -> S3Storage:
        return S3Storage(S3Config(bucket_name, region=REGION, max_attempts=1, credentials=Credentials(
            Secret(key["AccessKeyId"]), Secret(key["SecretAccessKey"]))))

    with iam_enforced():
        app = storage(bucket)
        app.save_stream("episodes/u1/e1/e1.mp3", io.BytesIO(b"0123456789"), "audio/mpeg")
        assert b"".join(app.open_range("episodes/u1/e1/e1.mp3", 2, 5)) == b"2345"
        assert app.stat("episodes/u1/e1/e1.mp3").size == 10
        assert [s.key for s in app.list("episodes/u1/")] == ["episodes/u1/e1/e1.mp3"]
        app.delete("episodes/u1/e1/e1.mp3")
        assert not app.exists("episodes/u1/e1/e1.mp3")

        with pytest.raises(StorageAccessDeniedError, match="s3:PutObject"):
            app.save_stream("private/notes.txt", io.BytesIO(b"x"), "text/plain")
        with pytest.raises(StorageAccessDeniedError):
            list(storage("someone-elses-bucket").open_range("episodes/x.mp3"))
        with pytest.raises(StorageAccessDeniedError):
            storage("someone-elses-bucket").save_stream("episodes/y.mp3", io.BytesIO(b"x"), "audio/mpeg")
