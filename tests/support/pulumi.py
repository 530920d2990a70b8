"""Run the Pulumi program under Pulumi's public unit-test API, as Pulumi documents it.

``pulumi.runtime.set_mocks`` answers resource registrations and invokes; ``@pulumi.runtime.test`` runs
the program and waits for its outputs; a stack transformation (``register_stack_transformation``)
sees every resource with its options (parent, protect, retain-on-delete, secret outputs), which
``MockResourceArgs`` alone does not carry. Each run starts from fresh options and config.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.program import define, read_environment

ACCOUNT = "123456789012"
REGION = "us-east-2"
FAKE_KEY_ID = "AKIDMOCKEXAMPLE00001"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documentation example
CDN_KEY_ID, CDN_DISTRIBUTION, CDN_DOMAIN = "K2JCJMDEHXQW5F", "EDFDVBD6EXAMPLE", "d111111abcdef8.cloudfront.net"
CDN_PRIVATE_PEM = "-----BEGIN PRIVATE KEY-----\nMOCK\n-----END PRIVATE KEY-----\n"  # never parsed by the program
CDN_PUBLIC_PEM = "-----BEGIN PUBLIC KEY-----\nMOCK\n-----END PUBLIC KEY-----\n"


@dataclass
class Registration:
    type: str
    name: str
    parent: str  # "type::name" of the parent resource
    protect: bool
    retain_on_delete: bool
    secret_outputs: list[str]
    props: dict[str, Any] = field(default_factory=dict, repr=False)
    secret_inputs: set[str] = field(default_factory=set)  # the inputs passed as secret Outputs


class Mocks(pulumi.runtime.Mocks):
    """Cloud-assigned values for the resources the program reads back (names, ARNs, the key's secret)."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        self.invokes: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = args.inputs
        state = dict(args.inputs)
        if args.typ == "aws:s3/bucket:Bucket":
            name = args.inputs.get("bucket") or f"{args.inputs['bucketPrefix']}20261124abcdef"
            state.update(bucket=name, arn=f"arn:aws:s3:::{name}")
        elif args.typ == "aws:s3/accessPoint:AccessPoint":
            name = args.inputs["name"]
            state.update(arn=f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/{name}", alias=f"{name}-abc123-s3alias")
        elif args.typ == "aws:iam/user:User":
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:user{args.inputs['path']}{args.inputs['name']}")
        elif args.typ == "aws:iam/role:Role":
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:role{args.inputs['path']}{args.inputs['name']}")
        elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            state.update(arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{args.inputs['url'].removeprefix('https://')}")
        elif args.typ == "aws:iam/accessKey:AccessKey":
            return FAKE_KEY_ID, {**state, "secret": FAKE_SECRET}
        elif args.typ == "tls:index/privateKey:PrivateKey":
            state.update(private_key_pem=CDN_PRIVATE_PEM, public_key_pem=CDN_PUBLIC_PEM)
        elif args.typ == "aws:cloudfront/publicKey:PublicKey":
            return CDN_KEY_ID, state
        elif args.typ == "aws:cloudfront/distribution:Distribution":
            state.update(arn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/{CDN_DISTRIBUTION}", domain_name=CDN_DOMAIN)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.invokes.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDAMOCK", "id": ACCOUNT}
        return {}


@dataclass
class ProgramRun:
    outputs: dict[str, Any]
    secret_outputs: set[str]
    registrations: list[Registration]
    invokes: list[str]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    pulumi.runtime.reset_options(project="ephitup", stack=stack)  # a new root stack per run
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="ephitup", stack=stack, preview=False)
    run = ProgramRun({}, set(), [], mocks.invokes, mocks.inputs)
    names: dict[int, str] = {id(pulumi.runtime.get_root_resource()): "pulumi:pulumi:Stack::ephitup-" + stack}
    run.registrations.append(Registration("pulumi:pulumi:Stack", f"ephitup-{stack}", "", False, False, []))

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        names[id(args.resource)] = f"{args.type_}::{args.name}"
        opts = args.opts
        run.registrations.append(Registration(
            args.type_, args.name, names.get(id(opts.parent), "") if opts.parent else "", bool(opts.protect),
            bool(opts.retain_on_delete), list(opts.additional_secret_outputs or []), dict(args.props or {})))

    pulumi.runtime.register_stack_transformation(record)

    @pulumi.runtime.test
    def program() -> Any:
        return _resolved(define(read_environment()), run)

    program()
    return run


async def _resolved(outputs: dict[str, Any], run: ProgramRun) -> None:
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        run.outputs[name] = await output.future()
        if await output.is_secret():
            run.secret_outputs.add(name)
    for registration in run.registrations:
        for name, value in registration.props.items():
            if isinstance(value, pulumi.Output) and await value.is_secret():
                registration.secret_inputs.add(name)
