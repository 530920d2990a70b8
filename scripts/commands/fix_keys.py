"""``ephitup fix-keys``: references and keys off the canonical layout, repaired (copy, verify, switch, delete)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from app.moves import FixKeys
from scripts.arguments import add_move_options, bind
from scripts.moving import execute, move_runtime


@dataclass(frozen=True)
class FixKeysOptions:
    dry_run: bool
    concurrency: int


def register(parser: argparse.ArgumentParser) -> None:
    add_move_options(parser)
    bind(parser, fix_keys, FixKeysOptions)


def fix_keys(options: FixKeysOptions) -> int:
    with move_runtime(options.concurrency) as runtime:
        return execute(FixKeys(runtime.episodes), options.dry_run, options.concurrency)
