"""``ephitup migrate to-s3 | to-local`` and ``ephitup fix-keys``: thin over ``app.migrations``."""

from __future__ import annotations

import argparse
import sys

from app.migrations import Plan, Report, open_migrator

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_migrate(args: argparse.Namespace) -> int:
    """Move the environment's episode audio between the disk and S3."""
    migrator, close = open_migrator(args.concurrency)
    try:
        if args.direction == "to-s3":
            plan = migrator.plan_to_s3()
            return _execute(plan, args.dry_run, lambda: migrator.to_s3(plan, keep_local=args.keep_local))
        plan = migrator.plan_to_local(delete_remote=args.delete_remote)
        missing = migrator.missing_space(plan)
        if missing:
            plan.print(sys.stderr)
            print(f"ephitup migrate: the disk lacks {missing / 2**20:.0f} MiB for these downloads (with headroom): "
                  "grow the Render disk (sizeGB), or free space, then rerun", file=sys.stderr)
            return EXIT_USAGE
        return _execute(plan, args.dry_run, lambda: migrator.to_local(plan, delete_remote=args.delete_remote))
    finally:
        close()


def cmd_fix_keys(args: argparse.Namespace) -> int:
    """Repair references and keys off the canonical layout (copy, verify, switch, delete the old key)."""
    migrator, close = open_migrator(args.concurrency)
    try:
        plan = migrator.plan_fix_keys()
        return _execute(plan, args.dry_run, lambda: migrator.fix_keys(plan))
    finally:
        close()


def _execute(plan: Plan, dry_run: bool, run) -> int:  # type: ignore[no-untyped-def]
    plan.print(sys.stdout)
    if dry_run:
        print("dry run: nothing was changed")
        return EXIT_OK
    report: Report = run()
    report.print(sys.stdout)
    return EXIT_FAILED if report.failed or plan.problems else EXIT_OK
