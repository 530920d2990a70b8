"""``ephitup deployer-policy``: the least-privilege IAM policy for whoever runs ``pulumi up`` on this program."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from scripts.arguments import account, bind, bucket, describe
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class DeployerPolicyOptions:
    account: str
    bucket: list[str]
    state_bucket: str | None
    read_only: bool


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "For `aws iam create-policy --policy-document file://...`.")
    parser.add_argument("--account", required=True, type=account, help="the 12-digit AWS account id")
    parser.add_argument("--bucket", action="append", default=[], metavar="NAME", type=bucket,
                        help="a bucket name an ephitup:bucketName sets outside ephitup-* (repeatable)")
    parser.add_argument("--state-bucket", metavar="NAME", type=bucket,
                        help="also the bucket of `pulumi login s3://NAME` (Pulumi's state: read, write, list)")
    parser.add_argument("--read-only", action="store_true",
                        help="only the reading actions: enough for `pulumi preview --refresh` (CI's previewer)")
    bind(parser, print_policy, DeployerPolicyOptions)


def print_policy(options: DeployerPolicyOptions) -> int:
    from infra.deployer import deployer_policy, read_only
    from infra.policies import to_json

    policy = deployer_policy(options.account, ("ephitup-*", *options.bucket), options.state_bucket)
    print(to_json(read_only(policy) if options.read_only else policy))
    return Exit.OK
