"""The ``ephitup`` command: operator tools over ``app/`` and ``infra/``.

Exit codes CI can trust: 0 success, 1 a check or operation failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence

from app.databases import DatabaseUnavailableError
from app.settings import Settings, SettingsError, contract
from app.storage.base import StorageAccessDeniedError, StorageError, StorageUnavailableError
from infra.errors import ConfigError
from scripts.exit_codes import Exit, PortInUseError

Command = Callable[[argparse.Namespace], int]
DEFAULT_DATA_FOLDER = contract()["DATA_FOLDER"].default
MAX_CONCURRENCY = 256


def cmd_status(args: argparse.Namespace) -> int:
    """Print the storage mode the current environment selects, and any problem with it."""
    settings = Settings.from_env()
    decision = settings.decide_storage()
    report = {"storage_mode": decision.mode, "problems": list(decision.problems), "settings": settings.public()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"storage mode: {decision.mode}")
        for problem in decision.problems:
            print(f"warning: {problem}")
    return Exit.OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the bundled app with uvicorn; the environment (plus these flags) selects its storage."""
    import os

    from scripts.dev import run_app

    if args.data_folder:
        os.environ["DATA_FOLDER"] = args.data_folder
    if args.storage_mode:
        os.environ["STORAGE_MODE"] = args.storage_mode
    settings = Settings.from_env()
    decision = settings.decide_storage()  # fail here, with a clear message, not in uvicorn
    print(f"ephitup: storage mode {decision.mode}, data folder {settings.data_folder}")
    run_app("ephitup", args.host, args.port)
    return Exit.OK


def cmd_contract(args: argparse.Namespace) -> int:
    """Write app/env_contract.json from the settings model; --check fails when the committed file is stale."""
    from app import contract

    if args.check:
        if contract.is_current():
            print(f"{contract.CONTRACT_FILE.name} is up to date")
            return Exit.OK
        print(f"ephitup contract: {contract.CONTRACT_FILE} is stale: run `ephitup contract` and commit it",
              file=sys.stderr)
        return Exit.FAILED
    contract.write()
    print(f"wrote {contract.CONTRACT_FILE}")
    return Exit.OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Bring the records' database (SQLite or DATABASE_URL's PostgreSQL) to the current schema."""
    from app.databases import open_database
    from app.records import Records

    settings = Settings.from_env()
    records = Records(open_database(settings.database_url_value, settings.data_folder))
    try:
        print(f"records: {records.engine}, schema version {records.schema_version} (up to date)")
    finally:
        records.close()
    return Exit.OK


def cmd_deployer_policy(args: argparse.Namespace) -> int:
    """Print the deployer's IAM policy (JSON) for an account."""
    from infra.deployer import deployer_policy
    from infra.policies import to_json

    print(to_json(deployer_policy(args.account, ("ephitup-*", *args.bucket))))
    return Exit.OK


def build_parser() -> argparse.ArgumentParser:
    """Every command; handlers are named as "module:function" and imported only when they run."""
    parser = argparse.ArgumentParser(
        prog="ephitup", description="Operator tools for ephitup on Render: blueprint, local runs, S3 checks.",
        epilog="Exit codes: 0 ok, 1 a check or part of the work failed, 2 bad usage or configuration, "
               "3 something it needs is unavailable (S3 unreachable, the port in use).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: str | Command, summary: str, details: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=f"{summary} {details}".strip())
        sub.set_defaults(handler=handler)
        return sub

    status = command("status", cmd_status, "Print the storage mode the current environment selects, and its problems.")
    status.add_argument("--json", action="store_true", help="print a JSON report")

    serve = command("serve", cmd_serve, "Run the bundled app with uvicorn from the current environment.")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s)")
    serve.add_argument("--data-folder", help="DATA_FOLDER for this run")
    serve.add_argument("--storage-mode", choices=("auto", "local", "s3"), help="STORAGE_MODE for this run")

    contract = command("contract", cmd_contract, "Generate app/env_contract.json from the app's settings model.",
                       "infra/ reads that file; it is never edited by hand.")
    contract.add_argument("--check", action="store_true", help="exit 1 when the committed file is stale")

    render = command("render", "scripts.blueprint_commands:cmd_render",
                     "Render every environment into render.yaml, from the stack files and their committed outputs.",
                     "Reads Pulumi.<stack>.yaml and outputs/<stack>.json from the current folder; never writes a "
                     "secret. With --stack, the stacks named go to standard output unless -o names a file.")
    _stack_options(render, many=True)
    render.add_argument("-o", "--output", help="file to write, or - for stdout (default: render.yaml for every "
                        "stack, standard output with --stack)")
    render.add_argument("--check", action="store_true", help="exit 1 with a diff when the file is stale")
    render.add_argument("--schema", help="also validate against Render's blueprint JSON schema (a file)")

    outputs = command("outputs", "scripts.blueprint_commands:cmd_outputs_import",
                      "Keep the blueprint's share of a stack's outputs in outputs/<stack>.json (to commit).",
                      "Reads `pulumi stack output --json` (masked or not); keeps project, stack, storage mode, "
                      "region, bucket and access point; refuses a secret-shaped value or another stack's outputs.")
    outputs.add_argument("action", choices=("import",))
    outputs.add_argument("--stack", required=True, help="the stack the outputs are from")
    outputs.add_argument("--from", dest="source", default="-", metavar="FILE",
                         help="the JSON file, or - for standard input (default: -)")

    command("schema", cmd_schema, "Apply the records' schema steps (SQLite in DATA_FOLDER, or DATABASE_URL's "
            "PostgreSQL).", "Safe at every deploy and from several instances at once; the app does it at start too.")

    deployer = command("deployer-policy", cmd_deployer_policy,
                       "Print the least-privilege IAM policy for whoever runs `pulumi up` on this program.",
                       "For `aws iam create-policy --policy-document file://...`.")
    deployer.add_argument("--account", required=True, type=_account, help="the 12-digit AWS account id")
    deployer.add_argument("--bucket", action="append", default=[], metavar="NAME",
                          help="a bucket name an ephitup:bucketName sets outside ephitup-* (repeatable)")

    rotate = command("rotate-key", "scripts.rotate_key:cmd_rotate_key",
                     "Replace a stack's access key: the new pair reaches Render and is live before the old is deleted.",
                     "Runs `pulumi up --replace` on the key (needs the Pulumi CLI and RENDER_API_KEY).")
    rotate.add_argument("--stack", required=True, help="the stack whose key to replace")
    rotate.add_argument("--dry-run", action="store_true", help="run `pulumi preview --diff` of the replacement instead")

    env = command("env", "scripts.blueprint_commands:cmd_env",
                  "Write a .env for local runs (mode 0600).", "The only command that writes secrets, only there.")
    _stack_options(env, many=False)
    env.add_argument("-o", "--output", default=".env", help="file to write (default: %(default)s)")
    env.add_argument("--force", action="store_true", help="replace the file when it exists")
    env.add_argument("--data-folder", default=DEFAULT_DATA_FOLDER,
                     help="DATA_FOLDER for local runs (default: %(default)s)")

    dev = command("dev", "scripts.dev:cmd_dev", "Run a stack's environment locally.",
                  "With S3 on, against an embedded S3 emulator (moto on 127.0.0.1). Ctrl-C stops everything.")
    dev.add_argument("--stack", default="dev", help="the stack to run (default: %(default)s)")
    dev.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    dev.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s)")
    dev.add_argument("--data-folder", default=DEFAULT_DATA_FOLDER, help="DATA_FOLDER (default: %(default)s)")

    verify = command("verify", "scripts.verify:cmd_verify", "Smoke-test the configured S3 with the app's credentials.",
                     "Upload a canary with a checksum, HEAD it, read a range, fetch a presigned URL, check that an "
                     "unsigned GET is refused, delete it. Reads the app's environment.")
    verify.add_argument("--prefix", default="uploads/.ephitup-verify/",
                        help="where the canary goes; a prefix the app may write (default: %(default)s)")

    migrate = command("migrate", "scripts.migrate:cmd_migrate",
                      "Move episode audio between the disk and S3 (verify, switch the record, then delete), or an "
                      "environment to the scaled topology (to-scaled).",
                      "Reads the app's environment (DATA_FOLDER, S3 settings; to-scaled also TARGET_DATABASE_URL); "
                      "safe to kill and rerun.")
    migrate.add_argument("direction", choices=("to-s3", "to-local", "to-scaled"))
    migrate.add_argument("--keep-local", action="store_true", help="to-s3: keep the local copies")
    migrate.add_argument("--delete-remote", action="store_true", help="to-local: delete the S3 objects afterwards")
    _migration_options(migrate)

    orphans = command("orphans", "scripts.inventory:cmd_orphans",
                      "List S3 objects and data-folder files no record points at, and records whose data is gone.",
                      "A dry run unless --delete; only orphans older than the grace period are deleted (an upload "
                      "in flight is never touched); records are never deleted. Exit 1 when a dry run finds any.")
    orphans.add_argument("--delete", action="store_true", help="remove the orphaned objects and files")
    orphans.add_argument("--grace-hours", type=_hours, default=24.0,
                         help="leave anything younger alone (default: %(default)s)")
    orphans.add_argument("--show", type=_positive, default=20, help="items listed per kind (default: %(default)s)")

    usage = command("usage", "scripts.inventory:cmd_usage",
                    "The data folder's space by uploads, podcasts and records, S3's, growth a day, days until full.")
    usage.add_argument("--json", action="store_true", help="print JSON")
    usage.add_argument("--chart", action="store_true", help="draw the bars even when not on a terminal")

    fix_keys = command("fix-keys", "scripts.migrate:cmd_fix_keys",
                       "Repair references and keys off the canonical layout (copy, verify, switch, delete old).")
    _migration_options(fix_keys)
    return parser


def _stack_options(parser: argparse.ArgumentParser, many: bool) -> None:
    if many:
        parser.add_argument("--stack", action="append", help="a stack to render (repeatable; default: every "
                            "Pulumi.<stack>.yaml); several go into one blueprint, grouped by environment")
    else:
        parser.add_argument("--stack", default="dev", help="the stack (default: %(default)s)")
    parser.add_argument("--outputs", action="append", default=[], metavar="[STACK=]FILE",
                        help="that stack's `pulumi stack output --json`, a file or - for stdin (repeatable)")


def _migration_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan (counts, bytes, first items); "
                        "change nothing")
    parser.add_argument("--concurrency", type=_concurrency, default=32,
                        help=f"files in flight, at most {MAX_CONCURRENCY} (default: %(default)s: enough to keep a "
                        "long link busy; each holds one S3 connection)")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _concurrency(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_CONCURRENCY}")
    return int(text)


def _hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not 0 <= hours < 10**6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours (0 or more)")
    return hours


def _account(text: str) -> str:
    if not text.isdigit() or len(text) != 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS account id: 12 digits")
    return text


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: a whole number from 1 to 65535")
    return int(text)


def _resolve(handler: str | Command) -> Command:
    if callable(handler):
        return handler
    module, _, function = handler.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_resolve(args.handler)(args))
    except (SettingsError, ConfigError, StorageError, PortInUseError, DatabaseUnavailableError) as error:
        print(f"ephitup {args.command}: {error}", file=sys.stderr)
        return exit_code_for(error)


def exit_code_for(error: Exception) -> Exit:
    if isinstance(error, (StorageUnavailableError, PortInUseError, DatabaseUnavailableError)):
        return Exit.UNAVAILABLE
    if isinstance(error, StorageError) and not isinstance(error, StorageAccessDeniedError):
        return Exit.FAILED
    return Exit.USAGE  # the environment, the credentials or a stack file needs fixing


if __name__ == "__main__":
    sys.exit(main())
