"""``ephitup usage``: the data folder's space by uploads, podcasts and records, S3's, growth a day, days until full."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from app.health import read_disk
from app.inventory import measure_usage
from app.runtime import Runtime
from scripts.arguments import bind
from scripts.exit_codes import Exit

BAR = 30


@dataclass(frozen=True)
class UsageOptions:
    json: bool
    chart: bool


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--chart", action="store_true", help="draw the bars even when not on a terminal")
    bind(parser, usage, UsageOptions)


def usage(options: UsageOptions) -> int:
    """The data folder's space (by uploads, podcasts, records), S3's, growth a day and days until full."""
    with Runtime.open() as runtime:
        disk = read_disk(runtime.settings.data_folder)
        usage = measure_usage(runtime.records, runtime.stores, disk.total, disk.free)
    if options.json:
        days_left = None if usage.days_left is None else round(usage.days_left, 1)
        print(json.dumps({"disk_total_bytes": usage.disk_total, "disk_free_bytes": usage.disk_free,
                          "bytes_by_folder": usage.by_folder, "s3_bytes": usage.s3_bytes,
                          "s3_objects": usage.s3_objects,
                          "local_growth_bytes_per_day": round(usage.local_growth_per_day),
                          "days_until_full": days_left}, indent=2))
        return Exit.OK
    folder = sum(usage.by_folder.values())  # the disk may hold more than the data folder (a laptop, a shared volume)
    others = max(0, usage.disk_total - usage.disk_free - folder)
    rows = [("data folder", folder), *((f"  {name}", size) for name, size in usage.by_folder.items()),
            ("disk: other files", others), ("disk free", usage.disk_free)]
    if usage.s3_bytes is not None:
        rows.append((f"S3 ({usage.s3_objects} objects)", usage.s3_bytes))
    chart = sys.stdout.isatty() or options.chart
    for name, size in rows:
        bar = "#" * round(BAR * size / usage.disk_total) if chart and usage.disk_total else ""
        print(f"{name:24} {size / 2**20:12.1f} MiB  {bar}")
    growth = usage.local_growth_per_day / 2**20
    left = "never at this rate" if usage.days_left is None else f"{usage.days_left:.0f} days"
    print(f"\ngrowth on the disk: {growth:.1f} MiB a day (last {usage.window_days:.0f} days); full in: {left}")
    return Exit.OK
