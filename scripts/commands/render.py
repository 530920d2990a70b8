"""``ephitup render``: every environment into render.yaml, from the stack files and their committed outputs."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.settings import Settings, SettingsError, contract
from infra.blueprint import RenderError, render, schema_errors, services_of
from scripts.arguments import add_stack_options, bind, describe
from scripts.exit_codes import Exit
from scripts.stack_io import load_stacks, waiting_for_outputs


@dataclass(frozen=True)
class RenderOptions:
    stacks: list[str] | None
    outputs: list[str]
    output: str | None
    check: bool
    schema: str | None


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Reads Pulumi.<stack>.yaml and outputs/<stack>.json from the current folder; never writes a "
             "secret. A stack with S3 on is left out until its outputs exist. With --stack, the stacks named go "
             "to standard output unless -o names a file.")
    add_stack_options(parser, many=True)
    parser.add_argument("-o", "--output", help="file to write, or - for stdout (default: render.yaml for every "
                        "stack, standard output with --stack)")
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff when the file is stale")
    parser.add_argument("--schema", help="also validate against Render's blueprint JSON schema (a file)")
    bind(parser, render_blueprint, RenderOptions)


def render_blueprint(options: RenderOptions) -> int:
    """Render every stack into render.yaml (or the stacks named, to standard output); --check compares instead."""
    output = options.output or ("-" if options.stacks else "render.yaml")
    if options.check and output == "-":
        raise RenderError("--check compares a file: render every stack (no --stack), or name the file with -o")
    stacks = load_stacks(options.stacks, options.outputs)
    if not options.stacks:  # every stack: one waiting for its first `pulumi up` is left out, not refused
        stacks, waiting = waiting_for_outputs(stacks)
        for name in waiting:
            print(f"ephitup render: stack {name} left out: S3 is on and outputs/{name}.json does not exist yet "
                  f"(run `pulumi up -s {name}`, then `pulumi stack output --json -s {name} | ephitup outputs "
                  f"import --stack {name}`, and render again)", file=sys.stderr)
    text = render(stacks, grouped=True if not options.stacks else None)
    _refuse_what_the_app_would(text)
    if options.schema:
        errors = schema_errors(yaml.safe_load(text), json.loads(Path(options.schema).read_text()))
        for error in errors:
            print(f"ephitup render: schema: {error}", file=sys.stderr)
        if errors:
            return Exit.FAILED
    if options.check:
        return _compare(Path(output), text)
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)
        print(f"wrote {output}")
    return Exit.OK


def _refuse_what_the_app_would(text: str) -> None:
    """Each service's rendered environment read by the app's own settings model, as it would at start: a rule
    across settings (DISK_DEGRADED_PERCENT below DISK_ERROR_PERCENT) is refused here, naming the stack keys.
    Values Render supplies (sync, generated, a database) stand in as placeholders."""
    tunable = {name: f"ephitup:{variable.stack_key}" for name, variable in contract().items() if variable.stack_key}
    for service in services_of(yaml.safe_load(text)):
        environ = {var["key"]: str(var.get("value", PLACEHOLDERS.get(var["key"], PLACEHOLDER)))
                   for var in service["envVars"]}
        environ["RENDER"] = "true"  # what Render sets on its hosts, and its OIDC token where a role is used
        if "AWS_ROLE_ARN" in environ:
            environ["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/render/oidc-token"
        try:
            Settings.from_env(environ)
        except SettingsError as error:
            message = str(error)
            for name, key in tunable.items():
                message = message.replace(f"{name}=", f"{key} ({name})=")
            raise RenderError(f"service {service['name']}: the app would refuse its environment: {message}") from None


PLACEHOLDER = "a-value-render-supplies-000000000000000000"  # sync: false, generateValue: long enough for APP_TOKEN
PLACEHOLDERS = {"DATABASE_URL": "postgresql://render/records"}


def _compare(target: Path, text: str) -> int:
    current = target.read_text() if target.exists() else ""
    if current == text:
        print(f"{target} is up to date")
        return Exit.OK
    sys.stdout.writelines(difflib.unified_diff(
        current.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"{target} (committed)", tofile=f"{target} (rendered)"))
    print(f"ephitup render: {target} is stale: run `ephitup render` and commit it", file=sys.stderr)
    return Exit.FAILED
