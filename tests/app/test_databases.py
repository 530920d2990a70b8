"""The records on both engines: SQLite on the disk, PostgreSQL (a real server) for several instances."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import app.records
from app.databases import DatabaseUnavailableError, PostgresDatabase, SqliteDatabase
from app.records import Records, Source


@pytest.fixture(params=["sqlite", "postgres"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Records:
    if request.param == "sqlite":
        db = Records(SqliteDatabase(tmp_path / "app.db"))
    else:
        db = Records(PostgresDatabase(request.getfixturevalue("database_url")))
    request.addfinalizer(db.close)
    return db


def add(records: Records, episode_id: str, **values: object) -> None:
    fields = {"name": "Show", "user_id": "u1", "audio_ref": f"podcasts/episodes/{episode_id}.mp3",
              "local_key": None, "content_type": "audio/mpeg", "size": 5_000_000_000, "sha256": "ab" * 32,
              "state": "stored", **values}
    records.add_episode(id=episode_id, **fields)  # type: ignore[arg-type]


def test_the_same_queries_and_writes_answer_the_same_on_both_engines(records: Records) -> None:
    add(records, "e1")
    add(records, "e2", state="pending_upload", audio_ref="podcasts/episodes/e2.mp3", local_key="x")
    assert records.schema_version == len(app.records.SCHEMA_STEPS)
    assert [e.id for e in records.episodes()] == ["e1", "e2"]
    assert records.episode("e1").size == 5_000_000_000  # more than 32 bits
    stored = records.mark_stored("e2", "s3://b/episodes/u1/e2/e2.mp3", '"etag"', "x")
    assert (stored.state, stored.local_key, stored.etag) == ("stored", "x", '"etag"')
    assert records.episodes_by_bucket(leaving_out=set()) == {"b": 1}
    assert records.episodes_by_bucket(leaving_out={"b"}) == {}
    assert [e.id for e in records.stored_with_local_copies()] == ["e2"]
    assert records.forget_local_copy("e2").local_key is None
    records.schedule_retry("e1", 1, 123.5, "S3 down")
    assert records.episode("e1").next_attempt_at == 123.5
    assert records.pending_summary() == (0, None, None)
    records.add_source(Source("s1", "notes.pdf", "uploads/s1.pdf", "application/pdf", 10, 1.0))
    assert [s.id for s in records.sources()] == ["s1"]
    assert sorted(size for _, size, _ in records.stored_sizes()) == [10, 5_000_000_000, 5_000_000_000]
    records.delete_source("s1")
    records.delete_episode("e1")
    assert [e.id for e in records.episodes()] == ["e2"] and records.sources() == []
    with pytest.raises(KeyError):
        records.episode("e1")
    with pytest.raises(KeyError):
        records.forget_local_copy("nope")


def test_timestamps_keep_their_sub_second_precision(records: Records) -> None:
    add(records, "e1")
    created = records.episode("e1").created_at
    assert created > 1.7e9 and created != int(created)


def test_instances_starting_together_apply_the_schema_once(database_url: str) -> None:
    opened: list[Records] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(Records(PostgresDatabase(database_url)))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and {r.schema_version for r in opened} == {len(app.records.SCHEMA_STEPS)}
    finally:
        for records in opened:
            records.close()


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailableError, match="did not answer") as error:
        PostgresDatabase("postgresql://app:s3cr3t-pw@127.0.0.1:9/records", timeout=1)
    assert "s3cr3t-pw" not in str(error.value)


def test_the_app_keeps_its_records_in_postgres_when_database_url_is_set(database_url: str, tmp_path: Path) -> None:
    from tests.support.live import LiveApp

    env = {"DATA_FOLDER": str(tmp_path / "data"), "STORAGE_MODE": "local", "DATABASE_URL": database_url}
    with LiveApp(env) as client:
        episode = client.post("/api/podcasts/episodes", data={"name": "on postgres"},
                              files={"audio": ("a.mp3", b"ID3 pg audio", "audio/mpeg")}).json()
        assert client.get(episode["audio_url"]).content == b"ID3 pg audio"
    assert not (tmp_path / "data" / "app.db").exists()  # nothing of the records on the disk
    records = Records(PostgresDatabase(database_url))
    try:
        assert [e.id for e in records.episodes()] == [episode["id"]]
    finally:
        records.close()


def test_the_schema_command_applies_the_steps_once_on_either_engine(database_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from scripts.cli import main

    monkeypatch.setenv("DATA_FOLDER", str(tmp_path))
    monkeypatch.setenv("STORAGE_MODE", "local")
    assert main(["schema"]) == 0 and (tmp_path / "app.db").exists()
    monkeypatch.setenv("DATABASE_URL", database_url)
    for _ in range(2):  # a rerun changes nothing
        assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert f"records: sqlite, schema version {len(app.records.SCHEMA_STEPS)}" in out
    assert f"records: postgres, schema version {len(app.records.SCHEMA_STEPS)}" in out
    assert database_url not in out


def test_a_claim_takes_what_is_due_and_holds_it_for_its_lease(records: Records) -> None:
    add(records, "due", state="pending_upload", next_attempt_at=100.0)
    add(records, "later", state="pending_upload", next_attempt_at=500.0)
    add(records, "done")
    assert [e.id for e in records.claim_due_uploads(now=200.0, lease_seconds=60)] == ["due"]
    assert records.episode("due").next_attempt_at == 260.0
    assert records.claim_due_uploads(now=200.0, lease_seconds=60) == []  # held by the first claim
    assert [e.id for e in records.claim_due_uploads(now=600.0, lease_seconds=60)] == ["due", "later"]


def test_instances_claiming_at_once_never_share_an_upload(database_url: str) -> None:
    instances = [Records(PostgresDatabase(database_url)) for _ in range(4)]
    try:
        for n in range(200):
            add(instances[0], f"e{n:03d}", state="pending_upload", next_attempt_at=0.0)
        claimed: list[list[str]] = [[] for _ in instances]
        start = threading.Barrier(len(instances))

        def claim(index: int) -> None:
            start.wait()
            while batch := instances[index].claim_due_uploads(now=10.0, lease_seconds=300, limit=7):
                claimed[index].extend(e.id for e in batch)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(instances))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        every = [episode_id for ids in claimed for episode_id in ids]
        assert sorted(every) == [f"e{n:03d}" for n in range(200)]  # each exactly once
        assert sum(1 for ids in claimed if ids) > 1  # and the work was shared
    finally:
        for records in instances:
            records.close()


def test_after_an_outage_two_instances_upload_each_pending_episode_exactly_once(
        database_url: str, moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from app.runtime import Runtime
    from app.settings import Settings
    from app.storage.s3 import S3Storage
    from tests.support.aws import s3_env

    env = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto.endpoint, S3_BUCKET_NAME=moto.bucket,
                 DATABASE_URL=database_url, S3_MAX_ATTEMPTS="1", S3_CONNECT_TIMEOUT="0.5")
    moto.stop()  # the outage: every new episode stays pending
    with Runtime.open(Settings.from_env(env)) as during:
        pending = [during.episodes.create(f"Show {n}", "u1", io.BytesIO(b"ID3 %d" % n * 500), "audio/mpeg")
                   for n in range(12)]
        assert {e.state for e in pending} == {"pending_upload"}
        for episode in pending:  # due now, not after the backoff
            during.records.schedule_retry(episode.id, 1, 0.0, "S3 was down")
    moto.start()
    first, second = Runtime.open(Settings.from_env(env)), Runtime.open(Settings.from_env(env))
    try:
        puts: list[str] = []
        original = S3Storage.save_file

        def counted(self: S3Storage, key: str, *args: object, **kwargs: object) -> object:
            puts.append(key)
            return original(self, key, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(S3Storage, "save_file", counted)
        start = threading.Barrier(2)
        reports = []

        def reconcile(runtime: Runtime) -> None:
            start.wait()
            reports.append(runtime.episodes.reconcile(force=True))  # a start-up pass on both at once

        threads = [threading.Thread(target=reconcile, args=(r,)) for r in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(puts) == len(pending) == len(set(puts))  # each uploaded once, by one of them
        assert sorted(i for report in reports for i in report.uploaded) == sorted(e.id for e in pending)
        assert {e.state for e in first.records.episodes()} == {"stored"}
    finally:
        first.close()
        second.close()
