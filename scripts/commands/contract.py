"""``ephitup contract``: the generated contracts, written from their models; ``--check`` fails when one is stale.

``app/env_contract.json`` from the app's settings model (infra/ reads it as data), and ``Pulumi.yaml`` from
the stack model (``infra/environment.py``): each is declared once and never edited by hand.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from scripts.arguments import bind, describe
from scripts.exit_codes import Exit
from scripts.generated import write_or_check


@dataclass(frozen=True)
class ContractOptions:
    check: bool


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "app/env_contract.json from the settings model, Pulumi.yaml from the stack model; never edited "
             "by hand.")
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file is stale")
    bind(parser, write_contracts, ContractOptions)


def write_contracts(options: ContractOptions) -> int:
    from app import contract
    from infra import project_file

    codes = [write_or_check(contract.CONTRACT_FILE, contract.is_current, contract.write, options.check),
             write_or_check(project_file.PROJECT_FILE, project_file.is_current, project_file.write, options.check)]
    return max(codes, default=Exit.OK)
