"""The least-privilege IAM policy for whoever runs ``pulumi up`` on this program (a person or CI).

A pure function, like the app's policies: linted by parliament and proven under moto's IAM enforcement
(tests/infra/test_deployer.py). It covers what pulumi-aws calls to create, read, update and delete the
resources ``MediaStorage`` declares, on names the program gives them (``ephitup-*`` buckets and access
points, IAM users and roles under the ``/ephitup/`` path, the identity provider for Render's OIDC issuer),
and nothing else. A stack whose ``ephitup:bucketName`` does
not start with ``ephitup-`` needs its name added to ``bucket_patterns``.

By design the deployer may set these buckets' policies and lifecycle (the program declares both), so it
could grant itself object access to them: parliament says so, and the test names exactly that finding.
"""

from __future__ import annotations

from infra.policies import Policy, document

BUCKET_ACTIONS = (
    "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketAcl",
    "s3:GetBucketTagging", "s3:PutBucketTagging",
    "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketPolicyStatus",
    "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
    "s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls",
    "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
    "s3:GetBucketVersioning", "s3:PutBucketVersioning",
    "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
    "s3:GetBucketCORS", "s3:PutBucketCORS",
    # read back by pulumi-aws's bucket refresh
    "s3:GetBucketObjectLockConfiguration", "s3:GetBucketWebsite", "s3:GetBucketLogging",
    "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetReplicationConfiguration",
)
ACCESS_POINT_ACTIONS = (
    "s3:CreateAccessPoint", "s3:DeleteAccessPoint", "s3:GetAccessPointPolicy",
    "s3:PutAccessPointPolicy", "s3:DeleteAccessPointPolicy", "s3:GetAccessPointPolicyStatus",
)
USER_ACTIONS = (
    "iam:CreateUser", "iam:GetUser", "iam:DeleteUser", "iam:TagUser", "iam:UntagUser", "iam:ListUserTags",
    "iam:PutUserPolicy", "iam:GetUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies",
    "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser",
    "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
)

ROLE_ACTIONS = (  # awsAuth: oidc
    "iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
    "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
    "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
)
OIDC_PROVIDER_ACTIONS = (
    "iam:CreateOpenIDConnectProvider", "iam:GetOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
)


READ_ONLY_PREFIXES = ("Get", "List", "Describe")


def read_only(policy: Policy) -> Policy:
    """The same statements with only the actions that read (``Get*``, ``List*``, ``Describe*``): enough for
    ``pulumi preview --refresh``, for CI's previewer."""
    statements = []
    for statement in policy["Statement"]:
        actions = [a for a in statement["Action"] if a.split(":", 1)[1].startswith(READ_ONLY_PREFIXES)]
        if actions:
            statements.append({**statement, "Action": actions})
    return document(*statements)


STATE_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject")


def deployer_policy(account_id: str, bucket_patterns: tuple[str, ...] = ("ephitup-*",),
                    state_bucket: str | None = None) -> Policy:
    """``state_bucket``: the bucket of Pulumi's self-managed backend (``pulumi login s3://...``), whose objects
    the deployer reads and writes."""
    state = [{"Sid": "PulumiState", "Effect": "Allow", "Action": list(STATE_ACTIONS),
              "Resource": [f"arn:aws:s3:::{state_bucket}", f"arn:aws:s3:::{state_bucket}/*"]}] if state_bucket else []
    return document(*state,
        {"Sid": "Buckets", "Effect": "Allow", "Action": list(BUCKET_ACTIONS),
         "Resource": [f"arn:aws:s3:::{pattern}" for pattern in bucket_patterns]},
        {"Sid": "AccessPoints", "Effect": "Allow", "Action": list(ACCESS_POINT_ACTIONS),
         "Resource": f"arn:aws:s3:*:{account_id}:accesspoint/ephitup-*"},
        {"Sid": "AppUsers", "Effect": "Allow", "Action": list(USER_ACTIONS),
         "Resource": f"arn:aws:iam::{account_id}:user/ephitup/*"},
        {"Sid": "AppRoles", "Effect": "Allow", "Action": list(ROLE_ACTIONS),
         "Resource": f"arn:aws:iam::{account_id}:role/ephitup/*"},
        {"Sid": "RenderOidcProvider", "Effect": "Allow", "Action": list(OIDC_PROVIDER_ACTIONS),
         "Resource": f"arn:aws:iam::{account_id}:oidc-provider/oidc.render.com/*"},
        {"Sid": "ReadAccessPointsAndWhoAmI", "Effect": "Allow",  # actions IAM grants on "*" only
         "Action": ["s3:GetAccessPoint", "sts:GetCallerIdentity"], "Resource": "*"},
    )
