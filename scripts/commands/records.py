"""``ephitup records backup | restore``: consistent copies of the SQLite records, taken now or brought back."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime

from app.backups import restore
from app.runtime import Runtime, s3_storage
from app.settings import Settings, SettingsError
from app.storage import LocalStorage
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
    return Exit.OK
