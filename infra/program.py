"""The Pulumi program: one environment's storage, from its stack configuration.

S3 off: no AWS resource and no AWS lookup at all. S3 on: one ``MediaStorage`` component, and with an
access key (``awsAuth: accessKey``, ``deliverKeys: true``) the ``RenderKeyDelivery`` that puts it on the
Render service.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra import names
from infra.ci import CiAccess
from infra.contract import app_env
from infra.environment import Environment, stack_keys
from infra.key_delivery import RenderKeyDelivery
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
    common: dict[str, Any] = {"project": pulumi.get_project(), "stack": pulumi.get_stack()}  # checked against
    if env.ci_roles:
        ci = CiAccess("ci", env, aws.get_caller_identity_output().account_id)
        common |= {"ci_previewer_role_arn": ci.previewer.arn, "ci_deployer_role_arn": ci.deployer.arn}
    if not env.s3_enabled:
        return {**common, "storage_mode": "local", "region": env.region, "app_env": app_env(env)}
    account_id = aws.get_caller_identity_output().account_id
    storage = MediaStorage(names.STORAGE_COMPONENT, env, account_id)
    outputs: dict[str, Any] = {
        **common,
        "storage_mode": "s3",
        "aws_auth": env.aws_auth,
        "bucket_name": storage.bucket.bucket,
        "bucket_arn": storage.bucket.arn,
        "region": env.region,
        "access_point_arn": storage.access_point.arn,
        "access_point_alias": storage.access_point.alias,
    }
    role_arn = storage.role.arn if storage.role is not None else None
    cdn: tuple[pulumi.Input[str], pulumi.Input[str]] | tuple[None, None] = (None, None)
    if storage.cdn is not None:
        cdn = (storage.cdn.distribution.domain_name, storage.cdn.public_key.id)
        outputs |= {"cdn_domain": cdn[0], "cdn_key_id": cdn[1], "cdn_private_key": storage.cdn.private_key_pem}
    outputs["app_env"] = pulumi.Output.all(storage.bucket.bucket, storage.access_point.arn, role_arn, *cdn).apply(
        lambda args: app_env(env, args[0], args[1], args[2], (args[3], args[4]) if args[3] else None))
    if role_arn is not None:
        return {**outputs, "role_arn": role_arn}
    assert storage.user is not None and storage.access_key is not None
    outputs["iam_user_name"] = storage.user.name
    outputs["access_key_id"] = storage.access_key.id
    # Marked here too: Pulumi's mocks do not apply additional_secret_outputs.
    outputs["secret_access_key"] = pulumi.Output.secret(storage.access_key.secret)
    if env.deliver_keys:
        delivery = RenderKeyDelivery("render-keys", env.render_service, env.render_service_id,
                                     storage.access_key.id, storage.access_key.secret,
                                     api_key=pulumi.Config("ephitup").get_secret(names.RENDER_API_KEY_CONFIG))
        outputs["keys_delivered_to"] = delivery.delivered_to
    return outputs


def main() -> None:
    for name, value in define(read_environment()).items():
        pulumi.export(name, value)
