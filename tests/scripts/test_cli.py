"""`ephitup verify`, `dev` and `env`, run for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from app.settings import SettingsError
from app.storage import StorageAccessDeniedError, StorageError, StorageUnavailableError
from infra import policies
from scripts.cli import exit_code_for, main
from scripts.exit_codes import PortInUseError
from tests.support.aws import ACCOUNT, REGION, create_bucket, s3_env
from tests.support.live import answers, free_port, wait_for
from tests.support.paths import FIXTURES, ROOT
from tests.support.soak import soak_rounds

LIMITED_KEY = "limited-key"  # credentials whose policy lacks s3:DeleteObject
DENIED = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"


class PrivateBucket:
    """WSGI middleware that makes moto answer as a private AWS bucket does: anonymous requests are
    refused, and the LIMITED_KEY credentials are denied DeleteObject. (moto's own IAM enforcement
    would also break presigned URLs, see DESIGN.md, so the refusals are modelled here.)"""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        signed = authorization or "X-Amz-Signature=" in environ.get("QUERY_STRING", "")
        # STS's AssumeRoleWithWebIdentity is unsigned by design (the token is the proof); S3 paths name a bucket
        signed = signed or (environ["REQUEST_METHOD"] == "POST" and environ.get("PATH_INFO") == "/")
        limited = f"Credential={LIMITED_KEY}/" in authorization
        if not signed or (limited and environ["REQUEST_METHOD"] == "DELETE"):
            start_response("403 Forbidden", [("Content-Type", "application/xml")])
            return [DENIED]
        return self.app(environ, start_response)


class PrivateMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = PrivateBucket(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture
def private_s3() -> Iterator[tuple[str, str]]:
    """(endpoint, bucket); the bucket is unique because moto's state is per process."""
    server = PrivateMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint, bucket = "http://{}:{}".format(*server.get_host_and_port()), f"verify-{uuid.uuid4().hex[:12]}"
    create_bucket(boto3.client("s3", region_name=REGION, endpoint_url=endpoint), bucket)
    yield endpoint, bucket
    server.stop()


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_verify_passes_against_a_private_bucket(private_s3, tmp_path: Path, monkeypatch, capsys) -> None:
    endpoint, bucket = private_s3
    use_env(monkeypatch, s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket))
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    for step in ("upload canary (checksum)", "HEAD canary", "read a byte range", "presigned GET",
                 "unsigned GET is refused", "delete canary"):
        assert f"  ok    {step}" in out
    assert "all checks passed" in out and "unsigned GET refused with 403" in out
    assert "  skip  identity" in out and "not asked: S3_ENDPOINT_URL is not AWS" in out  # neither ok nor failed
    assert out.count("unsigned GET refused with 403") == 1  # each result once
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_verify_prints_the_identity_it_ran_as(private_s3, tmp_path: Path, monkeypatch, capsys) -> None:
    endpoint, bucket = private_s3
    use_env(monkeypatch, s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket,
                                AWS_ENDPOINT_URL_STS=endpoint))
    assert main(["verify"]) == 0
    assert f"arn:aws:sts::{ACCOUNT}:user/moto (an access key)" in capsys.readouterr().out


def test_verify_runs_on_a_web_identity_and_says_so(private_s3, tmp_path: Path, monkeypatch, capsys) -> None:
    endpoint, bucket = private_s3
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    provider = iam.create_open_id_connect_provider(Url="https://oidc.render.com/tea-abc123",
                                                   ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    role = iam.create_role(RoleName=f"app-{bucket}", Path="/ephitup/", AssumeRolePolicyDocument=json.dumps(
        policies.render_trust_policy(provider, "tea-abc123", "evm-1:srv-1")))["Role"]["Arn"]
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJldm0tMTpzcnYtMSJ9.c2ln")
    env = s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket, AWS_ENDPOINT_URL_STS=endpoint,
                 AWS_ROLE_ARN=role, AWS_WEB_IDENTITY_TOKEN_FILE=str(token))
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    use_env(monkeypatch, env)
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert f"assumed-role/app-{bucket}/" in out and "(a role, assumed with the web identity token)" in out
    assert "all checks passed" in out


def test_verify_fails_naming_the_step_when_a_permission_is_missing(private_s3, tmp_path: Path, monkeypatch,
                                                                    capsys) -> None:
    endpoint, bucket = private_s3
    use_env(monkeypatch, s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket,
                                AWS_ACCESS_KEY_ID=LIMITED_KEY, S3_MAX_ATTEMPTS="1"))
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  delete canary" in out and "FAILED: delete canary" in out and "s3:DeleteObject" in out
    assert "  ok    presigned GET" in out


def test_verify_without_s3_is_a_usage_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATA_FOLDER", str(tmp_path))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    assert main(["verify"]) == 2
    assert "S3 is not configured: S3_BUCKET_NAME, AWS_ACCESS_KEY_ID not set" in capsys.readouterr().err


@pytest.mark.parametrize("stack,mode", [("prod", "s3"), ("dev", "local")])
def test_dev_runs_the_stack_locally_and_stops_on_ctrl_c(tmp_path: Path, stack: str, mode: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "dev", "--stack", stack, "--port", str(port),
         "--data-folder", str(tmp_path / "data")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))},
    )
    try:
        health: dict[str, Any] = {}

        def up() -> bool:
            try:
                health.update(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json())
                return True
            except httpx.TransportError:
                return process.poll() is not None

        wait_for(up, "ephitup dev to serve", timeout=60)
        assert health["storage"]["mode"] == mode
        if mode == "s3":
            assert health["storage"]["settings"]["S3_ENDPOINT_URL"].startswith("http://127.0.0.1:")
            assert health["storage"]["settings"]["S3_BUCKET_NAME"] == f"ephitup-{stack}-local"
            created = httpx.post(f"http://127.0.0.1:{port}/api/podcasts/episodes", data={"name": "x"},
                                 files={"audio": ("a.mp3", b"ID3 bytes", "audio/mpeg")}).json()
            assert created["state"] == "stored" and created["audio_ref"].startswith("s3://ephitup-prod-local/")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        output = process.stdout.read() if process.stdout else ""
    assert f"serving on http://127.0.0.1:{port}" in output


def test_env_writes_a_private_file_with_the_stacks_variables(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / ".env"
    outputs = FIXTURES / "prod.outputs.show-secrets.json"
    assert main(["env", "--stack", "prod", "--outputs", str(outputs), "-o", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = sourced(target)
    shown = json.loads(outputs.read_text())
    assert values["AWS_SECRET_ACCESS_KEY"] == shown["secret_access_key"]
    assert values["S3_BUCKET_NAME"] == shown["bucket_name"]
    assert values["DATA_FOLDER"] == "./data" and values["STORAGE_MODE"] == "s3"
    printed = capsys.readouterr()
    assert shown["secret_access_key"] not in printed.out + printed.err


def sourced(dotenv: Path) -> dict[str, str]:
    """The variables a shell gets from ``set -a; . ./.env`` (as the README says to load it)."""
    names = [line.split("=", 1)[0] for line in dotenv.read_text().splitlines() if line and not line.startswith("#")]
    script = (f'set -a; . "{dotenv}"; set +a; '
              f'for n in {" ".join(names)}; do printf "%s=%s\\0" "$n" "$(printenv "$n")"; done')
    run = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True, cwd=dotenv.parent)
    return dict(item.split("=", 1) for item in run.stdout.split("\0") if item)


def test_env_values_that_look_like_shell_code_come_back_exactly_and_run_nothing(tmp_path: Path, monkeypatch,
                                                                                 capsys) -> None:
    monkeypatch.chdir(ROOT)
    hostile = f"ab$(touch {tmp_path}/ran)`touch {tmp_path}/ran2`$HOME'\"\\x"
    outputs = json.loads((FIXTURES / "prod.outputs.show-secrets.json").read_text()) | {"secret_access_key": hostile}
    given = tmp_path / "outputs.json"
    given.write_text(json.dumps(outputs))
    target = tmp_path / ".env"
    assert main(["env", "--stack", "prod", "--outputs", str(given), "-o", str(target)]) == 0
    assert sourced(target)["AWS_SECRET_ACCESS_KEY"] == hostile
    assert not (tmp_path / "ran").exists() and not (tmp_path / "ran2").exists()
    given.write_text(json.dumps(outputs | {"secret_access_key": "two\nlines"}))
    assert main(["env", "--stack", "prod", "--outputs", str(given), "-o", str(tmp_path / "b.env")]) == 2
    assert "AWS_SECRET_ACCESS_KEY holds a line break" in capsys.readouterr().err
    assert not (tmp_path / "b.env").exists()


def test_env_refuses_masked_outputs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["env", "--stack", "prod", "--outputs", str(FIXTURES / "prod.outputs.json"),
                 "-o", str(tmp_path / ".env")]) == 2
    assert "--show-secrets" in capsys.readouterr().err and not (tmp_path / ".env").exists()


@pytest.mark.soak
def test_start_up_failures_in_a_row_each_exit_with_a_message_never_a_signal(tmp_path: Path) -> None:
    """20 in a row with SOAK=1; 4 by default (each is a process start)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for _ in range(soak_rounds(20, 4)):
            run = subprocess.run([sys.executable, "-m", "scripts.cli", "dev", "--stack", "prod", "--port", str(port),
                                  "--data-folder", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                                 timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
            assert run.returncode == 3, run.stderr[-2000:]
            assert f"cannot listen on 127.0.0.1:{port}" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("argv,message", [
    (["serve", "--port", "99999"], "'99999' is not a port"),
    (["dev", "--port", "0"], "'0' is not a port"),
    (["migrate", "to-s3", "--concurrency", "x"], "'x' is not a whole number"),
])
def test_a_bad_option_is_one_line_naming_the_value(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("error,code", [
    (StorageUnavailableError("S3 is unreachable"), 3), (PortInUseError("taken"), 3),
    (StorageAccessDeniedError("denied"), 2), (SettingsError("bad"), 2), (StorageError("bucket refused"), 1),
])
def test_one_exit_code_table(error: Exception, code: int) -> None:
    assert exit_code_for(error) == code


class Dev:
    """``ephitup dev --stack prod`` in a process of its own, on one data folder across restarts."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.cli", "dev", "--stack", "prod", "--port", str(self.port),
             "--data-folder", str(data)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))})
        wait_for(lambda: answers(httpx.Client(base_url=self.base)), "ephitup dev to serve", timeout=60)

    def post(self, audio: bytes) -> dict[str, Any]:
        return httpx.post(f"{self.base}/api/podcasts/episodes", data={"name": "x"},  # type: ignore[no-any-return]
                          files={"audio": ("a.mp3", audio, "audio/mpeg")}).json()

    def stop(self, how: signal.Signals) -> str:
        self.process.send_signal(how)
        self.process.wait(timeout=30)
        return self.process.stdout.read() if self.process.stdout else ""


def test_dev_keeps_what_it_shows_across_restarts_and_never_deletes_a_record_by_itself(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Dev(data)
    kept = first.post(b"ID3 kept")
    assert "saved 1 emulator objects" in first.stop(signal.SIGTERM)  # as timeout, an IDE or Docker stop it

    second = Dev(data)
    assert httpx.get(second.base + kept["audio_url"]).content == b"ID3 kept"  # the emulator's objects came back
    lost = second.post(b"ID3 lost")
    second.stop(signal.SIGKILL)  # no chance to save the emulator

    third = Dev(data)
    try:
        listed = [e["id"] for e in httpx.get(f"{third.base}/api/podcasts/episodes").json()]
        assert sorted(listed) == sorted([kept["id"], lost["id"]])  # reported, not removed
        assert httpx.get(third.base + kept["audio_url"]).content == b"ID3 kept"
        assert httpx.get(third.base + lost["audio_url"]).status_code == 410
    finally:
        output = third.stop(signal.SIGINT)
    assert "1 episode record(s) point at audio the emulator does not hold" in output and lost["id"] in output
    assert "S3_ENDPOINT_URL=http://127.0.0.1:" in output and "AWS_ACCESS_KEY_ID=ephitup-dev" in output


def test_env_refuses_to_overwrite_a_file_unless_forced(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / ".env"
    target.write_text("MY_OWN=line\n")
    outputs = str(FIXTURES / "prod.outputs.show-secrets.json")
    assert main(["env", "--stack", "prod", "--outputs", outputs, "-o", str(target)]) == 2
    assert "exists: it may hold lines of your own. Pass --force" in capsys.readouterr().err
    assert target.read_text() == "MY_OWN=line\n"
    assert main(["env", "--stack", "prod", "--outputs", outputs, "-o", str(target), "--force"]) == 0
    assert "S3_BUCKET_NAME=" in target.read_text()


def test_verify_catches_a_store_that_corrupts_ranges_even_under_python_O(private_s3, tmp_path: Path) -> None:
    """Its checks are comparisons, not asserts: ``python -O`` strips asserts and would pass a broken store."""
    endpoint, bucket = private_s3
    corrupting = ("import sys; from app.storage.s3 import S3Storage; from scripts.cli import main\n"
                  "S3Storage.open_range = lambda self, key, start=0, end=None, chunk_size=0: iter([b'x' * 1000])\n"
                  "sys.exit(main(['verify']))\n")
    env = {**os.environ, **s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_BUCKET_NAME=bucket)}
    run = subprocess.run([sys.executable, "-O", "-c", corrupting], env=env, capture_output=True, text=True,
                         timeout=120, cwd=ROOT, check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAIL  read a byte range" in run.stdout and "the range came back different" in run.stdout
