"""``ephitup dev``: run a stack's environment on this machine.

S3 off: the app on local disk. S3 on: an embedded S3 emulator (moto, on 127.0.0.1) with the stack's
bucket, its objects saved under the data folder between runs (``scripts/emulator.py``), and the app
pointed at it. Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from app.runtime import Runtime
from infra.contract import app_env
from scripts.emulator import SNAPSHOT, DevEmulator, forget_lost_audio
from scripts.exit_codes import Exit, PortInUseError
from scripts.stack_io import load_stacks


def run_app(label: str, host: str, port: int) -> None:
    """Serve ``app.main:app`` from the current environment, saying where to look first."""
    import uvicorn

    with socket.socket() as probe:  # a clear error before uvicorn's own exit
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUseError(f"cannot listen on {host}:{port} ({error.strerror}): pick another with "
                                 "--port (make run PORT=...)") from None

    base = f"http://{host}:{port}"
    print(f"{label}: serving on {base}  (API docs {base}/docs, health {base}/health); Ctrl-C stops", flush=True)
    uvicorn.run("app.main:app", host=host, port=port, log_level="info")


def cmd_dev(args: argparse.Namespace) -> int:
    """Run a stack's environment locally; with S3 on, against an embedded S3 emulator saved under the data folder."""
    (stack,) = load_stacks([args.stack], [])
    env = stack.env
    variables = {**app_env(env), "DATA_FOLDER": args.data_folder}
    emulator = None
    if env.s3_enabled:
        emulator = DevEmulator(env.region, f"ephitup-{env.stack}-local", Path(args.data_folder))
        restored = emulator.restore()
        variables.update(emulator.variables())
        print(f"ephitup dev: S3 emulator on {emulator.endpoint}, bucket {emulator.bucket} "
              f"({restored} objects restored from {SNAPSHOT}/)")
    os.environ.update(variables)
    print(f"ephitup dev: stack {env.stack}, storage mode {variables['STORAGE_MODE']}, data folder {args.data_folder}")
    try:
        if emulator is not None:
            with Runtime.open() as runtime:
                lost = forget_lost_audio(runtime)
            if lost:
                print(f"ephitup dev: removed {len(lost)} episode record(s) whose audio the emulator lost (the last "
                      f"run was killed before it could save it): {', '.join(lost)}")
        run_app("ephitup dev", args.host, args.port)
    finally:
        if emulator is not None:
            print(f"ephitup dev: saved {emulator.save()} emulator objects under {SNAPSHOT}/")
            emulator.stop()
    return Exit.OK
