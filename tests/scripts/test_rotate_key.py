"""`ephitup rotate-key`: the Pulumi replacement it runs, and where it refuses to run one."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from scripts.cli import main
from tests.support.paths import ROOT


@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's stack files in a work folder, and a `pulumi` on PATH that records its arguments."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pulumi-args\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(folder: Path, **config: str) -> None:
    path = folder / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"].update({f"ephitup:{k}": v for k, v in config.items()})
    path.write_text(yaml.safe_dump(document))


def test_it_replaces_the_stacks_key_with_pulumi(stacks: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RENDER_API_KEY", "rnd_testing")
    assert main(["rotate-key", "--stack", "prod"]) == 0
    urn = "urn:pulumi:prod::ephitup::ephitup:storage:MediaStorage$aws:iam/accessKey:AccessKey::media-app-key"
    assert (stacks / "pulumi-args").read_text().split() == ["up", "--yes", "--replace", urn, "--stack", "prod"]
    assert "rnd_testing" not in capsys.readouterr().out


def test_the_render_api_key_kept_with_the_stack_is_enough(stacks: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RENDER_API_KEY", raising=False)
    path = stacks / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["ephitup:renderApiKey"] = {"secure": "v1:c2VjcmV0:ZW5jcnlwdGVk"}  # as `config set --secret`
    path.write_text(yaml.safe_dump(document))
    assert main(["rotate-key", "--stack", "prod"]) == 0
    assert (stacks / "pulumi-args").read_text().split()[0] == "up"


def test_a_dry_run_previews_the_replacement(stacks: Path) -> None:
    assert main(["rotate-key", "--stack", "prod", "--dry-run"]) == 0  # no API key needed to look
    assert (stacks / "pulumi-args").read_text().split()[:3] == ["preview", "--diff", "--replace"]


@pytest.mark.parametrize("stack,config,expected", [
    ("dev", {}, "S3 off: there is no key"),
    ("prod", {"awsAuth": "oidc", "renderWorkspaceId": "tea-abc", "renderOidcSubject": "s"}, "uses OIDC"),
    ("prod", {"deliverKeys": "false"}, "deliverKeys false"),
    ("prod", {}, "RENDER_API_KEY is not set"),
])
def test_it_refuses_where_the_rotation_could_not_reach_render(stacks: Path, capsys, stack: str,
                                                              config: dict[str, str], expected: str) -> None:
    configure(stacks, **config)
    assert main(["rotate-key", "--stack", stack]) == 2
    assert expected in capsys.readouterr().err and not (stacks / "pulumi-args").exists()


def test_the_urn_it_replaces_is_the_one_the_program_declares() -> None:
    """The URN comes from infra/names.py, the names the program gives: a renamed resource moves both."""
    from infra.names import access_key_urn
    from tests.infra.test_program import S3_ON
    from tests.support.pulumi import run_program

    (key,) = run_program("prod", S3_ON).resources("aws:iam/accessKey:AccessKey")
    parent_type = key.parent.split("::")[0]
    assert f"urn:pulumi:prod::ephitup::{parent_type}${key.type}::{key.name}" == access_key_urn("prod")
