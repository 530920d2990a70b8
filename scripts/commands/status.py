"""``ephitup status``: the storage mode the environment selects, and every problem the app's start would report."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from app.settings import Settings
from scripts.arguments import bind
from scripts.exit_codes import Exit


@dataclass(frozen=True)
class StatusOptions:
    json: bool


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    bind(parser, status, StatusOptions)


def status(options: StatusOptions) -> int:
    settings = Settings.from_env()
    decision = settings.storage
    report = {"storage_mode": decision.mode, "problems": list(decision.problems), "settings": settings.public()}
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"storage mode: {decision.mode}")
        for problem in decision.problems:
            print(f"warning: {problem}")
    return Exit.OK
