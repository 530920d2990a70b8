"""``ephitup migrate to-s3 | to-local`` and ``ephitup fix-keys``: thin over ``app.moves``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TextIO

from app.databases import PostgresDatabase
from app.moves import FixKeys, Move, Plan, ToLocal, ToS3, ToScaled
from app.records import Records
from app.runtime import Runtime
from app.settings import Settings
from scripts.exit_codes import Exit
from scripts.progress import Progress


def cmd_migrate(args: argparse.Namespace) -> int:
    """Move the environment's episode audio between the disk and S3."""
    with _runtime(args.concurrency) as runtime:
        if args.direction == "to-s3":
            return execute(ToS3(runtime.episodes, keep_local=args.keep_local), args)
        if args.direction == "to-scaled":
            return to_scaled(runtime, args)
        move = ToLocal(runtime.episodes, delete_remote=args.delete_remote)
        plan = move.plan()
        missing = move.missing_space(plan)
        if missing:
            print_plan(plan, sys.stderr)
            print(f"ephitup migrate: the disk lacks {missing / 2**20:.0f} MiB for these downloads (with headroom): "
                  "grow the Render disk (sizeGB), or free space, then rerun", file=sys.stderr)
            return Exit.USAGE
        return execute(move, args, plan)


def to_scaled(runtime: Runtime, args: argparse.Namespace) -> int:
    """Uploads into S3, then the records into TARGET_DATABASE_URL's PostgreSQL, checked; the disk's side unchanged."""
    url = os.environ.get("TARGET_DATABASE_URL")
    if not url:
        print("ephitup migrate to-scaled: set TARGET_DATABASE_URL to the new Render Postgres' internal connection "
              "string (its Info page), in this shell only", file=sys.stderr)
        return Exit.USAGE
    target = Records(PostgresDatabase(url))
    try:
        move = ToScaled(runtime.episodes, target)
        plan = move.plan()
        if plan.problems:
            print_plan(plan, sys.stderr)
            return Exit.USAGE
        code = execute(move, args, plan)
        if code != Exit.OK or args.dry_run:
            return code
        episodes, sources = move.copy_records()
        print(f"records copied to PostgreSQL and checked: {episodes} episodes, {sources} sources")
        return Exit.OK
    finally:
        target.close()


def cmd_fix_keys(args: argparse.Namespace) -> int:
    """Repair references and keys off the canonical layout (copy, verify, switch, delete the old key)."""
    with _runtime(args.concurrency) as runtime:
        return execute(FixKeys(runtime.episodes), args)


def _runtime(concurrency: int) -> Runtime:
    """The environment's runtime with a connection for every worker: with fewer, workers queue for one."""
    settings = Settings.from_env()
    if settings.max_connections < concurrency:
        settings = dataclasses.replace(settings, max_connections=concurrency)
    return Runtime.open(settings, require_s3=True)


def execute(move: Move, args: argparse.Namespace, plan: Plan | None = None) -> int:
    """Print the plan; unless it is a dry run, carry it out with a progress display and print the report."""
    plan = plan or move.plan()
    print_plan(plan, sys.stdout)
    if args.dry_run:
        print("dry run: nothing was changed")
        return Exit.OK
    progress = Progress(len(plan.items), plan.bytes)
    report = move.run(plan, args.concurrency, on_done=lambda item: progress.advance(item.size))
    print(f"done: {report.summary()}")
    for item, error in report.failed:
        print(f"  failed: {item.describe()}: {error}")
    return Exit.FAILED if report.failed or plan.problems else Exit.OK


def print_plan(plan: Plan, out: TextIO, first: int = 10) -> None:
    lines = [f"plan: {plan.summary()}", *(f"  {item.describe()}" for item in plan.items[:first])]
    if len(plan.items) > first:
        lines.append(f"  ... and {len(plan.items) - first} more")
    lines += [f"  cannot: {problem}" for problem in plan.problems]
    print("\n".join(lines), file=out)
