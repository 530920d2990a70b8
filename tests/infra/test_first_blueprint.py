"""The README's first Blueprint: what a fresh clone commits is applied as is, and every service in it starts.

Each service of the committed render.yaml is started with Render's own start command and the environment
the blueprint gives it (the disk's mount path swapped for a temporary folder, as no /mydata exists here),
and must answer /health with 200.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from infra.blueprint import services_of
from tests.support.live import answers, free_port, wait_for
from tests.support.paths import ROOT

COMMITTED = yaml.safe_load((ROOT / "render.yaml").read_text())


def test_the_first_apply_asks_for_nothing_and_creates_no_database() -> None:
    """Step 4 of the README: no `sync: false` value to type in, nothing the service waits for."""
    for service in services_of(COMMITTED):
        assert [var["key"] for var in service["envVars"] if var.get("sync") is False] == [], service["name"]
        assert not [var for var in service["envVars"] if "fromDatabase" in var], service["name"]


def rendered_environment(service: dict[str, Any], disk: Path) -> dict[str, str]:
    """What Render sets: each value as written, a generated one made here; the disk at ``disk``."""
    environ: dict[str, str] = {}
    for var in service["envVars"]:
        if "value" in var:
            environ[var["key"]] = str(var["value"])
        elif var.get("generateValue"):
            environ[var["key"]] = secrets.token_urlsafe(32)
    mount = service["disk"]["mountPath"]
    return {key: value.replace(mount, str(disk)) for key, value in environ.items()}


@pytest.mark.parametrize("service", services_of(COMMITTED), ids=lambda service: service["name"])
def test_every_service_of_the_committed_blueprint_starts_with_its_rendered_environment(
        service: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    start = service["startCommand"].replace("0.0.0.0", "127.0.0.1").replace("$PORT", str(port)).split()
    assert start[0] == "uvicorn"
    environ = {"PATH": os.environ["PATH"], **rendered_environment(service, tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", *start], cwd=ROOT, env=environ, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        wait_for(lambda: process.poll() is not None or answers(client), f"{service['name']} to start")
        assert process.poll() is None, f"{service['name']} did not start: {process.communicate()[1]}"
        health = client.get("/health")
        assert health.status_code == 200, health.text
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)
