"""The ``ephitup`` command: operator tools over ``app/`` and ``infra/``.

Exit codes CI can trust: 0 success, 1 a check or operation failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from app.settings import Settings, SettingsError

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
    parser = argparse.ArgumentParser(prog="ephitup", description=__doc__.splitlines()[0])
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as error:
        print(f"ephitup: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
