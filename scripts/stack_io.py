"""Reading stacks and their outputs for the CLI: ``--stack`` names, ``--outputs [STACK=]FILE|-``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from infra.blueprint import RenderError, StackInput, known_stacks, load_stack, read_outputs
from infra.outputs import check_against, committed_file


def parse_outputs(specs: list[str], stacks: list[str], s3_stacks: list[str]) -> dict[str, dict[str, Any]]:
    """``STACK=FILE`` pairs; a bare ``FILE`` (or ``-``) belongs to the one stack that has S3 on."""
    found: dict[str, dict[str, Any]] = {}
    for spec in specs:
        stack, sep, source = spec.partition("=")
        if not sep:
            if len(s3_stacks) != 1:
                raise RenderError(f"--outputs {spec}: say which stack it is for, as STACK=FILE "
                                  f"(stacks with S3 on: {', '.join(s3_stacks) or 'none'})")
            stack, source = s3_stacks[0], spec
        if stack not in stacks:
            raise RenderError(f"--outputs {spec}: stack {stack!r} is not among --stack {', '.join(stacks)}")
        text = sys.stdin.read() if source == "-" else _read(Path(source))
        found[stack] = read_outputs(text, "standard input" if source == "-" else source)
    return found


def _read(path: Path) -> str:
    if not path.is_file():
        raise RenderError(f"outputs file {path} does not exist: write it with `pulumi stack output --json > {path}`")
    return path.read_text()


def load_stacks(names: list[str] | None, output_specs: list[str]) -> list[StackInput]:
    """The stacks (default: every ``Pulumi.<stack>.yaml``), each with its outputs: given with ``--outputs``, or
    committed under ``outputs/<stack>.json``; outputs are held to the stack they are used for."""
    names = names or known_stacks()
    plain = [load_stack(name) for name in names]
    outputs = parse_outputs(output_specs, names, [s.env.stack for s in plain if s.env.s3_enabled])
    for stack in plain:
        committed = committed_file(stack.env.stack)
        if stack.env.stack not in outputs and stack.env.s3_enabled and committed.exists():
            outputs[stack.env.stack] = read_outputs(committed.read_text(), str(committed))
        if stack.env.stack in outputs:
            check_against(stack.env, outputs[stack.env.stack])
    return [StackInput(s.env, outputs.get(s.env.stack)) for s in plain]


def waiting_for_outputs(stacks: list[StackInput]) -> tuple[list[StackInput], list[str]]:
    """The stacks that can be rendered, and the names of those left out: S3 on and no outputs yet (their
    bucket does not exist until ``pulumi up``, so their service could not start)."""
    ready = [s for s in stacks if s.outputs is not None or not s.env.s3_enabled or s.env.ci_roles]
    return ready, [s.env.stack for s in stacks if s not in ready]
