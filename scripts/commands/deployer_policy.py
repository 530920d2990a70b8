"""``ephitup deployer-policy``: the least-privilege IAM policy for whoever runs ``pulumi up`` on this program."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from scripts.arguments import account, bind, describe
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class DeployerPolicyOptions:
    account: str
    bucket: list[str]


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "For `aws iam create-policy --policy-document file://...`.")
    parser.add_argument("--account", required=True, type=account, help="the 12-digit AWS account id")
    parser.add_argument("--bucket", action="append", default=[], metavar="NAME",
                        help="a bucket name an ephitup:bucketName sets outside ephitup-* (repeatable)")
    bind(parser, print_policy, DeployerPolicyOptions)


def print_policy(options: DeployerPolicyOptions) -> int:
    from infra.deployer import deployer_policy
    from infra.policies import to_json

    print(to_json(deployer_policy(options.account, ("ephitup-*", *options.bucket))))
    return Exit.OK
