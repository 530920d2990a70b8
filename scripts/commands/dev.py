"""``ephitup dev``: run a stack's environment on this machine.

S3 off: the app on local disk. S3 on: an embedded S3 emulator (moto, on 127.0.0.1) with the stack's
bucket, its objects saved under the data folder between runs (``scripts/emulator.py``), and the app
pointed at it. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import shlex
import signal
from dataclasses import dataclass
from pathlib import Path

from app.runtime import Runtime
from app.settings import Settings, contract
from infra.contract import app_env
from scripts.arguments import bind, describe, port
from scripts.emulator import SNAPSHOT, DevEmulator, missing_audio
from scripts.exit_codes import Exit
from scripts.serving import run_app
from scripts.stack_io import load_stacks


@dataclass(frozen=True)
class DevOptions:
    stack: str
    host: str
    port: int
    data_folder: str


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "With S3 on, against an embedded S3 emulator (moto on 127.0.0.1). Ctrl-C stops everything.")
    parser.add_argument("--stack", default="dev", help="the stack to run (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=port, default=8000, help="port (default: %(default)s)")
    parser.add_argument("--data-folder", default=contract()["DATA_FOLDER"].default,
                        help="DATA_FOLDER (default: %(default)s)")
    bind(parser, dev, DevOptions)


def dev(options: DevOptions) -> int:
    """Run a stack's environment locally; with S3 on, against an embedded S3 emulator saved under the data folder."""
    (stack,) = load_stacks([options.stack], [])
    env = stack.env
    variables = {**app_env(env), "DATA_FOLDER": options.data_folder}
    emulator = None
    if env.s3_enabled:
        emulator = DevEmulator(env.region, f"ephitup-{env.stack}-local", Path(options.data_folder))
        restored = emulator.restore()
        variables.update(emulator.variables())
        print(f"ephitup dev: S3 emulator on {emulator.endpoint}, bucket {emulator.bucket} "
              f"({restored} objects restored from {SNAPSHOT}/)")
    settings = Settings.from_env(variables)
    print(f"ephitup dev: stack {env.stack}, storage mode {variables['STORAGE_MODE']}, data folder "
          f"{options.data_folder}")
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)  # uvicorn re-raises SIGTERM once it has shut down
    try:
        if emulator is not None:
            pointing = {**emulator.variables(), "STORAGE_MODE": "s3", "DATA_FOLDER": options.data_folder}
            print("ephitup dev: point the other commands (verify, migrate, orphans, usage) at this emulator with\n  "
                  + " ".join(f"{name}={shlex.quote(value)}" for name, value in pointing.items()))
            _report_missing(settings)
        run_app(settings, "ephitup dev", options.host, options.port)
    finally:
        if emulator is not None:
            print(f"ephitup dev: saved {emulator.save()} emulator objects under {SNAPSHOT}/")
            emulator.stop()
    return Exit.OK


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    """SIGTERM (timeout, an IDE, Docker) ends ``dev`` as Ctrl-C does: the emulator is saved first."""
    raise KeyboardInterrupt


def _report_missing(settings: Settings) -> None:
    with Runtime.open(settings) as runtime:
        missing = missing_audio(runtime)
    if missing:
        print(f"ephitup dev: {len(missing)} episode record(s) point at audio the emulator does not hold (a run "
              f"killed before it saved, or an object deleted by hand): {', '.join(missing)}. They answer 410 and "
              "are kept; delete one with DELETE /api/podcasts/episodes/<id> (`ephitup orphans` lists them)")
