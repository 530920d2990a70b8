"""The ``ephitup`` command: operator tools over ``app/`` and ``infra/``.

Each command lives in its own module under ``scripts/commands/``, its flags declared beside its handler
(``register``); this table names them, and only the module of the command that runs is imported (as
click's lazy groups do), so a command loads only what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from app.databases import DatabaseUnavailableError
from app.settings import SettingsError
from app.storage.base import StorageAccessDeniedError, StorageError, StorageUnavailableError
from infra.errors import ConfigError
from scripts.exit_codes import EXIT_CODES, Exit, PortInUseError

# name: one-line summary; the command lives in scripts/commands/<name with - as _>.py
COMMANDS: dict[str, str] = {
    "status": "Print the storage mode the current environment selects, and its problems.",
    "serve": "Run the bundled app with uvicorn from the current environment.",
    "contract": "Generate app/env_contract.json and Pulumi.yaml from the settings and stack models.",
    "lock": "Pin the dependencies with hashes (requirements.lock, requirements-dev.lock); --check finds a stale lock.",
    "render": "Render every environment into render.yaml, from the stack files and their committed outputs.",
    "stacks": "List the environments this repository holds, in the order CI deploys them (--json: a matrix).",
    "outputs": "Keep the blueprint's share of a stack's outputs in outputs/<stack>.json (to commit).",
    "schema": "Apply the records' schema steps (SQLite in DATA_FOLDER, or DATABASE_URL's PostgreSQL).",
    "deployer-policy": "Print the least-privilege IAM policy for whoever runs `pulumi up` on this program.",
    "rotate-key": "Replace a stack's access key: the new pair reaches Render and is live before the old one is "
                  "deleted.",
    "env": "Write a .env for local runs (mode 0600).",
    "dev": "Run a stack's environment locally.",
    "verify": "Smoke-test the configured S3 with the app's credentials.",
    "migrate": "Move episode audio between the disk and S3 (verify, switch the record, then delete), or an "
               "environment to the scaled topology (to-scaled).",
    "orphans": "List S3 objects and data-folder files no record points at, and records whose data is gone.",
    "usage": "The data folder's space by uploads, podcasts and records, S3's, growth a day, days until full.",
    "records": "Back up the records, restore them from a backup, or rebuild them from the files the stores hold.",
    "fix-keys": "Repair references and keys off the canonical layout (copy, verify, switch, delete old).",
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """Every command listed; only ``chosen``'s module is imported to declare its flags."""
    parser = argparse.ArgumentParser(
        prog="ephitup", description="Operator tools for ephitup on Render: blueprint, local runs, S3 checks.",
        epilog=EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary, epilog=EXIT_CODES)
        if name == chosen:
            importlib.import_module(f"scripts.commands.{name.replace('-', '_')}").register(command)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ephitup-deploy")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser(chosen).parse_args(argv)
    try:
        return int(args.run(args))
    except (SettingsError, ConfigError, StorageError, PortInUseError, DatabaseUnavailableError) as error:
        print(f"ephitup {args.command}: {error}", file=sys.stderr)
        return exit_code_for(error)
    except OSError as error:  # a file named on the command line that cannot be read or written
        print(f"ephitup {args.command}: {error.filename or ''}: {error.strerror or error}: check the path",
              file=sys.stderr)
        return Exit.USAGE


def exit_code_for(error: Exception) -> Exit:
    if isinstance(error, (StorageUnavailableError, PortInUseError, DatabaseUnavailableError)):
        return Exit.UNAVAILABLE
    if isinstance(error, StorageError) and not isinstance(error, StorageAccessDeniedError):
        return Exit.FAILED
    return Exit.USAGE  # the environment, the credentials or a stack file needs fixing


if __name__ == "__main__":
    sys.exit(main())
