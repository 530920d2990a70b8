"""``Pulumi.yaml``, generated from the stack model (``infra/environment.py``): the keys are declared once.

``ephitup contract`` writes it, ``ephitup contract --check`` (and ``make test``) fails when the
committed file no longer matches the model, as ``env_contract.json`` does for the app's settings. This
module must not import pulumi.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml

from infra import names
from infra.environment import stack_keys

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
HEADER = ("# Generated from infra/environment.py by `ephitup contract`: edit the model, not this file.\n"
          "# Provider keys (aws:region) may only carry a value: Pulumi rejects a type or default outside the\n"
          "# project's namespace; a stack overrides it with `pulumi config set aws:region <region>`.\n")
# Secret stack keys are read with get_secret in the program only: the typed model holds no secrets.
SECRET_KEYS = {names.RENDER_API_KEY_CONFIG: "accessKey delivery: the Render API key, if kept with the stack (pulumi "
                                            "config set --secret); else RENDER_API_KEY in the shell running pulumi"}
_TYPES = {bool: "boolean", int: "integer", str: "string", tuple: "array", float: "string"}  # Pulumi has no float


def pulumi_type(annotation: Any) -> str:
    """The Pulumi config type of a model field: the first concrete type inside Annotated/Optional/Literal."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return pulumi_type(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return "string"
    if origin in (tuple, list):
        return "array"
    if origin is not None:  # a union such as str | None
        return pulumi_type(next(a for a in typing.get_args(annotation) if a is not type(None)))
    return _TYPES[annotation]


def project_document() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, info in stack_keys().items():
        namespace, key = name.split(":")
        if namespace != names.PROJECT:
            config[name] = {"value": info.default, "description": info.description}
            continue
        kind = pulumi_type(info.annotation)
        default = list(info.default) if isinstance(info.default, tuple) else info.default
        config[key] = {"type": kind, **({"items": {"type": "string"}} if kind == "array" else {}),
                       "default": "" if default is None else default, "description": info.description}
    for key, meaning in SECRET_KEYS.items():
        config[key] = {"type": "string", "secret": True, "description": meaning}
    return {"name": names.PROJECT,
            "description": "Per-environment storage for the ephitup app on Render (S3 bucket, access point, "
                           "least-privilege IAM user)",
            "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
            "main": "infra/", "config": config}


def project_text() -> str:
    return HEADER + yaml.safe_dump(project_document(), sort_keys=False, width=120, allow_unicode=True)


def is_current(path: Path = PROJECT_FILE) -> bool:
    return path.exists() and path.read_text() == project_text()


def write(path: Path = PROJECT_FILE) -> None:
    path.write_text(project_text())
