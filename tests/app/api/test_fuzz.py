"""schemathesis against the app's own ``/openapi.json``, over real HTTP: no server error, and every answer
matches what the document declares (status, content type, headers, schema). Bounded per operation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.live import LiveApp

EXAMPLES_PER_OPERATION = 40
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")


def test_the_api_keeps_its_own_contract(tmp_path: Path) -> None:
    env = {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local", "MAX_UPLOAD_MB": "1"}
    with LiveApp(env) as client:
        client.post("/api/podcasts/episodes", data={"name": "known"}, files={"audio": ("a.mp3", b"ID3", "audio/mpeg")})
        run = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "run", f"{client.base_url}/openapi.json",
             "--checks", ",".join(CHECKS), "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "1",
             "--phases", "examples,coverage,fuzzing", "--no-color"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
