"""``ephitup orphans``: what the stores hold that no record knows, and records whose data is gone."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from app.inventory import find_orphans, remove
from app.runtime import Runtime
from scripts.arguments import bind, describe, hours, positive
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class OrphansOptions:
    delete: bool
    grace_hours: float
    show: int


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "A dry run unless --delete; only orphans older than the grace period are deleted (an upload "
             "in flight is never touched); records are never deleted. Exit 1 when a dry run finds any.")
    parser.add_argument("--delete", action="store_true", help="remove the orphaned objects and files")
    parser.add_argument("--grace-hours", type=hours, default=24.0,
                        help="leave anything younger alone (default: %(default)s)")
    parser.add_argument("--show", type=positive, default=20, help="items listed per kind (default: %(default)s)")
    bind(parser, orphans, OrphansOptions)


def orphans(options: OrphansOptions) -> int:
    """List (or with --delete, remove) S3 objects and data-folder files no record points at."""
    with Runtime.open() as runtime:
        found = find_orphans(runtime.records, runtime.stores, grace_seconds=options.grace_hours * 3600)
        for title, items in (("S3 objects no record points at", [f"{o.key} ({o.size} bytes)" for o in found.objects]),
                             ("files under DATA_FOLDER no record points at",
                              [f"{f.key} ({f.size} bytes)" for f in found.files]),
                             ("records whose object or file is gone", found.missing),
                             (f"unreferenced but younger than {options.grace_hours:g} h (kept: maybe in flight)",
                              [y.key for y in found.young])):
            print(f"{title}: {len(items)}")
            for item in items[:options.show]:
                print(f"  {item}")
            if len(items) > options.show:
                print(f"  ... and {len(items) - options.show} more")
        if not options.delete:
            print("dry run: nothing was deleted (--delete removes the orphaned objects and files; records are "
                  "never deleted)" if found.objects or found.files else "nothing to delete")
            return Exit.FAILED if found.count else Exit.OK
        failed = remove(found, runtime.stores)
        print(f"deleted {len(found.objects) + len(found.files) - len(failed)} orphaned objects and files; "
              f"{len(failed)} failed")
        for failure in failed:
            print(f"  failed: {failure}")
        return Exit.FAILED if failed or found.missing else Exit.OK
