"""The Render blueprint: golden files, Render's schema, every field, secrets, refusals, the contract."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.contract import contract_document
from infra.blueprint import RenderError, StackInput, check_blueprint, load_stack, render, schema_errors, services_of
from infra.environment import ConfigError, Environment
from scripts.cli import main
from tests.support.paths import FIXTURES, GOLDEN, ROOT

SCHEMA_FILE = ROOT.parent / "shared" / "schemas" / "render-blueprint.schema.json"
OUTPUTS = json.loads((FIXTURES / "prod.outputs.json").read_text())
SHOWN = json.loads((FIXTURES / "prod.outputs.show-secrets.json").read_text())
SECRETS = (SHOWN["secret_access_key"], SHOWN["access_key_id"])


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # stack files are read from the current directory, as Pulumi does


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_FILE.exists():
        pytest.skip(f"Render's schema is not at {SCHEMA_FILE} (shared/ lies beside the clone in CI)")
    return json.loads(SCHEMA_FILE.read_text())  # type: ignore[no-any-return]


def rendered(*stacks: str) -> str:
    return render([load_stack(s, OUTPUTS if s == "prod" else None) for s in stacks])


GOLDENS = [(("dev",), "dev"), (("prod",), "prod"), (("dev", "prod"), "dev+prod")]


@pytest.mark.parametrize("stacks,golden", GOLDENS)
def test_golden_blueprints(stacks: tuple[str, ...], golden: str) -> None:
    assert rendered(*stacks) == (GOLDEN / f"{golden}.render.yaml").read_text()


@pytest.mark.parametrize("golden", [name for _, name in GOLDENS])
def test_golden_blueprints_validate_against_renders_schema(golden: str, schema) -> None:
    assert schema_errors(yaml.safe_load((GOLDEN / f"{golden}.render.yaml").read_text()), schema) == []


def test_the_committed_render_yaml_holds_the_stacks_ready_to_start_and_a_bare_check_passes(
        capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["render", "--check"]) == 0
    out, err = capsys.readouterr()
    assert "render.yaml is up to date" in out
    assert "stack prod left out: S3 is on and outputs/prod.json does not exist yet" in err
    assert "pulumi up -s prod" in err
    assert (ROOT / "render.yaml").read_text() == render([load_stack("dev")], grouped=True)


def test_a_stack_with_s3_joins_the_blueprint_once_its_outputs_are_imported(capsys, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir(tmp_path, monkeypatch)
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    assert main(["render"]) == 0 and "stack prod left out" in capsys.readouterr().err
    only_dev = (tmp_path / "render.yaml").read_text()
    assert "ephitup-prod" not in only_dev and "projects:" in only_dev  # dev keeps its place when prod joins
    assert main(["outputs", "import", "--stack", "prod", "--from", "prod.json"]) == 0
    assert main(["render"]) == 0 and "left out" not in capsys.readouterr().err
    assert (tmp_path / "render.yaml").read_text() == (GOLDEN / "dev+prod.render.yaml").read_text()


def test_one_stack_goes_to_standard_output_never_over_the_committed_file(capsys, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert main(["render", "--stack", "dev"]) == 0
    assert capsys.readouterr().out == rendered("dev") and not (tmp_path / "render.yaml").exists()
    assert main(["render", "--stack", "dev", "--check"]) == 2  # --check compares a file: say which


def env_vars(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {var["key"]: var for var in service["envVars"]}


def test_prod_blueprint_fields() -> None:
    (service,) = yaml.safe_load(rendered("prod"))["services"]
    assert {k: service[k] for k in ("type", "name", "runtime", "plan", "region", "numInstances", "healthCheckPath",
                                    "autoDeployTrigger")} == {
        "type": "web", "name": "ephitup-prod", "runtime": "python", "plan": "standard", "region": "ohio",
        "numInstances": 1, "healthCheckPath": "/health", "autoDeployTrigger": "commit"}
    assert "pip install" in service["buildCommand"] and "uvicorn app.main:app" in service["startCommand"]
    assert service["disk"] == {"name": "ephitup-data", "mountPath": "/mydata", "sizeGB": 20}
    variables = env_vars(service)
    assert variables["DATA_FOLDER"]["value"] == service["disk"]["mountPath"]
    assert variables["STORAGE_MODE"]["value"] == "s3"
    assert variables["S3_BUCKET_NAME"]["value"] == OUTPUTS["bucket_name"]
    assert variables["S3_ACCESS_POINT"]["value"] == OUTPUTS["access_point_arn"]
    assert variables["S3_REGION"]["value"] == "us-east-2"
    assert variables["AWS_ACCESS_KEY_ID"] == {"key": "AWS_ACCESS_KEY_ID", "sync": False}
    assert variables["AWS_SECRET_ACCESS_KEY"] == {"key": "AWS_SECRET_ACCESS_KEY", "sync": False}
    assert variables["APP_TOKEN"] == {"key": "APP_TOKEN", "generateValue": True}


def test_dev_blueprint_states_local_mode_and_no_s3_variable() -> None:
    (service,) = yaml.safe_load(rendered("dev"))["services"]
    variables = env_vars(service)
    assert variables["STORAGE_MODE"]["value"] == "local"
    assert not [k for k in variables if k.startswith(("S3_", "AWS_"))
                and k not in ("S3_CONNECT_TIMEOUT", "S3_READ_TIMEOUT", "S3_MAX_ATTEMPTS")]
    assert service["plan"] == "starter" and service["disk"]["sizeGB"] == 10


def test_several_stacks_are_grouped_by_environment_with_suffixed_names() -> None:
    document = yaml.safe_load(rendered("dev", "prod"))
    assert "services" not in document
    (project,) = document["projects"]
    assert project["name"] == "ephitup"
    assert [(e["name"], [s["name"] for s in e["services"]]) for e in project["environments"]] == [
        ("dev", ["ephitup-dev"]), ("prod", ["ephitup-prod"])]


def test_every_scalar_is_quoted_so_yaml_cannot_turn_it_into_a_boolean() -> None:
    for line in rendered("prod").splitlines():
        if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            value = line.split(":", 1)[1].strip()
            assert value.startswith('"') or re.fullmatch(r"\d+|true|false", value), line


def test_a_secret_in_the_outputs_appears_nowhere(capsys: pytest.CaptureFixture[str], caplog, tmp_path: Path) -> None:
    text = render([load_stack("prod", SHOWN)])
    assert not [s for s in SECRETS if s in text]
    outputs = tmp_path / "prod.json"
    outputs.write_text(json.dumps(SHOWN))
    assert main(["render", "--stack", "prod", "--outputs", str(outputs), "-o", "-"]) == 0
    assert main(["render", "--stack", "dev", "--stack", "prod", "--outputs", str(outputs), "-o", "-"]) == 0
    assert main(["render", "--stack", "nope", "--outputs", f"nope={outputs}"]) == 2  # an error path too
    printed = capsys.readouterr()
    assert not [s for s in SECRETS if s in printed.out + printed.err + caplog.text]


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["render", "-o", "-", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert not [s for s in SECRETS if s in captured.err]
    return lines[0]


def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: str) -> None:
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    document = yaml.safe_load((tmp_path / "Pulumi.prod.yaml").read_text())
    document["config"].update({f"ephitup:{k}": v for k, v in config.items()})
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "prod.json").write_text(json.dumps(OUTPUTS))
    monkeypatch.chdir(tmp_path)


def test_refuses_a_secret_shaped_value(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir(tmp_path, monkeypatch)
    (tmp_path / "prod.json").write_text(json.dumps({**OUTPUTS, "bucket_name": SHOWN["access_key_id"]}))
    line = refusal(capsys, "--stack", "prod", "--outputs", "prod.json")
    assert "stack prod: outputs key bucket_name holds a secret-shaped value" in line


@pytest.mark.parametrize("key,value,expected", [
    ("renderPlan", "free", "ephitup:renderPlan='free' is invalid: expected a paid instance type"),
    ("numInstances", "2", "numInstances=2 with a disk"),
    ("mountPath", "mydata", "ephitup:mountPath='mydata' is invalid: expected an absolute path"),
])
def test_refuses_what_renders_schema_does_not_catch(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    key: str, value: str, expected: str) -> None:
    stack_dir(tmp_path, monkeypatch, **{key: value})
    line = refusal(capsys, "--stack", "prod", "--outputs", "prod.json")
    assert "stack prod" in line and expected in line and ("fix" in line or "pulumi config set" in line)


def test_refuses_s3_without_outputs(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir(tmp_path, monkeypatch)  # no outputs/prod.json there
    line = refusal(capsys, "--stack", "prod")
    assert "stack prod: ephitup:s3Enabled is true but no outputs" in line and "ephitup outputs import" in line


@pytest.mark.parametrize("change,expected", [
    ({"stack": "staging"}, "stack prod: these outputs are stack 'staging''s (project 'ephitup'), not ephitup/prod's"),
    ({"region": "eu-west-1"}, "the outputs' region 'eu-west-1' is not the stack's aws:region 'us-east-2'"),
    ({"bucket_name": "ephitup-staging-1"}, "bucket 'ephitup-staging-1' is not this stack's (ephitup-prod-...)"),
    ({"access_point_arn": "arn:aws:s3:us-east-2:123456789012:accesspoint/ephitup-staging"},
     "access point 'arn:aws:s3:us-east-2:123456789012:accesspoint/ephitup-staging' is not this stack's"),
])
def test_refuses_another_stacks_outputs(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        change: dict[str, str], expected: str) -> None:
    stack_dir(tmp_path, monkeypatch)
    (tmp_path / "other.json").write_text(json.dumps({**OUTPUTS, **change}))
    assert expected in refusal(capsys, "--stack", "prod", "--outputs", "prod=other.json")


def test_refuses_outputs_for_a_stack_with_s3_off(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    (tmp_path / "prod.json").write_text(json.dumps(OUTPUTS))
    line = refusal(capsys, "--stack", "dev", "--outputs", "dev=prod.json")
    assert "stack dev: outputs were given but ephitup:s3Enabled is false" in line


def test_outputs_import_keeps_only_the_blueprints_share_and_refuses_secrets(capsys, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir(tmp_path, monkeypatch)
    shown = FIXTURES / "prod.outputs.show-secrets.json"
    assert main(["outputs", "import", "--stack", "prod", "--from", str(shown)]) == 0
    kept = json.loads((tmp_path / "outputs" / "prod.json").read_text())
    assert set(kept) == {"project", "stack", "storage_mode", "region", "bucket_name", "access_point_arn"}
    assert not [secret for secret in SECRETS if secret in json.dumps(kept) + capsys.readouterr().out]
    assert main(["render"]) == 0 and "prod" in (tmp_path / "render.yaml").read_text()  # used by a bare render
    (tmp_path / "leaky.json").write_text(json.dumps({**SHOWN, "bucket_name": SHOWN["secret_access_key"]}))
    assert main(["outputs", "import", "--stack", "prod", "--from", str(tmp_path / "leaky.json")]) == 2
    err = capsys.readouterr().err
    assert "holds a secret-shaped value" in err and SHOWN["secret_access_key"] not in err


def test_refuses_outputs_lacking_a_required_key(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir(tmp_path, monkeypatch)
    (tmp_path / "prod.json").write_text(json.dumps({k: v for k, v in OUTPUTS.items() if k != "access_point_arn"}))
    assert "the outputs lack access_point_arn" in refusal(capsys, "--stack", "prod", "--outputs", "prod.json")


def test_refuses_an_unknown_stack(capsys) -> None:
    assert "unknown stack 'staging': no Pulumi.staging.yaml (known: dev, prod)" in refusal(capsys, "--stack", "staging")


def test_refuses_autoscaling_or_a_data_folder_off_the_disk() -> None:
    stack = load_stack("dev")
    document = yaml.safe_load(render([stack]))
    (service,) = document["services"]
    with pytest.raises(RenderError, match="stack dev: service ephitup-dev: autoscaling with a disk"):
        check_blueprint({"services": [{**service, "scaling": {"minInstances": 1, "maxInstances": 3}}]}, [stack])
    moved = [{**v, "value": "/data"} if v["key"] == "DATA_FOLDER" else v for v in service["envVars"]]
    with pytest.raises(RenderError, match="DATA_FOLDER='/data' differs from disk.mountPath='/mydata'"):
        check_blueprint({"services": [{**service, "envVars": moved}]}, [stack])


def test_schema_errors_name_the_service(schema) -> None:
    document = yaml.safe_load(rendered("dev", "prod"))
    services_of(document)[1]["plan"] = "enormous"
    errors = schema_errors(document, schema)
    assert errors and all(e.startswith("service ephitup-prod: plan: 'enormous' is not one of") for e in errors)


def test_check_reports_a_stale_file_with_a_diff(capsys, tmp_path: Path) -> None:
    target = tmp_path / "render.yaml"
    target.write_text(rendered("dev").replace('"starter"', '"standard"'))
    assert main(["render", "--stack", "dev", "--check", "-o", str(target)]) == 1
    out = capsys.readouterr().out
    assert '-    plan: "standard"' in out and '+    plan: "starter"' in out
    target.write_text(rendered("dev"))
    assert main(["render", "--stack", "dev", "--check", "-o", str(target)]) == 0


# Variables the app reads that are deliberately not rendered, and why.
NOT_RENDERED = {
    "S3_ENDPOINT_URL": "emulators and S3-compatible stores only; on Render the app talks to AWS S3",
    "AWS_SESSION_TOKEN": "temporary credentials; the app's IAM user has long-lived keys",
    "RENDER": "set by Render itself on every service",
    "TARGET_DATABASE_URL": "the operator's shell only, for one `migrate to-scaled`: never on a service",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "oidc: Render provides the service's token (its OIDC documentation)",
}


def test_contract_every_variable_the_app_reads_is_rendered_or_sync_false() -> None:
    (service,) = yaml.safe_load(rendered("prod"))["services"]
    variables = env_vars(service)
    declared = contract_document()["variables"]
    for var in declared:
        name = var["name"]
        if var["auth"] == "oidc" or var["blueprint"] == "database" or var["cdn_only"]:  # prod: an access key, one
            assert name not in variables  # instance, no CDN (the oidc, scaled and cdn blueprints: their own tests)
        elif name in NOT_RENDERED:
            assert name not in variables and var["blueprint"] in ("absent", "platform")
        elif var["secret"] and name != "APP_TOKEN":
            assert variables[name] == {"key": name, "sync": False}
        else:
            assert name in variables, f"{name} is read by the app but not rendered"
    assert set(variables) - {v["name"] for v in declared} == {"PYTHON_VERSION"}  # a build setting, not the app's


def test_the_app_reads_its_environment_only_through_the_contract() -> None:
    readers = [p for p in (ROOT / "app").rglob("*.py")
               if re.search(r"os\.environ|getenv\(", p.read_text()) and p.name != "settings.py"]
    assert readers == []


OIDC_CONFIG = {"awsAuth": "oidc", "renderWorkspaceId": "tea-abc123", "renderOidcSubject": "evm-prod123:srv-app456"}
ROLE_ARN = "arn:aws:iam::123456789012:role/ephitup/ephitup-prod-app"


def test_an_oidc_stack_carries_its_role_and_asks_for_no_key(capsys, tmp_path: Path, monkeypatch, schema) -> None:
    stack_dir(tmp_path, monkeypatch, **OIDC_CONFIG)
    (tmp_path / "prod.json").write_text(json.dumps({**OUTPUTS, "role_arn": ROLE_ARN}))
    assert main(["render", "--stack", "prod", "--outputs", "prod=prod.json"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert schema_errors(document, schema) == []
    variables = {v["key"]: v for v in services_of(document)[0]["envVars"]}
    assert variables["AWS_ROLE_ARN"] == {"key": "AWS_ROLE_ARN", "value": ROLE_ARN}
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE"} & set(variables)


@pytest.mark.parametrize("config,outputs,expected", [
    (OIDC_CONFIG, {}, "awsAuth is oidc but the outputs' role_arn 'is missing'"),
    (OIDC_CONFIG, {"role_arn": ROLE_ARN.replace("prod-app", "staging-app")}, "not this stack's role"),
    ({}, {"role_arn": ROLE_ARN}, "the outputs hold a role_arn but awsAuth is accessKey"),
])
def test_refuses_outputs_of_the_other_kind_of_identity(capsys, tmp_path: Path, monkeypatch, config, outputs,
                                                       expected: str) -> None:
    stack_dir(tmp_path, monkeypatch, **config)
    (tmp_path / "prod.json").write_text(json.dumps({**OUTPUTS, **outputs}))
    assert expected in refusal(capsys, "--stack", "prod", "--outputs", "prod=prod.json")


SCALED = FIXTURES / "scaled"


def scaled(**config: str) -> str:
    document = yaml.safe_load((SCALED / "Pulumi.staging.yaml").read_text())
    document["config"].update({f"ephitup:{k}": v for k, v in config.items()})
    env = Environment.from_values("staging", document["config"])
    outputs = json.loads((SCALED / "staging.outputs.json").read_text())
    return render([StackInput(env, outputs)])


def test_golden_scaled_blueprint_is_valid_against_renders_schema(schema) -> None:
    text = scaled()
    assert text == (GOLDEN / "scaled.render.yaml").read_text()
    document = yaml.safe_load(text)
    assert schema_errors(document, schema) == []
    (service,) = services_of(document)
    assert "disk" not in service and "numInstances" not in service
    assert service["scaling"] == {"minInstances": 2, "maxInstances": 4, "targetCPUPercent": 70}
    assert service["preDeployCommand"] == "ephitup schema"
    variables = {v["key"]: v for v in service["envVars"]}
    assert variables["DATABASE_URL"] == {"key": "DATABASE_URL", "fromDatabase": {
        "name": "ephitup-staging-records", "property": "connectionString"}}
    assert variables["TOPOLOGY"]["value"] == "scaled" and variables["STORAGE_MODE"]["value"] == "s3"
    (database,) = document["databases"]
    assert (database["name"], database["region"], database["postgresMajorVersion"]) == (
        "ephitup-staging-records", service["region"], "17")


def test_a_fixed_number_of_scaled_instances_needs_no_autoscaling() -> None:
    (service,) = services_of(yaml.safe_load(scaled(maxInstances="2")))
    assert service["numInstances"] == 2 and "scaling" not in service


@pytest.mark.parametrize("config,expected", [
    ({"s3Enabled": "false"}, "topology=scaled keeps every file in S3, but ephitup:s3Enabled is false"),
    ({"databaseRegion": "oregon"}, "databaseRegion=oregon is not the service's region ohio"),
    ({"minInstances": "3", "maxInstances": "2"}, "maxInstances=2 is below minInstances=3"),
])
def test_refuses_a_scaled_stack_that_cannot_work(config: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        scaled(**config)


def test_refuses_a_database_in_another_region_than_its_service() -> None:
    document = yaml.safe_load(scaled())
    document["databases"][0]["region"] = "frankfurt"
    with pytest.raises(RenderError, match="database ephitup-staging-records is in frankfurt, the service in ohio"):
        check_blueprint(document, [])


def test_a_single_stack_can_provision_the_database_before_it_scales(schema) -> None:
    document = yaml.safe_load(scaled(topology="single", provisionDatabase="true"))
    assert schema_errors(document, schema) == []
    (service,) = services_of(document)
    assert service["disk"]["mountPath"] == "/mydata" and service["numInstances"] == 1
    assert "DATABASE_URL" not in {v["key"] for v in service["envVars"]}  # the app keeps SQLite until the switch
    assert [d["name"] for d in document["databases"]] == ["ephitup-staging-records"]  # what scaled will use


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_committed_stacks_cors_origins_name_its_own_service(stack: str) -> None:
    """A browser's requests come from the service's own onrender.com host, `<serviceName>-<stack>`."""
    env = load_stack(stack).env
    assert all(origin == f"https://{env.render_service}.onrender.com" for origin in env.cors_origins)


def test_outputs_import_says_when_the_key_still_waits_for_its_service(capsys, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir(tmp_path, monkeypatch)
    for delivered, reminded in (("", True), ("srv-prod1", False)):
        (tmp_path / "up.json").write_text(json.dumps({**OUTPUTS, "keys_delivered_to": delivered}))
        assert main(["outputs", "import", "--stack", "prod", "--from", "up.json"]) == 0
        out = capsys.readouterr().out
        assert ("run `pulumi up -s prod` again to deliver the key" in out) is reminded
