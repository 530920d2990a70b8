"""What an ``ephitup`` command loads: only what it uses, since every start is paid on each run (a
migration's rerun is little else). The server's parts stay out of the operator's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.aws import s3_env
from tests.support.paths import ROOT

SERVER_ONLY = ("pydantic", "fastapi", "prometheus_client", "asyncio", "botocore.session")
REPORT = ("import atexit, sys; atexit.register(lambda: print(*sorted(set(sys.argv[1].split()) & set(sys.modules)))); "
          "from scripts.cli import main; sys.exit(main(sys.argv[2:]))")


def loaded(argv: list[str], env: dict[str, str]) -> tuple[int, set[str]]:
    result = subprocess.run([sys.executable, "-c", REPORT, " ".join(SERVER_ONLY), *argv], cwd=ROOT,
                            env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=60)
    return result.returncode, set(result.stdout.split("\n")[-2].split())


def test_a_migration_with_nothing_to_do_loads_no_server_part_and_calls_no_s3(tmp_path: Path) -> None:
    env = s3_env(tmp_path, S3_ENDPOINT_URL="http://127.0.0.1:9", S3_MAX_ATTEMPTS="1")  # nothing listens there
    code, modules = loaded(["migrate", "to-s3", "--keep-local"], env)
    assert (code, modules) == (0, set())


def test_the_app_itself_does_load_them(tmp_path: Path) -> None:
    """The check above can see these modules: the serving app imports every one of them but botocore's session."""
    code = "import sys, app.main; print(*sorted(set(sys.argv[1].split()) & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code, " ".join(SERVER_ONLY)], cwd=ROOT, capture_output=True,
                            text=True, env={"PATH": os.environ["PATH"], "DATA_FOLDER": str(tmp_path)}, timeout=60)
    assert set(result.stdout.split()) == set(SERVER_ONLY) - {"botocore.session"}
