"""``MediaStorage``: one environment's S3 bucket, access point and the app's least-privilege identity.

The identity is an IAM user with an access key (``awsAuth: accessKey``), or a role that only Render's
OIDC tokens for this environment's service may assume (``awsAuth: oidc``: no user, no key). Either
gets the same policy and is the only principal the access point admits. Every child sets
``parent=self``; the access key's secret is marked with ``additional_secret_outputs`` so it is
encrypted in state from the moment it exists.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra import names, policies
from infra.cdn import AudioCdn, AudioCdnArgs
from infra.environment import Environment

ABORT_MULTIPART_AFTER_DAYS = 7


class MediaStorage(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    access_point: aws.s3.AccessPoint
    user: aws.iam.User | None = None
    access_key: aws.iam.AccessKey | None = None
    role: aws.iam.Role | None = None
    cdn: AudioCdn | None = None
    app_policy_document: pulumi.Output[str]

    def __init__(self, name: str, env: Environment, account_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(names.STORAGE_COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"project": "ephitup", "environment": env.stack, "managed-by": "pulumi"}
        self.bucket = self._bucket(name, env, tags, account_id)
        self.access_point = aws.s3.AccessPoint(
            f"{name}-access-point", bucket=self.bucket.id, name=env.access_point_name,
            public_access_block_configuration={
                "block_public_acls": True, "block_public_policy": True,
                "ignore_public_acls": True, "restrict_public_buckets": True,
            },
            opts=child,
        )
        self.app_policy_document = self.access_point.arn.apply(
            lambda arn: policies.to_json(policies.app_user_policy(arn)))
        principal_arn = self._role(name, env, tags) if env.aws_auth == "oidc" else self._user(name, env, tags)
        aws.s3control.AccessPointPolicy(
            f"{name}-access-point-policy", access_point_arn=self.access_point.arn,
            policy=pulumi.Output.all(self.access_point.arn, principal_arn).apply(
                lambda args: policies.to_json(policies.access_point_policy(args[0], args[1]))),
            opts=child,
        )
        self.register_outputs({
            "bucket_name": self.bucket.bucket,
            "access_point_arn": self.access_point.arn,
            "app_principal_arn": principal_arn,
        })

    def _bucket(self, name: str, env: Environment, tags: dict[str, str],
                account_id: pulumi.Input[str]) -> aws.s3.Bucket:
        """The bucket, private and encrypted, versioned with an expiry, its policy; CORS where origins are set."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=env.bucket_name,
            bucket_prefix=None if env.bucket_name else names.bucket_prefix(env.stack),
            force_destroy=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=env.retain_bucket,
                                        retain_on_delete=env.retain_bucket),
        )
        bucket_id = bucket.id
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket_id,
            rules=[{
                "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                "blocked_encryption_types": ["SSE-C"],  # S3's default since April 2026, stated explicitly
            }],
            opts=child,
        )
        self._versions(name, env, bucket_id)
        distribution_arn: pulumi.Input[str | None] = None
        if env.cdn:
            self.cdn = AudioCdn(f"{name}-cdn", AudioCdnArgs(bucket.bucket_regional_domain_name, env.cdn_price_class,
                                                            env.stack), opts=child)
            distribution_arn = self.cdn.distribution.arn
        aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket_id,
            policy=pulumi.Output.all(bucket.arn, account_id, distribution_arn).apply(
                lambda args: policies.to_json(policies.bucket_policy(args[0], args[1], args[2]))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        if env.cors_origins:
            aws.s3.BucketCorsConfiguration(
                f"{name}-cors", bucket=bucket_id,
                cors_rules=[{
                    "allowed_methods": ["GET", "HEAD"],
                    "allowed_origins": list(env.cors_origins),
                    "allowed_headers": ["Range", "If-Range"],
                    "expose_headers": ["Accept-Ranges", "Content-Range", "Content-Length", "ETag"],
                    "max_age_seconds": 3600,
                }],
                opts=child,
            )
        return bucket

    def _versions(self, name: str, env: Environment, bucket_id: pulumi.Input[str]) -> None:
        """Versioning, and a lifecycle that expires old versions and aborts forgotten multipart uploads."""
        child = pulumi.ResourceOptions(parent=self)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}, opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket_id,
            rules=[
                {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                 "noncurrent_version_expiration": {"noncurrent_days": env.noncurrent_version_days}},
                {"id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {},
                 "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_AFTER_DAYS}},
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )

    def _user(self, name: str, env: Environment, tags: dict[str, str]) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        self.user = aws.iam.User(f"{name}-app-user", name=names.app_identity(env.stack), path=names.IAM_PATH,
                                 tags=tags, opts=child)
        aws.iam.UserPolicy(f"{name}-app-user-policy", user=self.user.name, policy=self.app_policy_document,
                           opts=child)
        self.access_key = aws.iam.AccessKey(
            names.child(name, names.ACCESS_KEY), user=self.user.name,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secret"]),
        )
        return self.user.arn

    def _role(self, name: str, env: Environment, tags: dict[str, str]) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        provider_arn: pulumi.Input[str] = env.render_oidc_provider_arn
        if not env.render_oidc_provider_arn:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-render-oidc", url=f"https://{policies.render_oidc_issuer(env.render_workspace_id)}",
                client_id_lists=[policies.OIDC_AUDIENCE], tags=tags, opts=child).arn
        self.role = aws.iam.Role(
            f"{name}-app-role", name=names.app_identity(env.stack), path=names.IAM_PATH, tags=tags,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: policies.to_json(policies.render_trust_policy(
                    arn, env.render_workspace_id, env.render_oidc_subject))),
            opts=child)
        aws.iam.RolePolicy(f"{name}-app-role-policy", role=self.role.name, policy=self.app_policy_document,
                           opts=child)
        return self.role.arn
