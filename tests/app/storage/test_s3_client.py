"""The botocore session behind every S3 and STS client: models loaded without walking every service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import UnknownServiceError

from app.storage.s3_client import botocore_session
from tests.support.aws import REGION


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


def test_a_service_the_app_does_not_call_is_unknown_naming_those_it_does() -> None:
    with pytest.raises(UnknownServiceError, match="s3, sts"):
        botocore_session().create_client("ec2", region_name=REGION)
