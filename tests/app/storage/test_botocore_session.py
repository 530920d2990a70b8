"""The botocore session behind every S3 and STS client: models loaded without walking every service, the
CA bundle loaded once."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import certifi
import pytest
from botocore.exceptions import SSLError, UnknownServiceError

from app.runtime import s3_config
from app.settings import Settings
from app.storage.botocore_session import botocore_session
from app.storage.s3_client import make_client
from benchmarks._harness import LocalTls, s3_sink
from tests.support.aws import BUCKET, REGION, s3_env
from tests.support.paths import ROOT


def test_a_client_is_built_looking_only_in_the_folders_of_the_services_the_app_calls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []
    real_listdir = os.listdir

    def spying_listdir(path: str) -> list[str]:
        listed.append(str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", spying_listdir)
    for service in ("s3", "sts"):
        botocore_session().create_client(service, region_name=REGION, aws_access_key_id="a",
                                         aws_secret_access_key="b")
    assert listed and {Path(path).parent.name for path in listed} == {"data"}
    assert {Path(path).name for path in listed} == {"s3", "sts"}


def test_an_s3_store_loads_botocore_only_when_its_first_client_is_made(tmp_path: Path) -> None:
    """A command whose plan needs nothing from S3 (a migration's rerun) never pays for botocore's import."""
    code = ("import json, sys; from app.settings import Settings; from app.storage.s3 import S3Storage; "
            "from app.runtime import s3_config; S3Storage(s3_config(Settings.from_env(json.loads(sys.argv[1])))); "
            "print('botocore.session' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(s3_env(tmp_path))], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_service_the_app_does_not_call_is_unknown_naming_those_it_does() -> None:
    with pytest.raises(UnknownServiceError, match="s3, sts"):
        botocore_session().create_client("ec2", region_name=REGION)


@pytest.fixture(scope="module")
def https_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LocalTls]]:
    """An S3 stand-in over https, with a certificate of its own."""
    tls = LocalTls.create(tmp_path_factory.mktemp("tls"))
    server, endpoint = s3_sink(tls)
    try:
        yield endpoint, tls
    finally:
        server.stop()


def https_client(endpoint: str, bundle: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    return make_client(s3_config(Settings.from_env(s3_env(tmp_path, S3_ENDPOINT_URL=endpoint, S3_MAX_ATTEMPTS="1"))))


def test_the_ca_bundle_is_loaded_once_however_many_connections_are_opened(
        https_s3: tuple[str, LocalTls], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    endpoint, tls = https_s3
    loads, handshakes = spy(monkeypatch, ssl.SSLContext, "load_verify_locations"), spy(
        monkeypatch, ssl.SSLContext, "wrap_socket")
    s3 = https_client(endpoint, tls.bundle, monkeypatch, tmp_path)  # certifi's roots and the stand-in's
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: s3.put_object(Bucket=BUCKET, Key=f"k{n}", Body=b"x" * 1000), range(64)))
    assert len(handshakes) >= 4 and len(loads) == 1


def test_a_server_the_bundle_does_not_vouch_for_is_still_refused(
        https_s3: tuple[str, LocalTls], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    endpoint, _ = https_s3
    s3 = https_client(endpoint, Path(certifi.where()), monkeypatch, tmp_path)
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        s3.list_objects_v2(Bucket=BUCKET)


def spy(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[tuple[Any, ...]]:
    """Every call of ``owner.name`` from now on, which still does what it did."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return calls
