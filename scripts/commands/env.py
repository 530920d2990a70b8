"""``ephitup env``: a .env for local runs (mode 0600), the only command that writes secrets, and only there."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from app.settings import contract
from infra.blueprint import RenderError, templates
from infra.contract import app_env
from scripts.arguments import add_stack_options, bind, describe
from scripts.exit_codes import Exit
from scripts.stack_io import load_stacks


@dataclass(frozen=True)
class EnvOptions:
    stack: str
    outputs: list[str]
    output: str
    force: bool
    data_folder: str


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "The only command that writes secrets, only there.")
    add_stack_options(parser, many=False)
    parser.add_argument("-o", "--output", default=".env", help="file to write (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="replace the file when it exists")
    parser.add_argument("--data-folder", default=contract()["DATA_FOLDER"].default,
                        help="DATA_FOLDER for local runs (default: %(default)s)")
    bind(parser, write_env, EnvOptions)


def write_env(options: EnvOptions) -> int:
    (stack,) = load_stacks([options.stack], options.outputs)
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
                 "DATA_FOLDER": options.data_folder, **credentials}
    unquotable = [name for name, value in variables.items() if any(c in str(value) for c in "\n\r\x00")]
    if unquotable:
        raise RenderError(f"{unquotable[0]} holds a line break or NUL, which a .env cannot carry safely: fix the value "
                          "in the stack or its outputs")
    text = templates().get_template("dotenv.j2").render(stack=env.stack, variables=variables)
    target = Path(options.output)
    if target.exists() and not options.force:
        raise RenderError(f"{target} exists: it may hold lines of your own. Pass --force to replace it, or -o "
                          "another file")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file already existed with a wider mode
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    print(f"wrote {target} for stack {env.stack} (mode 0600, {len(variables)} variables)")
    return Exit.OK
