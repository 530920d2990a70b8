"""Every refusal in one line with the exit code the README's table gives; `status` runs the start's checks."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import LiveApp
from tests.support.paths import ROOT


def ephitup(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.cli", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", **(env or {})}, check=False)


@pytest.mark.parametrize("argv", [
    ["outputs", "import", "--stack", "prod", "--from", "missing.json"],
    ["render", "--check", "--schema", "/nonexistent.json"],
    ["render", "-o", "/nonexistent/dir/r.yaml"],
])
def test_a_path_that_cannot_be_used_is_one_line_and_exit_2(argv: list[str]) -> None:
    run = ephitup(*argv)
    refusal = [line for line in run.stderr.splitlines() if "stack prod left out" not in line]  # render's note
    assert run.returncode == 2 and len(refusal) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "check the path" in run.stderr


def test_a_database_url_that_is_not_postgresql_is_refused_at_once(tmp_path: Path) -> None:
    run = ephitup("schema", env={"DATA_FOLDER": str(tmp_path), "DATABASE_URL": "mysql://x"})
    assert run.returncode == 2 and "DATABASE_URL is a 'mysql' URL" in run.stderr and run.stderr.count("\n") == 1


def test_status_runs_the_checks_health_would_report(tmp_path: Path) -> None:
    env = {"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local", "RENDER": "true", "APP_TOKEN": "t" * 44}
    run = ephitup("status", "--json", env=env)
    report = json.loads(run.stdout)
    assert run.returncode == 1 and report["problems"][0]["severity"] == "error"
    assert "not a mounted disk" in report["problems"][0]["message"]
    assert ephitup("status", env={"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}).returncode == 0


def test_a_current_etag_answers_304_and_local_uploads_count_as_finalized(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "one"},
                              files={"audio": ("a.mp3", b"x" * 1000, "audio/mpeg")}).json()
        etag = client.get(episode["audio_url"]).headers["etag"]
        assert client.get(episode["audio_url"], headers={"If-None-Match": etag}).status_code == 304
        assert client.get(episode["audio_url"], headers={"If-None-Match": '"other"'}).status_code == 200
        assert 'ephitup_finalize_total{outcome="stored"} 1.0' in client.get("/metrics").text


def test_renders_own_start_command_refuses_a_half_set_s3_in_one_line(tmp_path: Path) -> None:
    """`uvicorn app.main:app`, as the blueprint starts it: the reason in one line, no traceback."""
    run = subprocess.run([sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"], cwd=ROOT, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "s3"},
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr  # a wrong configuration
    assert "ephitup: STORAGE_MODE=s3 but S3_BUCKET_NAME, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY are not set" \
        in run.stderr


def test_renders_own_start_command_exits_3_in_one_line_when_its_database_is_unavailable(tmp_path: Path) -> None:
    """A configuration that is right but a database that does not answer: uvicorn's own code for a failed start."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
        url = f"postgresql://ephitup@127.0.0.1:{closed.getsockname()[1]}/records"
        run = subprocess.run([sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"], cwd=ROOT, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "DATA_FOLDER": str(tmp_path), "DATABASE_URL": url},
                             capture_output=True, text=True, check=False)
    assert run.returncode == 3 and "Traceback" not in run.stderr, run.stderr
    assert "ephitup: the records' PostgreSQL database did not answer" in run.stderr


def test_dev_with_s3_on_and_no_emulator_installed_says_how_to_install_it(tmp_path: Path) -> None:
    """`make run` installs only the app's lock; moto (the emulator) comes with `make test`."""
    without_moto = ("import sys; sys.modules['moto'] = sys.modules['moto.server'] = None; "
                    "from scripts.cli import main; "
                    f"sys.exit(main(['dev', '--stack', 'prod', '--data-folder', {str(tmp_path)!r}]))")
    run = subprocess.run([sys.executable, "-c", without_moto], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"}, check=False)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert "S3 emulator (moto), a dev dependency" in run.stderr and "make test" in run.stderr
