"""The app settings an operator tunes per environment, as stack keys generated from the app's contract.

Every variable ``app/env_contract.json`` marks tunable (``MAX_UPLOAD_MB``) is a stack key of its own
(``ephitup:maxUploadMb``), typed and bounded exactly as the contract says (the app's settings model wrote
it): a value the app would refuse is refused when the stack is read, naming the key. ``Pulumi.yaml``
declares them with the other keys; the blueprint renders what a stack sets, the app's default otherwise.
This module must not import pulumi.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from infra.contract import ContractVar, load_contract
from infra.names import PROJECT

_TYPES: dict[str, Any] = {"int": int, "float": float, "string": str}


def tunables() -> tuple[ContractVar, ...]:
    return tuple(var for var in load_contract() if var.stack_key)


@functools.cache
def settings_model() -> type[BaseModel]:
    """A model whose fields are the tunable variables, each aliased to its stack key."""
    fields: dict[str, Any] = {}
    for var in tunables():
        kind = Literal[var.choices] if var.type == "choice" else _TYPES[var.type]  # type: ignore[valid-type]
        bounds = {bound: getattr(var, bound) for bound in ("ge", "gt", "le") if getattr(var, bound) is not None}
        # Pulumi types config as integer or string (no float): an int default is an int, the rest stay text
        default = int(var.default) if var.type == "int" and var.default is not None else var.default
        fields[var.name] = (kind, Field(default, alias=f"{PROJECT}:{var.stack_key}", description=var.meaning,
                                        **bounds))
    return create_model("AppSettings", __config__=ConfigDict(extra="forbid", validate_default=True), **fields)


def as_text(value: Any) -> str:
    """As the environment spells it (``5.0`` is written ``5``), the contract's defaults' way."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
