"""``ephitup outputs import``: the blueprint's share of a stack's outputs, kept in outputs/<stack>.json."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.blueprint import read_outputs
from infra.outputs import committed_file, keep_for_blueprint
from scripts.arguments import bind
from scripts.exit_codes import Exit
from scripts.stack_io import load_stacks


@dataclass(frozen=True)
class ImportOptions:
    stack: str
    source: str


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    summary = "Keep project, stack, storage mode, region, bucket and access point from `pulumi stack output --json`."
    command = actions.add_parser("import", help=summary, description=f"{summary} Masked or not; refuses a "
                                 "secret-shaped value or another stack's outputs.")
    command.add_argument("--stack", required=True, help="the stack the outputs are from")
    command.add_argument("--from", dest="source", default="-", metavar="FILE",
                         help="the JSON file, or - for standard input (default: -)")
    bind(command, import_outputs, ImportOptions)


def import_outputs(options: ImportOptions) -> int:
    """Keep the blueprint's share of a stack's outputs in outputs/<stack>.json (committed; never a secret)."""
    (stack,) = load_stacks([options.stack], [])
    source = options.source
    raw = read_outputs(sys.stdin.read() if source == "-" else Path(source).read_text(),
                       "standard input" if source == "-" else source)
    kept = keep_for_blueprint(raw, stack.env)
    target = committed_file(options.stack)
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
    print(f"wrote {target} ({', '.join(sorted(kept))}); commit it, then `ephitup render`")
    if raw.get("keys_delivered_to") == "":
        print(f"the access key waits for the service {stack.env.render_service}: commit this file and render.yaml; "
              f"once Render has created the service, run `pulumi up -s {options.stack}` again to deliver the key "
              "(the service's first deploy fails for want of it until then)")
    return Exit.OK
