"""``ephitup migrate to-s3 | to-local | to-scaled``: thin over ``app.moves``; each direction has its own flags."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from app.moves import ToLocal, ToS3, ToScaled
from app.runtime import Runtime
from scripts.arguments import add_move_options, bind
from scripts.exit_codes import Exit
from scripts.moving import execute, move_runtime, planned, print_plan

DETAILS = "Reads the app's environment (DATA_FOLDER, S3 settings); safe to kill and rerun."


@dataclass(frozen=True)
class ToS3Options:
    dry_run: bool
    concurrency: int
    keep_local: bool


@dataclass(frozen=True)
class ToLocalOptions:
    dry_run: bool
    concurrency: int
    delete_remote: bool


@dataclass(frozen=True)
class ToScaledOptions:
    dry_run: bool
    concurrency: int


def register(parser: argparse.ArgumentParser) -> None:
    directions = parser.add_subparsers(dest="direction", required=True, metavar="DIRECTION")
    to_s3 = directions.add_parser(
        "to-s3", help="episode audio from the disk to S3",
        description=f"Upload, verify, switch the record, then delete the local copy. {DETAILS}")
    add_move_options(to_s3)
    to_s3.add_argument("--keep-local", action="store_true", help="keep the local copies")
    bind(to_s3, migrate_to_s3, ToS3Options)
    to_local = directions.add_parser("to-local", help="episode audio from S3 to the disk",
                                     description=f"Download, verify, switch the record. {DETAILS}")
    add_move_options(to_local)
    to_local.add_argument("--delete-remote", action="store_true", help="delete the S3 objects afterwards")
    bind(to_local, migrate_to_local, ToLocalOptions)
    to_scaled = directions.add_parser(
        "to-scaled", help="a single-server environment's files and records, ready for the scaled topology",
        description=f"Sources to S3, then the records into TARGET_DATABASE_URL's PostgreSQL, checked. {DETAILS}")
    add_move_options(to_scaled)
    bind(to_scaled, migrate_to_scaled, ToScaledOptions)


def migrate_to_s3(options: ToS3Options) -> int:
    with move_runtime(options.concurrency) as runtime:
        return execute(ToS3(runtime.episodes, keep_local=options.keep_local), options.dry_run, options.concurrency)


def migrate_to_local(options: ToLocalOptions) -> int:
    with move_runtime(options.concurrency) as runtime:
        move = ToLocal(runtime.episodes, delete_remote=options.delete_remote)
        plan = planned(move, options.dry_run)
        missing = move.missing_space(plan)
        if missing:
            print_plan(plan, sys.stderr)
            print(f"ephitup migrate: the disk lacks {missing / 2**20:.0f} MiB for these downloads (with headroom): "
                  "grow the Render disk (sizeGB), or free space, then rerun", file=sys.stderr)
            return Exit.USAGE
        return execute(move, options.dry_run, options.concurrency, plan)


def migrate_to_scaled(options: ToScaledOptions) -> int:
    """Uploads into S3, then the records into TARGET_DATABASE_URL's PostgreSQL, checked; the disk's side unchanged."""
    with move_runtime(options.concurrency) as runtime:
        return _to_scaled(runtime, options)


def _to_scaled(runtime: Runtime, options: ToScaledOptions) -> int:
    target = runtime.target_records()
    try:
        move = ToScaled(runtime.episodes, target)
        plan = planned(move, options.dry_run)
        if plan.problems:
            print_plan(plan, sys.stderr)
            return Exit.USAGE
        code = execute(move, options.dry_run, options.concurrency, plan)
        if code != Exit.OK or options.dry_run:
            return code
        episodes, sources = move.copy_records()
        print(f"records copied to PostgreSQL and checked: {episodes} episodes, {sources} sources")
        return Exit.OK
    finally:
        target.close()
