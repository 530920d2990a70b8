"""``ephitup schema``: the records' database brought to the current schema (the app does it at start too)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from app.runtime import open_records
from app.settings import Settings
from scripts.arguments import bind, describe
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class SchemaOptions:
    pass


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Safe at every deploy and from several instances at once; the app does it at start too.")
    bind(parser, apply_schema, SchemaOptions)


def apply_schema(options: SchemaOptions) -> int:
    settings = Settings.from_env()
    records = open_records(settings, settings.database_url)
    try:
        print(f"records: {records.engine}, schema version {records.schema_version} (up to date)")
    finally:
        records.close()
    return Exit.OK
