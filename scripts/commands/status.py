"""``ephitup status``: the storage mode the environment selects, and every problem the app's start would report."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from app.health import Problem
from app.settings import Settings
from app.startup import startup_problems
from app.storage import LocalStorage
from scripts.arguments import bind
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class StatusOptions:
    json: bool


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    bind(parser, status, StatusOptions)


def status(options: StatusOptions) -> int:
    """The checks the app's start runs, without starting it; exit 1 when one is an error."""
    settings = Settings.from_env()
    problems = startup_problems(settings)
    if settings.data_folder.is_dir() and not LocalStorage(settings.data_folder).writable():
        problems.append(Problem("error", f"DATA_FOLDER={settings.data_folder} cannot be written: the app would "
                                         "refuse to start"))
    report = {"storage_mode": settings.storage.mode, "settings": settings.public(),
              "problems": [{"severity": p.severity, "message": p.message} for p in problems]}
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"storage mode: {settings.storage.mode}")
        for problem in problems:
            print(f"{problem.severity}: {problem.message}")
    return Exit.FAILED if any(p.severity == "error" for p in problems) else Exit.OK
