"""Pulumi.yaml is generated from the stack model: the keys are declared once (``ephitup contract``)."""

from pathlib import Path

import yaml

from infra import project_file
from infra.environment import stack_keys
from infra.names import RENDER_API_KEY_CONFIG
from scripts.cli import main
from tests.support.paths import ROOT


def test_the_committed_project_file_is_generated_from_the_model() -> None:
    assert project_file.is_current(), "Pulumi.yaml is stale: run `ephitup contract` and commit it"


def test_a_key_added_to_the_model_makes_the_committed_file_stale(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "Pulumi.yaml"
    stale.write_text(project_file.project_text().replace("  diskSizeGB:\n", "  diskSizeGiB:\n"))
    assert not project_file.is_current(stale)
    project_file.write(stale)
    assert project_file.is_current(stale)
    assert main(["contract", "--check"]) == 0 and "up to date" in capsys.readouterr().out


def test_every_model_key_is_declared_with_its_default() -> None:
    config = yaml.safe_load(project_file.project_text())["config"]
    for name, info in stack_keys().items():
        entry = config[name.removeprefix("ephitup:")]
        assert entry["description"] == info.description
        assert entry.get("default", entry.get("value")) == (list(info.default) if isinstance(info.default, tuple)
                                                             else "" if info.default is None else info.default)


def test_the_project_names_its_program_and_declares_only_the_render_api_key_secret() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "ephitup" and project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    secrets = {k for k, v in project["config"].items() if v.get("secret")}  # read with get_secret, never in the model
    assert secrets == {RENDER_API_KEY_CONFIG}
    assert set(project["config"]) - secrets == {k.removeprefix("ephitup:") for k in stack_keys()}
    assert set(project["config"]["aws:region"]) == {"value", "description"}  # Pulumi forbids more on provider keys
