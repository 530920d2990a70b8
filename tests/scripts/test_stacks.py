"""The stacks CI works on come from the repository, not from YAML: a stack added later is in every matrix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from scripts.cli import main
from tests.support.paths import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def stacks_json(capsys) -> list[str]:  # type: ignore[no-untyped-def]
    assert main(["stacks", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["stack"]  # type: ignore[no-any-return]


def test_a_stack_added_after_the_workflows_were_written_is_in_the_matrix(tmp_path: Path, capsys,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert stacks_json(capsys) == ["dev", "prod"]
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.staging.yaml")  # added as the README says
    assert stacks_json(capsys) == ["dev", "staging", "prod"]  # deployed between dev and prod
    (tmp_path / "Pulumi.ci.yaml").write_text(yaml.safe_dump({"config": {
        "ephitup:ciRoles": "true", "ephitup:githubRepository": "octo-org/ephitup"}}))
    assert stacks_json(capsys) == ["dev", "staging", "prod"]  # CI's own identity: never deployed by CI
    assert main(["render", "-o", "-"]) == 0
    assert "ephitup-ci" not in capsys.readouterr().out  # and no service for it


@pytest.mark.parametrize("workflow", ["infra.yml", "deploy.yml", "drift.yml"])
def test_every_workflow_takes_its_stacks_from_the_command_and_holds_no_aws_key(workflow: str) -> None:
    text = (WORKFLOWS / workflow).read_text()
    document = yaml.safe_load(text)
    assert "ephitup stacks --json" in text
    matrix_jobs = [job for job in document["jobs"].values() if "strategy" in job]
    assert matrix_jobs and all(job["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.matrix) }}"
                               for job in matrix_jobs)
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert document["permissions"] == {"contents": "read"}  # id-token: write only on the job that needs it
    for job in matrix_jobs:
        assert job["permissions"]["id-token"] == "write"
        (credentials,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
        assert credentials["with"]["role-to-assume"].startswith("${{ vars.EPHITUP_")


def test_deploys_run_one_stack_at_a_time_each_in_its_github_environment() -> None:
    up = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())["jobs"]["up"]
    assert up["environment"] == "${{ matrix.stack }}" and up["strategy"]["max-parallel"] == 1
    assert up["strategy"]["fail-fast"] is True
