"""``ephitup records backup | restore | rebuild | describe``: the records kept, brought back from a backup,
rebuilt from the files the stores hold, and files stored before descriptions given theirs."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from app.backups import restore
from app.recovery import rebuild
from app.recovery.describing import backfill
from app.runtime import Runtime, s3_storage
from app.settings import Settings, SettingsError
from app.storage import LocalStorage
from app.storage.stores import Stores
from scripts.arguments import bind
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class BackupOptions:
    pass


@dataclass(frozen=True)
class RestoreOptions:
    at: datetime | None
    force: bool
    dry_run: bool


@dataclass(frozen=True)
class RebuildOptions:
    apply: bool
    into_live: bool


@dataclass(frozen=True)
class DescribeOptions:
    dry_run: bool


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    backup = actions.add_parser("backup", help="take a backup now (the app takes one every RECORDS_BACKUP_MINUTES)",
                                description="A consistent copy of app.db (SQLite's online backup API), to the bucket "
                                "under backups/records/ with S3 on, else beside the database. Safe while the app runs.")
    bind(backup, take_backup, BackupOptions)
    restore_ = actions.add_parser(
        "restore", help="bring app.db back from the newest backup (or the newest taken by --at)",
        description="From the bucket with S3 on, else from the data folder; checked with SQLite's integrity check "
        "first. Stop the app first; an app.db that still holds records is replaced only with --force.")
    restore_.add_argument("--at", type=moment, help="the newest backup taken at or before this time (ISO 8601, UTC "
                          "unless it says otherwise, e.g. 2026-12-02T17:00)")
    restore_.add_argument("--force", action="store_true", help="replace an app.db that still holds records")
    restore_.add_argument("--dry-run", action="store_true", help="say which backup would be restored; change nothing")
    bind(restore_, restore_records, RestoreOptions)
    rebuild_ = actions.add_parser(
        "rebuild", help="rebuild the records from the files the stores hold (a dry run unless --apply)",
        description="Every file the data folder and the bucket hold that describes itself becomes its record again, "
        "under the same id; deletions stay deleted (tombstones). Into an empty or missing database (SQLite, or "
        "DATABASE_URL); a rerun finishes a rebuild that was interrupted and changes nothing after a whole one.")
    rebuild_.add_argument("--apply", action="store_true", help="write the records (default: say what would be)")
    rebuild_.add_argument("--into-live", action="store_true",
                          help="add to a database that holds records no file describes (a live one)")
    bind(rebuild_, rebuild_records, RebuildOptions)
    describe = actions.add_parser(
        "describe", help="give files stored before descriptions existed their record's description",
        description="Each file a record points at gets the record's durable fields (S3 metadata, a sidecar on the "
        "disk); files that carry theirs are skipped, so an interrupted run is finished by running it again.")
    describe.add_argument("--dry-run", action="store_true", help="count what would be described; change nothing")
    bind(describe, describe_files, DescribeOptions)


def moment(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time such as 2026-12-02T17:00 (ISO 8601)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def take_backup(options: BackupOptions) -> int:
    with Runtime.open() as runtime:
        key = runtime.backups.once()
        if key is None:
            print("the records are in PostgreSQL (DATABASE_URL), which keeps its own backups: nothing taken")
            return Exit.OK
        print(f"backed up the records to {runtime.backups.store.reference(key)}")
    return Exit.OK


def restore_records(options: RestoreOptions) -> int:
    settings = Settings.from_env()
    if settings.database_url is not None:
        raise SettingsError("DATABASE_URL is set: PostgreSQL's records come back with its own backups (Render's "
                            "dashboard: Recovery), not with `records restore`")
    local = LocalStorage(settings.data_folder)
    source = s3_storage(settings) if settings.storage.mode == "s3" else local
    chosen = restore(source, local, options.at.timestamp() if options.at else None, options.force, options.dry_run)
    verb = "would restore" if options.dry_run else "restored"
    print(f"{verb} {source.reference(chosen.key)} ({chosen.size} bytes) as {settings.data_folder}/app.db")
    if options.dry_run:
        return Exit.OK
    with Runtime.open(settings) as runtime:  # what the files say happened after the backup
        replayed = rebuild.plan(rebuild.scan(runtime.stores), runtime.records, runtime.stores)
        rebuild.apply(replayed, runtime.records)
    print(f"replayed what the files say happened since: {len(replayed.episodes)} episodes and "
          f"{len(replayed.sources)} sources added, {len(replayed.forget)} deleted")
    return Exit.OK


def rebuild_records(options: RebuildOptions) -> int:
    with Runtime.open() as runtime:
        found = rebuild.scan(runtime.stores, lambda seen: _every_thousand(seen, f"{seen} files read"))
        result = rebuild.plan(found, runtime.records, runtime.stores)
        _report(result, runtime.stores)
        if result.unknown and not options.into_live:
            print(f"the database holds {len(result.unknown)} records no file describes (e.g. {result.unknown[0]}): "
                  "it is live; pass --into-live to add to it anyway", file=sys.stderr)
            return Exit.USAGE
        if options.apply:
            rebuild.apply(result, runtime.records)
        elif result.changes:
            print("a dry run: nothing written; run with --apply to write these records")
    return Exit.OK


def _report(result: rebuild.Plan, stores: Stores) -> None:
    pending = sum(episode.state == "pending_upload" for episode in result.episodes)
    print(f"episodes: {len(result.episodes)} to restore ({pending} still to upload to S3); sources: "
          f"{len(result.sources)} to restore; {result.held} held already; {len(result.forget)} deleted since, to "
          "forget")
    for line in result.conflicts:
        print(f"held twice: {line}")
    for record_id in result.cut_names:
        print(f"name cut to fit S3's metadata: {record_id} (rename it through the API)")
    if result.undescribed:
        print(f"{len(result.undescribed)} files describe nothing (stored before descriptions: `ephitup records "
              f"describe` gives them theirs while their records exist), e.g. {result.undescribed[0]}")


def describe_files(options: DescribeOptions) -> int:
    with Runtime.open() as runtime:
        report = backfill(runtime.records, runtime.stores, dry_run=options.dry_run,
                          progress=lambda done, total: _every_thousand(done, f"{done}/{total} files"))
    verb = "would describe" if options.dry_run else "described"
    print(f"{verb} {len(report.described)} files; {report.already} carried their description already")
    for line in report.failed:
        print(f"not described: {line}", file=sys.stderr)
    return Exit.FAILED if report.failed else Exit.OK


def _every_thousand(count: int, text: str) -> None:
    if count % 1000 == 0:
        print(text, file=sys.stderr, flush=True)
