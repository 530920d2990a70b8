"""``ephitup render`` and ``ephitup env``: files from stack configuration and stack outputs."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path

import yaml

from infra.blueprint import RenderError, read_outputs, render, schema_errors, templates
from infra.contract import app_env
from infra.outputs import committed_file, keep_for_blueprint
from scripts.exit_codes import Exit
from scripts.stack_io import load_stacks


def cmd_render(args: argparse.Namespace) -> int:
    """Render every stack into render.yaml (or the stacks named, to standard output); --check compares instead."""
    output = args.output or ("-" if args.stack else "render.yaml")
    if args.check and output == "-":
        raise RenderError("--check compares a file: render every stack (no --stack), or name the file with -o")
    text = render(load_stacks(args.stack, args.outputs))
    if args.schema:
        errors = schema_errors(yaml.safe_load(text), json.loads(Path(args.schema).read_text()))
        for error in errors:
            print(f"ephitup render: schema: {error}", file=sys.stderr)
        if errors:
            return Exit.FAILED
    if args.check:
        target = Path(output)
        current = target.read_text() if target.exists() else ""
        if current == text:
            print(f"{target} is up to date")
            return Exit.OK
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=f"{target} (committed)", tofile=f"{target} (rendered)"))
        print(f"ephitup render: {target} is stale: run `ephitup render` and commit it", file=sys.stderr)
        return Exit.FAILED
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)
        print(f"wrote {output}")
    return Exit.OK


def cmd_outputs_import(args: argparse.Namespace) -> int:
    """Keep the blueprint's share of a stack's outputs in outputs/<stack>.json (committed; never a secret)."""
    (stack,) = load_stacks([args.stack], [])
    source = args.source
    raw = read_outputs(sys.stdin.read() if source == "-" else Path(source).read_text(),
                       "standard input" if source == "-" else source)
    kept = keep_for_blueprint(raw, stack.env)
    target = committed_file(args.stack)
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
    print(f"wrote {target} ({', '.join(sorted(kept))}); commit it, then `ephitup render`")
    return Exit.OK


def cmd_env(args: argparse.Namespace) -> int:
    """Write a .env for local runs (mode 0600): the only command that writes secrets, and only there."""
    (stack,) = load_stacks([args.stack], args.outputs)
    env = stack.env
    credentials: dict[str, str] = {}
    if env.s3_enabled:
        if stack.outputs is None:
            raise RenderError(f"stack {env.stack}: S3 is on: pass --outputs FILE from "
                              f"`pulumi stack output --json --show-secrets -s {env.stack}`")
        hidden = [k for k in ("access_key_id", "secret_access_key") if stack.outputs.get(k) in (None, "[secret]")]
        if hidden:
            raise RenderError(f"stack {env.stack}: the outputs hide {', '.join(hidden)}: "
                              f"use `pulumi stack output --json --show-secrets -s {env.stack}`")
        credentials = {"AWS_ACCESS_KEY_ID": stack.outputs["access_key_id"],
                       "AWS_SECRET_ACCESS_KEY": stack.outputs["secret_access_key"]}
    outputs = stack.outputs or {}
    variables = {**app_env(env, outputs.get("bucket_name"), outputs.get("access_point_arn")),
                 "DATA_FOLDER": args.data_folder, **credentials}
    text = templates().get_template("dotenv.j2").render(stack=env.stack, variables=variables)
    target = Path(args.output)
    if target.exists() and not args.force:
        raise RenderError(f"{target} exists: it may hold lines of your own. Pass --force to replace it, or -o "
                          "another file")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file already existed with a wider mode
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    print(f"wrote {target} for stack {env.stack} (mode 0600, {len(variables)} variables)")
    return Exit.OK
