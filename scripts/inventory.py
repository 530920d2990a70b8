"""``ephitup orphans`` and ``ephitup usage``: what the stores hold that no record knows, and the space used."""

from __future__ import annotations

import argparse
import json
import sys

from app.health import read_disk
from app.inventory import find_orphans, measure_usage, remove
from app.runtime import Runtime
from scripts.exit_codes import Exit

BAR = 30


def cmd_orphans(args: argparse.Namespace) -> int:
    """List (or with --delete, remove) S3 objects and data-folder files no record points at."""
    with Runtime.open() as runtime:
        found = find_orphans(runtime.records, runtime.stores, grace_seconds=args.grace_hours * 3600)
        for title, items in (("S3 objects no record points at", [f"{o.key} ({o.size} bytes)" for o in found.objects]),
                             ("files under DATA_FOLDER no record points at",
                              [f"{f.key} ({f.size} bytes)" for f in found.files]),
                             ("records whose object or file is gone", found.missing),
                             (f"unreferenced but younger than {args.grace_hours:g} h (kept: maybe in flight)",
                              [y.key for y in found.young])):
            print(f"{title}: {len(items)}")
            for item in items[:args.show]:
                print(f"  {item}")
            if len(items) > args.show:
                print(f"  ... and {len(items) - args.show} more")
        if not args.delete:
            print("dry run: nothing was deleted (--delete removes the orphaned objects and files; records are "
                  "never deleted)" if found.objects or found.files else "nothing to delete")
            return Exit.FAILED if found.count else Exit.OK
        failed = remove(found, runtime.stores)
        print(f"deleted {len(found.objects) + len(found.files) - len(failed)} orphaned objects and files; "
              f"{len(failed)} failed")
        for failure in failed:
            print(f"  failed: {failure}")
        return Exit.FAILED if failed or found.missing else Exit.OK


def cmd_usage(args: argparse.Namespace) -> int:
    """The data folder's space (by uploads, podcasts, records), S3's, growth a day and days until full."""
    with Runtime.open() as runtime:
        disk = read_disk(runtime.settings.data_folder)
        usage = measure_usage(runtime.records, runtime.stores, disk.total, disk.free)
    if args.json:
        days_left = None if usage.days_left is None else round(usage.days_left, 1)
        print(json.dumps({"disk_total_bytes": usage.disk_total, "disk_free_bytes": usage.disk_free,
                          "bytes_by_folder": usage.by_folder, "s3_bytes": usage.s3_bytes,
                          "s3_objects": usage.s3_objects,
                          "local_growth_bytes_per_day": round(usage.local_growth_per_day),
                          "days_until_full": days_left}, indent=2))
        return Exit.OK
    used = usage.disk_total - usage.disk_free
    rows = [("disk used", used), *((f"  {name}", size) for name, size in usage.by_folder.items()),
            ("disk free", usage.disk_free)]
    if usage.s3_bytes is not None:
        rows.append((f"S3 ({usage.s3_objects} objects)", usage.s3_bytes))
    chart = sys.stdout.isatty() or args.chart
    for name, size in rows:
        bar = "#" * round(BAR * size / usage.disk_total) if chart and usage.disk_total else ""
        print(f"{name:24} {size / 2**20:12.1f} MiB  {bar}")
    growth = usage.local_growth_per_day / 2**20
    left = "never at this rate" if usage.days_left is None else f"{usage.days_left:.0f} days"
    print(f"\ngrowth on the disk: {growth:.1f} MiB a day (last {usage.window_days:.0f} days); full in: {left}")
    return Exit.OK
