"""Render preview environments from stack keys: the Blueprint's previews block, each service's own generation and
plan, and previewValue overrides that run a pull request's preview on its disk with S3 off and no credential."""

from __future__ import annotations

import json

import pytest
import yaml

from app.settings import Settings
from infra.blueprint import StackInput, render, schema_errors, services_of
from infra.environment import ConfigError, Environment
from tests.support.paths import FIXTURES, GOLDEN, ROOT

OUTPUTS = json.loads((FIXTURES / "prod.outputs.json").read_text())
SCHEMA_FILE = ROOT.parent / "shared" / "schemas" / "render-blueprint.schema.json"


def stack(name: str, **config: str) -> Environment:
    document = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())
    return Environment.from_values(name, {**document["config"], **{f"ephitup:{k}": v for k, v in config.items()}})


def previewed() -> str:
    return render([StackInput(stack("dev"), None),
                   StackInput(stack("prod", renderPreviews="manual", renderPreviewExpireDays="2"), OUTPUTS)])


def test_a_stack_with_previews_renders_them_golden_and_valid_against_renders_schema() -> None:
    text = previewed()
    assert text == (GOLDEN / "previews.render.yaml").read_text()
    document = yaml.safe_load(text)
    if SCHEMA_FILE.exists():
        assert schema_errors(document, json.loads(SCHEMA_FILE.read_text())) == []
    assert document["previews"] == {"generation": "manual", "expireAfterDays": 2}
    services = {s["name"]: s for s in services_of(document)}
    assert services["ephitup-prod"]["previews"] == {"generation": "manual", "plan": "starter"}
    assert "previews" not in services["ephitup-dev"]
    prod = {v["key"]: v for v in services["ephitup-prod"]["envVars"]}
    assert prod["STORAGE_MODE"] == {"key": "STORAGE_MODE", "value": "s3", "previewValue": "local"}
    assert not [v for v in services["ephitup-dev"]["envVars"] if "previewValue" in v]


def test_a_preview_environment_starts_on_its_disk_with_s3_off_and_no_credential(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (service,) = [s for s in services_of(yaml.safe_load(previewed())) if s["name"] == "ephitup-prod"]
    preview = {v["key"]: str(v.get("previewValue", v["value"])) for v in service["envVars"] if "value" in v}
    preview |= {"DATA_FOLDER": str(tmp_path), "IS_PULL_REQUEST": "true"}  # Render sets IS_PULL_REQUEST on previews
    settings = Settings.from_env(preview)  # no AWS key: a preview is never asked for sync: false values
    assert settings.storage.mode == "local" and settings.storage.problems == ()


def test_previews_are_refused_for_a_scaled_stack_in_one_line() -> None:
    document = yaml.safe_load((FIXTURES / "scaled" / "Pulumi.staging.yaml").read_text())
    with pytest.raises(ConfigError, match="renderPreviews=automatic with topology=scaled"):
        Environment.from_values("staging", {**document["config"], "ephitup:renderPreviews": "automatic"})
