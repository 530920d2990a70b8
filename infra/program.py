"""The Pulumi program: one environment's storage, from its stack configuration.

S3 off: no AWS resource and no AWS lookup at all. S3 on: one ``MediaStorage`` component.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.contract import app_env
from infra.environment import Environment, stack_keys
from infra.storage import MediaStorage


def read_environment() -> Environment:
    """The stack's configuration, through ``pulumi.Config``, validated with the shared model."""
    values: dict[str, Any] = {}
    for key in stack_keys():
        namespace, name = key.split(":")
        value = pulumi.Config(namespace).get(name)
        if value is not None:
            values[key] = value
    return Environment.from_values(pulumi.get_stack(), values)


def define(env: Environment) -> dict[str, Any]:
    """Declare the environment's resources and return its stack outputs."""
    made_by = {"project": pulumi.get_project(), "stack": pulumi.get_stack()}  # outputs are checked against these
    if not env.s3_enabled:
        return {**made_by, "storage_mode": "local", "region": env.region, "app_env": app_env(env)}
    account_id = aws.get_caller_identity_output().account_id
    storage = MediaStorage("media", env, account_id)
    return {
        **made_by,
        "storage_mode": "s3",
        "bucket_name": storage.bucket.bucket,
        "bucket_arn": storage.bucket.arn,
        "region": env.region,
        "access_point_arn": storage.access_point.arn,
        "access_point_alias": storage.access_point.alias,
        "iam_user_name": storage.user.name,
        "access_key_id": storage.access_key.id,
        # Marked here too: Pulumi's mocks do not apply additional_secret_outputs.
        "secret_access_key": pulumi.Output.secret(storage.access_key.secret),
        "app_env": pulumi.Output.all(storage.bucket.bucket, storage.access_point.arn).apply(
            lambda args: app_env(env, args[0], args[1])),
    }


def main() -> None:
    for name, value in define(read_environment()).items():
        pulumi.export(name, value)
