"""Rotating the access key under traffic: streams and uploads running throughout see no failure.

Played as Pulumi plays ``ephitup rotate-key``: a new key is created, the delivery resource's update
puts it on the service through (a stand-in of) Render's API and waits for the deploy, and only then the
old key is deleted. The deploy is a second app on the new key taking the traffic before the first one
stops: a zero-downtime deploy, which Render does for services without a disk, so the environment is the
scaled topology (records in PostgreSQL, each instance its own scratch folder). moto runs with IAM
enforcement on, so a deleted key would be refused.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx
import pytest

import infra.render_api
from infra import policies
from infra.key_delivery import KeyDeliveryProvider
from tests.support.aws import REGION, StoppableMoto, iam_enforced, s3_env
from tests.support.live import LiveApp
from tests.support.pulumi import run_program
from tests.support.render_stand_in import render_stand_in

API_KEY = "rnd_RotationStandIn0123456789"
AUDIO = os.urandom(300_000)


class Router:
    """Where listeners are sent: the live instance (Render's router, for one service). A deploy switches new
    requests to the new instance and lets the old one finish those it holds before it stops."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self._held: Counter[httpx.Client] = Counter()
        self._changed = threading.Condition()

    @contextmanager
    def route(self) -> Iterator[httpx.Client]:
        with self._changed:
            client = self.client
            self._held[client] += 1
        try:
            yield client
        finally:
            with self._changed:
                self._held[client] -= 1
                self._changed.notify_all()

    def switch(self, client: httpx.Client) -> None:
        """New requests to ``client``; returns once the old instance's requests have finished."""
        with self._changed:
            old, self.client = self.client, client
            assert self._changed.wait_for(lambda: self._held[old] == 0, timeout=60), "requests never finished"


def traffic(router: Router, stop: threading.Event, failures: list[str], done: list[str],
            work: Callable[[httpx.Client], str | None]) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            try:
                with router.route() as client:
                    failure = work(client)
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}"
            (failures if failure else done).append(failure or "ok")
    thread = threading.Thread(target=loop)
    thread.start()
    return thread


def test_streams_and_uploads_see_no_failure_while_the_key_is_replaced(moto: StoppableMoto, tmp_path: Path,
                                                                      database_url: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_program("prod", {"ephitup:s3Enabled": "true"})
    document = policies.rewritten_to_bucket(run.policy("aws:iam/userPolicy:UserPolicy"),
                                            run.outputs["access_point_arn"], f"arn:aws:s3:::{moto.bucket}")
    root = boto3.client("iam", region_name=REGION, endpoint_url=moto.endpoint)
    root.create_user(UserName="deployer")  # who runs pulumi: judged by IAM like everyone once enforcement is on
    root.put_user_policy(UserName="deployer", PolicyName="keys", PolicyDocument=json.dumps(policies.document(
        {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
         "Resource": "*"})))
    deployer = root.create_access_key(UserName="deployer")["AccessKey"]
    iam = boto3.client("iam", region_name=REGION, endpoint_url=moto.endpoint,
                       aws_access_key_id=deployer["AccessKeyId"], aws_secret_access_key=deployer["SecretAccessKey"])
    root.create_user(UserName="ephitup-prod-app", Path="/ephitup/")
    root.put_user_policy(UserName="ephitup-prod-app", PolicyName="app", PolicyDocument=json.dumps(document))
    old = root.create_access_key(UserName="ephitup-prod-app")["AccessKey"]
    base_env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket,
                      TOPOLOGY="scaled", DATABASE_URL=database_url)
    instances = iter(range(1, 10))

    def app_on(variables: dict[str, str]) -> tuple[LiveApp, httpx.Client]:
        app = LiveApp({**base_env, **variables, "DATA_FOLDER": str(tmp_path / f"instance-{next(instances)}")})
        return app, app.__enter__()

    first, client = app_on({"AWS_ACCESS_KEY_ID": old["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": old["SecretAccessKey"]})
    router, running = Router(client), [first]
    seeded = client.post("/api/podcasts/episodes", data={"name": "seed"},
                         files={"audio": ("s.mp3", AUDIO, "audio/mpeg")}).json()
    assert seeded["state"] == "stored"

    def deploy(variables: dict[str, str]) -> None:
        """Render's deploy: the new instance starts on the service's variables, takes traffic, the old stops."""
        app, new_client = app_on(variables)
        router.switch(new_client)  # requests already on the old instance finish there
        running.pop(0).__exit__()
        running.append(app)

    def stream(client: httpx.Client) -> str | None:
        body = client.get(seeded["audio_url"]).content
        return None if body == AUDIO else f"stream returned {len(body)} bytes, not the episode"

    def upload(client: httpx.Client) -> str | None:
        episode = client.post("/api/podcasts/episodes", data={"name": "during"},
                              files={"audio": ("d.mp3", AUDIO[:50_000], "audio/mpeg")}).json()
        return None if episode.get("state") == "stored" else f"upload ended {episode}"

    monkeypatch.setattr(infra.render_api, "pause", lambda _: time.sleep(0.05))
    with render_stand_in(API_KEY) as (render, url), iam_enforced():
        render.add_service("srv-prod1", "ephitup-prod")
        render.services["srv-prod1"]["env"].update(AWS_ACCESS_KEY_ID=old["AccessKeyId"],
                                                   AWS_SECRET_ACCESS_KEY=old["SecretAccessKey"])
        render.deploy_hook = deploy
        monkeypatch.setenv("RENDER_API_URL", url)
        monkeypatch.setenv("RENDER_API_KEY", API_KEY)
        stop, failures, done = threading.Event(), [], []
        threads = [traffic(router, stop, failures, done, work) for work in (stream, stream, upload)]
        time.sleep(0.5)
        new = iam.create_access_key(UserName="ephitup-prod-app")["AccessKey"]  # pulumi: create the replacement
        pair = {"service_name": "ephitup-prod", "service_id": "srv-prod1"}
        KeyDeliveryProvider().update("srv-prod1", {**pair, "access_key_id": old["AccessKeyId"]}, {
            **pair, "access_key_id": new["AccessKeyId"], "secret_access_key": new["SecretAccessKey"]})
        iam.delete_access_key(UserName="ephitup-prod-app", AccessKeyId=old["AccessKeyId"])  # pulumi: delete last
        during = len(done)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        after = upload(router.client)  # the old key is gone: the new instance still stores
        running.pop().__exit__()

    assert failures == [] and after is None
    assert during > 10 and len(done) > during  # traffic ran throughout, and after the old key was deleted
    assert render.services["srv-prod1"]["env"]["AWS_ACCESS_KEY_ID"] == new["AccessKeyId"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="ephitup-prod-app")["AccessKeyMetadata"]] == [
        new["AccessKeyId"]]
