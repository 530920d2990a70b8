"""``ephitup rotate-key``: replace a stack's access key with Pulumi, delivered to Render before the old one goes.

A wrapper over ``pulumi up --replace <the key's URN>``: Pulumi creates the new key, the key delivery
resource puts it on the Render service and waits for that deploy to be live, and only then, at the end
of the update, Pulumi deletes the old key. Refused where it cannot work that way (OIDC has no key;
delivery off means the new pair would not reach Render).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import yaml

from infra.blueprint import load_stack, stack_file
from infra.environment import Environment
from infra.names import PROJECT, RENDER_API_KEY_CONFIG, access_key_urn
from scripts.arguments import bind, describe
from scripts.exit_codes import Exit


def rotation_command(stack: str, preview: bool) -> list[str]:
    """The Pulumi command that replaces the stack's access key (``preview``: show it, change nothing)."""
    action = ["preview", "--diff"] if preview else ["up", "--yes"]
    return ["pulumi", *action, "--replace", access_key_urn(stack), "--stack", stack]


@dataclass(frozen=True)
class RotateOptions:
    stack: str
    dry_run: bool


def register(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Runs `pulumi up --replace` on the key (needs the Pulumi CLI and RENDER_API_KEY).")
    parser.add_argument("--stack", required=True, help="the stack whose key to replace")
    parser.add_argument("--dry-run", action="store_true", help="run `pulumi preview --diff` of the replacement instead")
    bind(parser, rotate_key, RotateOptions)


def rotate_key(options: RotateOptions) -> int:
    env = load_stack(options.stack).env
    refusal = _refusal(env, options.dry_run)
    if refusal:
        print(f"ephitup rotate-key: {refusal}", file=sys.stderr)
        return Exit.USAGE
    command = rotation_command(env.stack, options.dry_run)
    if shutil.which(command[0]) is None:
        print("ephitup rotate-key: the Pulumi CLI is not on PATH (https://www.pulumi.com/docs/install/)",
              file=sys.stderr)
        return Exit.UNAVAILABLE
    print("running: " + " ".join(command), flush=True)
    return Exit.OK if subprocess.run(command, check=False).returncode == 0 else Exit.FAILED


def _refusal(env: Environment, dry_run: bool) -> str | None:
    if not env.s3_enabled:
        return f"stack {env.stack} has S3 off: there is no key to rotate"
    if env.aws_auth == "oidc":
        return f"stack {env.stack} uses OIDC (awsAuth: oidc): Render's tokens rotate by themselves, there is no key"
    if not env.deliver_keys:
        return (f"stack {env.stack} has ephitup:deliverKeys false, so the new pair would not reach Render before the "
                "old key is deleted: turn delivery on, or rotate by hand as the README says")
    if not dry_run and not os.environ.get("RENDER_API_KEY") and not _keeps_render_api_key(env.stack):
        return (f"RENDER_API_KEY is not set and stack {env.stack} keeps no ephitup:{RENDER_API_KEY_CONFIG}: the new "
                "pair is delivered to Render with it (Account Settings > API Keys; `pulumi config set --secret "
                f"ephitup:{RENDER_API_KEY_CONFIG} <key> -s {env.stack}` keeps it with the stack)")
    return None


def _keeps_render_api_key(stack: str) -> bool:
    """The stack file holds the secret stack key (``secure:``, encrypted): the program reads it itself."""
    config = (yaml.safe_load(stack_file(stack).read_text()) or {}).get("config") or {}
    return f"{PROJECT}:{RENDER_API_KEY_CONFIG}" in config
