"""The app settings an operator tunes per environment: stack keys generated from the app's contract, typed and
bounded as the app's settings model says, rendered for that environment only."""

from __future__ import annotations

import json

import pytest
import yaml

from app.settings import contract
from infra.app_settings import settings_model
from infra.blueprint import StackInput, render, schema_errors, services_of
from infra.environment import ConfigError, Environment, stack_keys
from tests.support.paths import FIXTURES, GOLDEN, ROOT

OUTPUTS = json.loads((FIXTURES / "prod.outputs.json").read_text())
SCHEMA_FILE = ROOT.parent / "shared" / "schemas" / "render-blueprint.schema.json"


def stack(name: str, **config: str) -> Environment:
    document = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())
    return Environment.from_values(name, {**document["config"], **{f"ephitup:{k}": v for k, v in config.items()}})


def variables(text: str) -> dict[str, dict[str, str]]:
    return {service["name"]: {v["key"]: v.get("value") for v in service["envVars"]}
            for service in services_of(yaml.safe_load(text))}


def test_every_tunable_variable_is_a_stack_key_named_after_it() -> None:
    tunable = {name: variable for name, variable in contract().items() if variable.tunable}
    assert {"AUDIO_DELIVERY", "MAX_UPLOAD_MB", "S3_READ_TIMEOUT", "S3_MAX_CONNECTIONS", "RECONCILE_INTERVAL_SECONDS",
            "HEALTH_CHECK_SECONDS", "DISK_DEGRADED_PERCENT", "DISK_ERROR_PERCENT"} <= set(tunable)
    keys = stack_keys()
    assert keys["ephitup:maxUploadMb"].description == tunable["MAX_UPLOAD_MB"].meaning
    assert keys["ephitup:audioDelivery"].default == "proxy" and "ephitup:s3ReadTimeout" in keys
    assert {info.alias for info in settings_model().model_fields.values()} == {
        f"ephitup:{variable.stack_key}" for variable in tunable.values()}


def test_a_stack_sets_its_own_delivery_and_upload_limit_and_the_other_keeps_the_defaults() -> None:
    tuned = stack("prod", audioDelivery="redirect", maxUploadMb="500", s3ReadTimeout="2.5")
    text = render([StackInput(stack("dev"), None), StackInput(tuned, OUTPUTS)])
    by_service = variables(text)
    assert (by_service["ephitup-prod"]["AUDIO_DELIVERY"], by_service["ephitup-prod"]["MAX_UPLOAD_MB"]) == (
        "redirect", "500")
    assert by_service["ephitup-prod"]["S3_READ_TIMEOUT"] == "2.5"
    assert (by_service["ephitup-dev"]["AUDIO_DELIVERY"], by_service["ephitup-dev"]["MAX_UPLOAD_MB"]) == (
        "proxy", "200")
    assert text == (GOLDEN / "tuned.render.yaml").read_text()
    if SCHEMA_FILE.exists():
        assert schema_errors(yaml.safe_load(text), json.loads(SCHEMA_FILE.read_text())) == []


@pytest.mark.parametrize("key,value,expected", [
    ("maxUploadMb", "0", "ephitup:maxUploadMb='0' is invalid: expected a number of at least 1"),
    ("maxUploadMb", "lots", "ephitup:maxUploadMb='lots' is invalid: expected a whole number"),
    ("audioDelivery", "carrier-pigeon", "ephitup:audioDelivery='carrier-pigeon' is invalid: expected one of proxy, "
                                        "redirect or cdn"),
    ("diskErrorPercent", "120", "ephitup:diskErrorPercent='120' is invalid: expected a number of at most 100"),
    ("s3ReadTimeout", "soon", "ephitup:s3ReadTimeout='soon' is invalid: expected a number"),
    ("audioDelivery", "cdn", "ephitup:audioDelivery=cdn but ephitup:cdn is false"),
])
def test_a_value_the_app_would_refuse_is_refused_naming_the_stack_key(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        stack("prod", **{key: value})
    assert expected in str(refused.value)
    assert "-s prod" in str(refused.value)


def test_a_rule_across_settings_is_refused_at_render_naming_both_stack_keys(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from scripts.cli import main

    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"].update({"ephitup:diskDegradedPercent": "99", "ephitup:diskErrorPercent": "95"})
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.chdir(tmp_path)
    assert main(["render", "--stack", "dev"]) == 2
    error = capsys.readouterr().err
    assert "service ephitup-dev: the app would refuse its environment" in error
    assert "ephitup:diskDegradedPercent (DISK_DEGRADED_PERCENT)=99" in error and "ephitup:diskErrorPercent" in error
    assert "Traceback" not in error
