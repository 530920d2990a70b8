"""``ephitup serve``: the bundled app under uvicorn, from the current environment (plus these flags)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from app.settings import Settings
from scripts.arguments import bind, port
from scripts.exit_codes import Exit
from scripts.serving import run_app


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    data_folder: str | None
    storage_mode: str | None


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=port, default=8000, help="port (default: %(default)s)")
    parser.add_argument("--data-folder", help="DATA_FOLDER for this run")
    parser.add_argument("--storage-mode", choices=("auto", "local", "s3"), help="STORAGE_MODE for this run")
    bind(parser, serve, ServeOptions)


def serve(options: ServeOptions) -> int:
    overrides = {"DATA_FOLDER": options.data_folder, "STORAGE_MODE": options.storage_mode}
    settings = Settings.from_env({**os.environ, **{k: v for k, v in overrides.items() if v}})
    print(f"ephitup: storage mode {settings.storage.mode}, data folder {settings.data_folder}")
    run_app(settings, "ephitup", options.host, options.port)
    return Exit.OK
