"""The ``ephitup`` command: operator tools over ``app/`` and ``infra/``.

Exit codes CI can trust: 0 success, 1 a check or operation failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from app.settings import Settings, SettingsError
from infra.blueprint import RenderError
from infra.environment import ConfigError
from scripts.blueprint_commands import cmd_env, cmd_render
from scripts.dev import cmd_dev
from scripts.verify import cmd_verify

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


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
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the bundled app with uvicorn; the environment (plus these flags) selects its storage."""
    import os

    import uvicorn

    if args.data_folder:
        os.environ["DATA_FOLDER"] = args.data_folder
    if args.storage_mode:
        os.environ["STORAGE_MODE"] = args.storage_mode
    decision = Settings.from_env().decide_storage()  # fail here, with a clear message, not in uvicorn
    base = f"http://{args.host}:{args.port}"
    print(f"ephitup: storage mode {decision.mode}, data folder {os.environ.get('DATA_FOLDER', './data')}")
    print(f"ephitup: serving on {base}  (API docs {base}/docs, health {base}/health); Ctrl-C stops")
    uvicorn.run("app.main:app", host=args.host, port=args.port, log_level="info")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ephitup", description="Operator tools for ephitup on Render: blueprint, local runs, S3 checks.",
        epilog="Exit codes: 0 ok, 1 a check or operation failed, 2 bad usage or configuration.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = commands.add_parser("status", help=cmd_status.__doc__, description=cmd_status.__doc__)
    status.add_argument("--json", action="store_true", help="print a JSON report")
    status.set_defaults(handler=cmd_status)

    serve = commands.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument("--data-folder", help="DATA_FOLDER for this run")
    serve.add_argument("--storage-mode", choices=("auto", "local", "s3"), help="STORAGE_MODE for this run")
    serve.set_defaults(handler=cmd_serve)

    render = commands.add_parser("render", help=cmd_render.__doc__, description=cmd_render.__doc__)
    _stack_options(render, many=True)
    render.add_argument("-o", "--output", default="render.yaml", help="file to write, or - for stdout "
                        "(default: %(default)s)")
    render.add_argument("--check", action="store_true", help="exit 1 with a diff when the file is stale")
    render.add_argument("--schema", help="also validate against Render's blueprint JSON schema (a file)")
    render.set_defaults(handler=cmd_render)

    env = commands.add_parser("env", help=cmd_env.__doc__, description=cmd_env.__doc__)
    _stack_options(env, many=False)
    env.add_argument("-o", "--output", default=".env", help="file to write (default: %(default)s)")
    env.add_argument("--data-folder", default="./data", help="DATA_FOLDER for local runs (default: %(default)s)")
    env.set_defaults(handler=cmd_env)

    dev = commands.add_parser("dev", help=cmd_dev.__doc__, description=cmd_dev.__doc__)
    dev.add_argument("--stack", default="dev", help="the stack to run (default: %(default)s)")
    dev.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    dev.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    dev.add_argument("--data-folder", default="./data", help="DATA_FOLDER (default: %(default)s)")
    dev.set_defaults(handler=cmd_dev)

    verify = commands.add_parser("verify", help=cmd_verify.__doc__, description=cmd_verify.__doc__ +
                                 " Reads the app's environment (S3_BUCKET_NAME, the keys, ...).")
    verify.add_argument("--prefix", default="uploads/.ephitup-verify/",
                        help="where the canary goes; must be a prefix the app may write (default: %(default)s)")
    verify.set_defaults(handler=cmd_verify)
    return parser


def _stack_options(parser: argparse.ArgumentParser, many: bool) -> None:
    if many:
        parser.add_argument("--stack", action="append", help="a stack to render (repeatable; default: every "
                            "Pulumi.<stack>.yaml); several go into one blueprint, grouped by environment")
    else:
        parser.add_argument("--stack", default="dev", help="the stack (default: %(default)s)")
    parser.add_argument("--outputs", action="append", default=[], metavar="[STACK=]FILE",
                        help="that stack's `pulumi stack output --json`, a file or - for stdin (repeatable)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (SettingsError, ConfigError, RenderError) as error:
        print(f"ephitup {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
