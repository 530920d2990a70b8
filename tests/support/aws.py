"""The test account, an app environment pointed at S3, buckets, and a moto server that can be stopped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

REGION = "us-east-2"
BUCKET = "ephitup-test-media"
ACCOUNT = "123456789012"  # moto's default account


def s3_env(data_folder: Path, **overrides: str) -> dict[str, str]:
    env = {
        "DATA_FOLDER": str(data_folder),
        "STORAGE_MODE": "s3",
        "S3_BUCKET_NAME": BUCKET,
        "S3_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "S3_CONNECT_TIMEOUT": "2",
        "S3_READ_TIMEOUT": "10",
        "S3_MAX_ATTEMPTS": "3",
    }
    env.update(overrides)
    return env


def create_bucket(client: Any, name: str = BUCKET) -> None:
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


class StoppableMoto:
    """A moto server that can be stopped and started again on the same port (state survives)."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.bucket = ""

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()


@contextmanager
def iam_enforced() -> Iterator[None]:
    """moto evaluates IAM policies for every request inside (normally it lets the first ones through)."""
    saved = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
