"""The app's environment contract, read as data from ``app/env_contract.json`` (infra never imports app).

``app_env`` is the map of non-secret variables an environment hands the app: the Pulumi program
exports it and the blueprint renders it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # environment.py reads the contract's tunable variables: no import at run time
    from infra.environment import Environment

CONTRACT_FILE = Path(__file__).resolve().parent.parent / "app" / "env_contract.json"
SCALED_SCRATCH = "./data"  # scaled: no disk; the data folder only holds a request's spool, then nothing


@dataclass(frozen=True)
class ContractVar:
    name: str
    default: str | None
    meaning: str
    secret: bool
    blueprint: str
    s3_only: bool = False
    auth: str | None = None  # only for stacks whose ephitup:awsAuth is this
    cdn_only: bool = False  # only for stacks with ephitup:cdn on
    stack_key: str | None = None  # tunable per environment: ephitup:<stack_key> (infra/app_settings.py)
    type: str = "string"  # for tunable variables: int, float, choice or string; with their choices and bounds
    choices: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def applies_to(self, env: Environment) -> bool:
        scaled_only = self.blueprint == "database"
        return ((env.s3_enabled or not self.s3_only) and self.auth in (None, env.aws_auth)
                and (env.topology == "scaled" or not scaled_only) and (env.cdn or not self.cdn_only))


def load_contract(path: Path = CONTRACT_FILE) -> tuple[ContractVar, ...]:
    return tuple(ContractVar(**{**var, "choices": tuple(var.get("choices", ()))})
                 for var in json.loads(path.read_text())["variables"])


def app_env(env: Environment, bucket_name: str | None = None, access_point: str | None = None,
            role_arn: str | None = None, cdn: tuple[str, str] | None = None) -> dict[str, str]:
    """Every ``blueprint: value`` variable for this environment, in contract order (``cdn``: the distribution's
    domain and the key id its key group trusts)."""
    known: dict[str, str | None] = {
        "AWS_ROLE_ARN": role_arn,
        "DATA_FOLDER": env.mount_path if env.topology == "single" else SCALED_SCRATCH,
        "TOPOLOGY": env.topology,
        "STORAGE_MODE": "s3" if env.s3_enabled else "local",  # always stated: Render keeps removed vars
        "S3_BUCKET_NAME": bucket_name,
        "S3_ACCESS_POINT": access_point,
        "S3_REGION": env.region,
    }
    if env.cdn and cdn:
        known |= {"AUDIO_DELIVERY": "cdn", "CDN_DOMAIN": cdn[0], "CDN_KEY_ID": cdn[1]}
    values: dict[str, str] = {}
    for var in load_contract():
        if var.blueprint != "value" or not var.applies_to(env):
            continue
        value = known.get(var.name)
        if value is None:
            value = env.app_settings.get(var.name, var.default)
        if value is not None:
            values[var.name] = str(value)
    return values
