"""The S3 emulator ``ephitup dev`` runs (moto on 127.0.0.1), saved under the data folder so that what the app
shows survives a restart: its objects are written to ``<data>/.ephitup-dev-s3/`` when ``ephitup dev`` stops
and put back when it starts (saved on Ctrl-C and on SIGTERM alike). A record whose object is gone anyway
(``ephitup dev`` was SIGKILLed before it could save, or the object was deleted by hand) is reported at start,
never deleted: a record is removed only by a person, through the API.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from app.runtime import Runtime
from infra.environment import ConfigError

SNAPSHOT = ".ephitup-dev-s3"
CREDENTIAL = "ephitup-dev"  # moto accepts any credentials; these are not a secret


class DevEmulator:
    def __init__(self, region: str, bucket: str, data_folder: Path) -> None:
        import boto3

        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise ConfigError("a stack with S3 on runs against an S3 emulator (moto), a dev dependency that `make "
                              "run` does not install: run `make test` once, or `.venv/bin/pip install "
                              "--require-hashes -r requirements-dev.lock`") from None

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint, self.bucket, self.region = f"http://{host}:{port}", bucket, region
        self.snapshot = Path(data_folder) / SNAPSHOT / bucket
        self.s3: Any = boto3.client("s3", region_name=region, endpoint_url=self.endpoint,
                                    aws_access_key_id=CREDENTIAL, aws_secret_access_key=CREDENTIAL)
        self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})

    def restore(self) -> int:
        """Put the saved objects back; returns how many."""
        index = self.snapshot / "index.json"
        if not index.exists():
            return 0
        saved = json.loads(index.read_text())
        for key, meta in saved.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=(self.snapshot / "objects" / key).read_bytes(),
                               ContentType=meta["content_type"], Metadata=meta["metadata"])
        return len(saved)

    def save(self) -> int:
        """Write every object (with its content type and metadata) under the data folder; returns how many."""
        staging = self.snapshot.with_name(self.snapshot.name + ".saving")
        shutil.rmtree(staging, ignore_errors=True)
        index: dict[str, dict[str, Any]] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                got = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])
                target = staging / "objects" / item["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(got["Body"].read())
                index[item["Key"]] = {"content_type": got.get("ContentType", "application/octet-stream"),
                                      "metadata": got.get("Metadata", {})}
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "index.json").write_text(json.dumps(index))
        shutil.rmtree(self.snapshot, ignore_errors=True)
        staging.rename(self.snapshot)
        return len(index)

    def variables(self) -> dict[str, str]:
        return {"S3_BUCKET_NAME": self.bucket, "S3_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": CREDENTIAL,
                "AWS_SECRET_ACCESS_KEY": CREDENTIAL}

    def stop(self) -> None:
        self.server.stop()


def missing_audio(runtime: Runtime) -> list[str]:
    """The ids of episodes whose audio is recorded in S3 but is not in the emulator (nothing is changed)."""
    missing = []
    for episode in runtime.records.episodes():
        storage, key = runtime.stores.locate(episode.audio_ref)
        if storage is runtime.stores.remote and not storage.exists(key):
            missing.append(episode.id)
    return missing
