"""``app/env_contract.json``: the environment contract as data, generated from ``app.settings.Settings``.

``infra/`` reads this file (the blueprint, the stack outputs) because app and infra never import each
other. It is generated, never edited: ``ephitup contract`` writes it, ``ephitup contract --check``
(part of ``make test``) fails when the committed file no longer matches the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.settings import contract

CONTRACT_FILE = Path(__file__).with_name("env_contract.json")
ABOUT = ("The environment variables the app reads, generated from app/settings.py by `ephitup contract` (do not "
         "edit). blueprint: value (rendered with a value), sync (sync: false, set by hand in Render), generate "
         "(generateValue: true), platform (set by Render itself), absent (never on Render: local development and "
         "temporary credentials only), database (fromDatabase: the connection string of the environment's Render "
         "Postgres, scaled topology only). auth: only for stacks with that ephitup:awsAuth. cdn_only: only for "
         "stacks with ephitup:cdn on.")


def contract_document() -> dict[str, Any]:
    variables = []
    for name, variable in contract().items():
        variables.append({
            "name": name,
            "default": None if variable.default is None else _text(variable.default),
            "meaning": variable.meaning,
            "secret": variable.secret,
            "blueprint": variable.blueprint,
            "s3_only": variable.s3_only,
            "auth": variable.auth,
            "cdn_only": variable.cdn_only,
            "stack_key": variable.stack_key,
            **({"type": variable.kind, "choices": list(variable.choices)} if variable.tunable else {}),
            **{bound: getattr(variable, bound) for bound in ("ge", "gt", "le")
               if variable.tunable and getattr(variable, bound) is not None},
        })
    return {"_about": ABOUT, "variables": variables}


def _text(value: Any) -> str:
    """Defaults as the environment would spell them (``5.0`` is written ``5``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def contract_text() -> str:
    return json.dumps(contract_document(), indent=2) + "\n"


def is_current(path: Path = CONTRACT_FILE) -> bool:
    return path.exists() and path.read_text() == contract_text()


def write(path: Path = CONTRACT_FILE) -> None:
    path.write_text(contract_text())
