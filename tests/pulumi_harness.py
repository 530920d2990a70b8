"""Run the Pulumi program under ``pulumi.runtime.set_mocks``, as Pulumi documents for unit tests.

Each run gets a fresh event loop and its own config. A recording monitor keeps every resource
registration (type, name, parent, protect, retain-on-delete, secret outputs) and every invoke, which
``MockResourceArgs`` alone does not show.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.program import define, read_environment

ACCOUNT = "123456789012"
REGION = "us-east-2"
FAKE_KEY_ID = "AKIDMOCKEXAMPLE00001"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documentation example


@dataclass
class Registration:
    type: str
    name: str
    parent: str
    protect: bool
    retain_on_delete: bool
    secret_outputs: list[str]
    inputs: dict[str, Any] = field(default_factory=dict)


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        self.invokes: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "aws:s3/bucket:Bucket":
            name = args.inputs.get("bucket") or f"{args.inputs['bucketPrefix']}20261124abcdef"
            state.update(bucket=name, arn=f"arn:aws:s3:::{name}")
        elif args.typ == "aws:s3/accessPoint:AccessPoint":
            name = args.inputs["name"]
            state.update(arn=f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/{name}", alias=f"{name}-abc123-s3alias")
        elif args.typ == "aws:iam/user:User":
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:user{args.inputs['path']}{args.inputs['name']}")
        elif args.typ == "aws:iam/accessKey:AccessKey":
            state.update(secret=FAKE_SECRET)
            self.inputs[args.name] = args.inputs
            return FAKE_KEY_ID, state
        self.inputs[args.name] = args.inputs
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.invokes.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDAMOCK", "id": ACCOUNT}
        return {}


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        self.registrations.append(Registration(
            request.type, request.name, request.parent, request.protect, request.retainOnDelete,
            list(request.additionalSecretOutputs),
        ))
        return super().RegisterResource(request)


@dataclass
class ProgramRun:
    outputs: dict[str, Any]
    secret_outputs: set[str]
    registrations: list[Registration]
    invokes: list[str]
    inputs: dict[str, dict[str, Any]]

    def resources(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def inputs_of(self, type_: str) -> dict[str, Any]:
        (registration,) = self.resources(type_)
        return self.inputs[registration.name]

    def policy(self, type_: str) -> dict[str, Any]:
        return json.loads(self.inputs_of(type_)["policy"])  # type: ignore[no-any-return]


def run_program(stack: str, config: dict[str, Any]) -> ProgramRun:
    """Run the program for ``stack`` with ``config`` (``{"ephitup:s3Enabled": "true", ...}``)."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.settings.reset_options(project="ephitup", stack=stack)  # a new root stack per run
    pulumi.runtime.config.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    mocks = Mocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="ephitup", stack=stack, preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}
    _sync_await(run_pulumi_func(lambda: outputs.update(define(read_environment()))))
    resolved, secret = {}, set()
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        resolved[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(name)
    return ProgramRun(resolved, secret, monitor.registrations, mocks.invokes, mocks.inputs)
