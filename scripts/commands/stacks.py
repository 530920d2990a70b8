"""``ephitup stacks``: the environments this repository holds, in the order CI deploys them.

The workflows' matrices come from here, not from a list written in YAML: a stack added as the README says
(a new ``Pulumi.<stack>.yaml``) is previewed, deployed and checked for drift from its first pull request.
A stack that holds CI's own identity (``ephitup:ciRoles``) is not among them: CI never deploys it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from infra.blueprint import known_stacks, load_stack
from scripts.arguments import bind, describe
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class StacksOptions:
    json: bool


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Every Pulumi.<stack>.yaml but CI's own, dev first and prod last: the order CI deploys in.")
    parser.add_argument("--json", action="store_true",
                        help='one line for a GitHub Actions matrix: {"stack": ["dev", ..., "prod"]}')
    bind(parser, list_stacks, StacksOptions)


def deploy_order() -> list[str]:
    names = [name for name in known_stacks() if not load_stack(name).env.ci_roles]
    return sorted(names, key=lambda name: (name == "prod", name != "dev", name))


def list_stacks(options: StacksOptions) -> int:
    names = deploy_order()
    print(json.dumps({"stack": names}) if options.json else "\n".join(names))
    return Exit.OK
