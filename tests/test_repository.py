"""The repository as committed: no tracked file holds a secret-shaped value."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
AWS_SECRET = re.compile(r"(?i)(?:secret[_-]?access[_-]?key|aws_secret)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})\b")
DOCUMENTED_EXAMPLES = {  # AWS's own documentation's example pairs (a second pair plays the rotated key)
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
}


def test_no_tracked_file_holds_a_secret_shaped_value() -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    found = []
    for name in filter(None, tracked.decode().split("\0")):
        try:
            text = (ROOT / name).read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        values = AWS_KEY_ID.findall(text) + AWS_SECRET.findall(text)
        found += [f"{name}: {value[:4]}..." for value in values if value not in DOCUMENTED_EXAMPLES]
    assert found == []


def test_the_files_the_runbook_writes_secrets_to_are_ignored() -> None:
    for name in (".env", ".env.staging", "staging-secrets.json", "data/.ephitup-dev-s3/x"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
        assert ignored.returncode == 0, f"{name} is not ignored by git"


def test_the_ci_workflow_is_valid_against_githubs_workflow_schema(tmp_path: Path) -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    checker = Path(sys.executable).with_name("check-jsonschema")
    run = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(workflows[0].read_text().replace("runs-on:", "runs_on:"))  # the check can fail
    assert subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
                          capture_output=True).returncode != 0
