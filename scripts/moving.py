"""What ``migrate`` and ``fix-keys`` share: the runtime a move needs, its plan printed, and the plan carried out."""

from __future__ import annotations

import dataclasses
import sys
from typing import TextIO

from app.moves import Move, Plan
from app.runtime import Runtime
from app.settings import Settings
from scripts.exit_codes import Exit
from scripts.progress import Progress


def move_runtime(concurrency: int) -> Runtime:
    """The environment's runtime with a connection for every worker: with fewer, workers queue for one."""
    settings = Settings.from_env()
    if settings.max_connections < concurrency:
        settings = dataclasses.replace(settings, max_connections=concurrency)
    return Runtime.open(settings, require_s3=True)


SHOWN = 10  # units of work a plan prints; a dry run's plan holds no more (its memory stays flat at any size)


def planned(move: Move, dry_run: bool) -> Plan:
    return move.plan(held=SHOWN if dry_run else None)


def execute(move: Move, dry_run: bool, concurrency: int, plan: Plan | None = None) -> int:
    """Print the plan; unless it is a dry run, carry it out with a progress display and print the report."""
    plan = plan or planned(move, dry_run)
    print_plan(plan, sys.stdout)
    if dry_run:
        print("dry run: nothing was changed")
        return Exit.OK
    progress = Progress(plan.total, plan.bytes)
    report = move.run(plan, concurrency, on_done=lambda item, moved: progress.advance(item.size, moved))
    print(f"done: {report.summary()}")
    for item, error in report.failed:
        print(f"  failed: {item.describe()}: {error}")
    return Exit.FAILED if report.failed or plan.problems else Exit.OK


def print_plan(plan: Plan, out: TextIO, first: int = SHOWN) -> None:
    work = plan.work
    lines = [f"plan: {plan.summary()}", *(f"  {item.describe()}" for item in work[:first])]
    if plan.total > first:
        lines.append(f"  ... and {plan.total - first} more")
    lines += [f"  cannot: {problem}" for problem in plan.problems]
    print("\n".join(lines), file=out)
