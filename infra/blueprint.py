"""Render's blueprint (``render.yaml``) from stack files and stack outputs, through Jinja2.

Input: ``Pulumi.<stack>.yaml`` (read with pyyaml) and, for stacks with S3 on, that stack's outputs as
``pulumi stack output --json`` prints them. The renderer refuses, naming the stack, the key and the
fix, whatever Render's schema would not catch: a secret about to be written, a disk with more than one
instance or with autoscaling, a data folder that is not the disk. This module must not import pulumi.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from infra.contract import app_env, load_contract
from infra.environment import ConfigError, Environment
from infra.names import PROJECT
from infra.outputs import AWS_KEY_ID, AWS_SECRET, BLUEPRINT_KEYS, CDN_KEYS, SECRET_KEYS

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.11.11"
# The locked versions, hash-checked (ephitup lock): what is deployed is what was tested.
BUILD_COMMAND = ("pip install --upgrade pip && pip install --require-hashes -r requirements.lock && "
                 "pip install --no-deps .")
START_COMMAND = "uvicorn app.main:app --host 0.0.0.0 --port $PORT"
SCHEMA_COMMAND = "ephitup schema"  # the records' schema steps, before a deploy takes traffic
# A pull request's preview runs on a disk of its own with S3 off: no AWS credential reaches it (sync: false
# values are never asked for a preview), and the app serves the audio.
PREVIEW_VALUES = {"STORAGE_MODE": "local", "AUDIO_DELIVERY": "proxy"}


class RenderError(ConfigError):
    """The blueprint cannot be rendered as asked; the message names the stack, the key and the fix."""


@dataclass(frozen=True)
class StackInput:
    env: Environment
    outputs: Mapping[str, Any] | None = None


def stack_file(stack: str, directory: Path | None = None) -> Path:
    """``Pulumi.<stack>.yaml`` in ``directory`` (default: the current one, as for the Pulumi CLI)."""
    return (directory or Path.cwd()) / f"Pulumi.{stack}.yaml"


def known_stacks(directory: Path | None = None) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (directory or Path.cwd()).glob("Pulumi.*.yaml"))


def load_stack(stack: str, outputs: Mapping[str, Any] | None = None, directory: Path | None = None) -> StackInput:
    path = stack_file(stack, directory)
    if not path.exists():
        known = ", ".join(known_stacks(directory)) or f"none in {path.parent}"
        raise RenderError(f"unknown stack {stack!r}: no {path.name} (known: {known}); "
                          f"create it with `pulumi stack init {stack}`")
    try:
        return StackInput(Environment.from_stack_file(path), outputs)
    except ConfigError as error:
        raise RenderError(str(error)) from None


def read_outputs(text: str, source: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise RenderError(f"{source} is not JSON ({error.msg}): pass what `pulumi stack output --json` prints") \
            from None
    if not isinstance(outputs, dict):
        raise RenderError(f"{source} is not a JSON object of stack outputs")
    return outputs


def render(stacks: Iterable[StackInput], root: Path = ROOT, grouped: bool | None = None) -> str:
    """The blueprint for one stack (top-level services) or several (projects/environments).

    ``grouped`` keeps the project form for one stack (the repository's blueprint, while the others wait
    for their outputs: a service must not move out of its environment when they arrive); ``root`` holds
    render.yaml.j2 and templates/ (the package's own by default)."""
    stacks = [stack for stack in stacks if not stack.env.ci_roles]  # CI's identity: a stack with no service
    if not stacks:
        raise RenderError("no stack to render: pass --stack NAME")
    environments = [{"name": s.env.stack, "service": _service(s), "databases": _databases(s)} for s in stacks]
    text = templates(root).get_template("render.yaml.j2").render(
        grouped=len(stacks) > 1 if grouped is None else grouped, project=PROJECT, environments=environments,
        previews=_previews(stacks),
        sources=[stack_file(s.env.stack).name for s in stacks],
    )
    check_blueprint(yaml.safe_load(text), stacks)
    _refuse_secrets(text, stacks)
    return text


def _previews(stacks: list[StackInput]) -> dict[str, Any] | None:
    """The Blueprint's preview environments: on when a stack turns them on (each service says its own
    generation), kept the fewest days any of them asks for."""
    on = [s.env for s in stacks if s.env.render_previews != "off"]
    if not on:
        return None
    generation = "automatic" if any(env.render_previews == "automatic" for env in on) else "manual"
    return {"generation": generation, "expire_after_days": min(env.render_preview_expire_days for env in on)}


def templates(root: Path = ROOT) -> jinja2.Environment:
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader([root, root / "templates"]), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, autoescape=False,
    )
    templates.filters["scalar"] = yaml_scalar
    templates.filters["shell"] = lambda value: shlex.quote(str(value))
    return templates


def yaml_scalar(value: Any) -> str:
    """One YAML scalar: integers and booleans as such, everything else as a double-quoted string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _service(stack: StackInput) -> dict[str, Any]:
    env = stack.env
    service: dict[str, Any] = {
        "name": env.render_service,
        "plan": env.render_plan,
        "region": env.render_region,
        "num_instances": env.num_instances,
        "health_check_path": "/health",
        "build_command": BUILD_COMMAND,
        "start_command": START_COMMAND,
        "auto_deploy": "commit",
        "disk": {"name": env.disk_name, "mount_path": env.mount_path, "size_gb": env.disk_size_gb},
        "scaling": None,
        "pre_deploy_command": None,
        "env_vars": _env_vars(stack),
        "previews": None if env.render_previews == "off" else {"generation": env.render_previews,
                                                              "plan": env.render_preview_plan},
    }
    if env.topology == "scaled":  # no disk: several instances, the schema applied before each deploy
        service.update(disk=None, pre_deploy_command=SCHEMA_COMMAND, num_instances=env.min_instances)
        if env.max_instances > env.min_instances:
            service.update(num_instances=None, scaling={"min": env.min_instances, "max": env.max_instances,
                                                        "cpu": env.target_cpu_percent})
    return service


def database_name(env: Environment) -> str:
    return f"{env.render_service}-records"


def _databases(stack: StackInput) -> list[dict[str, Any]]:
    env = stack.env
    if env.topology != "scaled" and not env.provision_database:
        return []
    return [{"name": database_name(env), "plan": env.database_plan, "region": env.database_region or env.render_region,
             "version": env.postgres_major_version, "disk_size_gb": env.database_disk_size_gb}]


def _env_vars(stack: StackInput) -> list[dict[str, Any]]:
    env = stack.env
    bucket = access_point = role_arn = cdn = None
    if env.s3_enabled:
        outputs = _required_outputs(stack)
        bucket, access_point, role_arn = outputs["bucket_name"], outputs["access_point_arn"], outputs.get("role_arn")
        cdn = (outputs["cdn_domain"], outputs["cdn_key_id"]) if env.cdn else None
    values = app_env(env, bucket, access_point, role_arn, cdn)
    rendered: list[dict[str, Any]] = [{"key": "PYTHON_VERSION", "kind": "value", "value": PYTHON_VERSION}]
    for var in load_contract():
        if not var.applies_to(env):
            continue
        if var.blueprint == "value":
            preview = PREVIEW_VALUES.get(var.name) if env.render_previews != "off" else None
            rendered.append({"key": var.name, "kind": "value", "value": values[var.name],
                             "preview_value": preview if preview != values[var.name] else None})
        elif var.blueprint in ("sync", "generate"):
            rendered.append({"key": var.name, "kind": var.blueprint})
        elif var.blueprint == "database":
            rendered.append({"key": var.name, "kind": "database", "database": database_name(env)})
    return rendered


def _required_outputs(stack: StackInput) -> Mapping[str, Any]:
    name = stack.env.stack
    fix = f"run `pulumi up -s {name}`, then `pulumi stack output --json -s {name} | ephitup outputs import " \
          f"--stack {name}` and commit outputs/{name}.json (or pass --outputs {name}=FILE)"
    if stack.outputs is None:
        raise RenderError(f"stack {name}: ephitup:s3Enabled is true but no outputs were given: {fix}")
    needed = (*BLUEPRINT_KEYS, *(CDN_KEYS if stack.env.cdn else ()))
    missing = [key for key in needed if not stack.outputs.get(key)]
    if missing:
        raise RenderError(f"stack {name}: the outputs lack {', '.join(missing)}: {fix}")
    if stack.outputs["storage_mode"] != "s3":
        raise RenderError(f"stack {name}: ephitup:s3Enabled is true but the outputs say storage_mode "
                          f"{stack.outputs['storage_mode']!r}: {fix}")
    return stack.outputs


def check_blueprint(document: Mapping[str, Any], stacks: list[StackInput]) -> None:
    """Render's rules its schema does not express: one instance and no autoscaling with a disk, DATA_FOLDER
    exactly the disk's mount path (anything written elsewhere vanishes on redeploy), and a database in the
    region of the service that uses it."""
    stack_of = {s.env.render_service: s.env.stack for s in stacks}
    regions = {d.get("name"): d.get("region") for d in databases_of(document)}
    for service in services_of(document):
        name = service.get("name", "?")
        where = f"stack {stack_of.get(name, '?')}: service {name}"
        for var in service.get("envVars", []):
            linked = var.get("fromDatabase", {}).get("name")
            if linked and regions.get(linked) != service.get("region"):
                raise RenderError(f"{where}: database {linked} is in {regions.get(linked)}, the service in "
                                  f"{service.get('region')}: a database is reached only within its region (fix: "
                                  "pulumi config rm ephitup:databaseRegion)")
        disk = service.get("disk")
        if not disk:
            continue
        if service.get("numInstances", 1) != 1:
            raise RenderError(f"{where}: numInstances={service['numInstances']} with a disk: a service with a disk "
                              "runs exactly one instance (fix: pulumi config set ephitup:numInstances 1)")
        if "scaling" in service:
            raise RenderError(f"{where}: autoscaling with a disk: Render cannot scale a service that has a disk "
                              "(fix: remove `scaling`, or keep audio in S3 and drop the disk)")
        mount = str(disk.get("mountPath", ""))
        if not mount.startswith("/"):
            raise RenderError(f"{where}: disk.mountPath={mount!r} is not absolute "
                              "(fix: pulumi config set ephitup:mountPath /mydata)")
        data_folder = {v.get("key"): v.get("value") for v in service.get("envVars", [])}.get("DATA_FOLDER")
        if data_folder != mount:
            raise RenderError(f"{where}: DATA_FOLDER={data_folder!r} differs from disk.mountPath={mount!r}: data "
                              "outside the mount vanishes on redeploy (fix: render DATA_FOLDER from the mount path)")


def databases_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every database, whether the blueprint is flat or grouped by project/environment."""
    found = list(document.get("databases", []))
    for project in document.get("projects", []):
        for environment in project.get("environments", []):
            found += environment.get("databases", [])
    return found


def services_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every service, whether top level or inside projects/environments."""
    found = list(document.get("services") or [])
    for project in document.get("projects") or []:
        for environment in project.get("environments") or []:
            found += environment.get("services") or []
    return found


def _refuse_secrets(text: str, stacks: list[StackInput]) -> None:
    for stack in stacks:
        for key in SECRET_KEYS:
            value = (stack.outputs or {}).get(key)
            if isinstance(value, str) and len(value) >= 8 and value != "[secret]" and value in text:
                raise RenderError(f"stack {stack.env.stack}: refusing to write the secret output {key} into the "
                                  "blueprint (credentials are sync: false: set them in Render)")
    for pattern, what in ((AWS_KEY_ID, "an AWS access key id"), (AWS_SECRET, "an AWS secret access key")):
        match = pattern.search(text)
        if match:
            line = text[: match.start()].count("\n") + 1
            names = ", ".join(s.env.stack for s in stacks)
            raise RenderError(f"stack {names}: refusing to write what looks like {what} (blueprint line {line}); "
                              "secrets belong in Render's dashboard (sync: false), never in render.yaml")


def schema_errors(document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Errors from Render's JSON schema, reported against the service they concern.

    jsonschema's overall verdict on a service is an ``anyOf`` over every service kind, whose "best
    match" often blames the wrong kind; each web service is therefore checked against
    ``serverService`` itself.
    """
    from jsonschema.validators import validator_for  # a dev dependency: only for schema checks

    cls = validator_for(schema)
    if not list(cls(schema).iter_errors(document)):
        return []
    server = {**schema, "$ref": "#/definitions/serverService"}
    server.pop("allOf", None)
    errors = []
    for service in services_of(document):
        for error in cls(server).iter_errors(service):
            path = ".".join(str(p) for p in error.absolute_path) or "(service)"
            errors.append(f"service {service.get('name', '?')}: {path}: {error.message}")
    if not errors:  # the problem is outside the services
        errors = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                  for e in cls(schema).iter_errors(document)]
    return errors
