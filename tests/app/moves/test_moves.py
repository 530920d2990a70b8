"""`ephitup migrate to-s3 | to-local` and `fix-keys` against a moto server on 127.0.0.1."""

from __future__ import annotations

import io
from collections import namedtuple
from pathlib import Path

import boto3
import pytest

import app.moves.base
import app.moves.to_local
import app.moves.to_s3
from app.moves import Action, FixKeys, ToS3
from app.records import Records
from app.runtime import Runtime, s3_config
from app.settings import Settings
from app.storage import LocalStorage
from app.storage.s3 import S3Storage
from scripts.cli import main
from tests.support.aws import ACCOUNT, BUCKET, REGION, create_bucket, s3_env
from tests.support.data import add_orphan, build_local_episodes, read_all
from tests.support.live import files_under, played


@pytest.fixture
def env(tmp_path: Path, moto_server: str, server_bucket, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    name, _ = server_bucket
    values = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name, STORAGE_MODE="auto")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def audio(env: dict[str, str]) -> dict[str, bytes]:
    audio = build_local_episodes(Path(env["DATA_FOLDER"]), count=6, size=70_000)
    add_orphan(Path(env["DATA_FOLDER"]), "lost show", b"ID3 orphan audio")
    return audio


def bucket_state(env: dict[str, str]) -> dict[str, tuple[int, str]]:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=env["S3_ENDPOINT_URL"])
    listing = s3.list_objects_v2(Bucket=env["S3_BUCKET_NAME"]).get("Contents", [])
    return {o["Key"]: (o["Size"], o["ETag"]) for o in listing}


def records(env: dict[str, str]) -> list:  # type: ignore[type-arg]
    db = Records(Path(env["DATA_FOLDER"]) / "app.db")
    try:
        return db.episodes()
    finally:
        db.close()


def snapshot(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return files_under(Path(env["DATA_FOLDER"])), records(env), bucket_state(env)


def test_dry_run_changes_nothing(env, audio, capsys) -> None:
    before = snapshot(env)
    assert main(["migrate", "to-s3", "--dry-run"]) == 0
    assert snapshot(env) == before
    out = capsys.readouterr().out
    assert "plan: 7 items (1 orphan, 6 upload)" in out and "dry run: nothing was changed" in out


def test_the_plan_merges_the_disk_listing_with_the_records_asking_nothing_per_record(env, audio, capsys,
                                                                                    monkeypatch) -> None:
    """No stat or open per record (the seed's 1.7 s at 10,000); a dry run's plan holds what it prints, no more."""
    gone = next(iter(audio))
    with Runtime.open(Settings.from_env(env)) as runtime:
        missing = runtime.records.episode(gone).audio_ref  # a local reference is the file's key
        runtime.episodes.local.delete(missing)
    asked = [counted(monkeypatch, LocalStorage, name) for name in ("exists", "stat", "open_range", "description")]
    assert main(["migrate", "to-s3", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert asked == [[], [], [], []]
    assert "plan: 6 items (1 orphan, 5 upload)" in out
    assert f"cannot: episode {gone}: {missing} is missing on disk" in out
    with Runtime.open(Settings.from_env(env)) as runtime:
        shown = ToS3(runtime.episodes).plan(held=2)
    assert (len(shown.work), shown.total, shown.summary()) == (2, 6, "6 items (1 orphan, 5 upload), 0.3 MiB")


def test_to_s3_moves_every_episode_then_a_rerun_does_nothing(env, audio, capsys, monkeypatch) -> None:
    assert main(["migrate", "to-s3", "--concurrency", "3"]) == 0
    assert "done: 7 moved, 0 already in place, 0 failed" in capsys.readouterr().out
    stored = records(env)
    assert all(e.audio_ref.startswith(f"s3://{env['S3_BUCKET_NAME']}/episodes/u") and e.state == "stored"
               and e.local_key is None for e in stored)
    keys = set(bucket_state(env))
    assert {e.audio_ref.split("/", 3)[3] for e in stored} | {"episodes/_orphans/lost_show/audio/lost_show.mp3"} == keys
    local = files_under(Path(env["DATA_FOLDER"]))
    assert list(local) == ["podcasts/episodes/lost show/audio/lost show.mp3"]  # the orphan stays, reported
    assert played(env, "s3") == audio

    heads = counted(monkeypatch, S3Storage, "_head")
    before = snapshot(env)
    assert main(["migrate", "to-s3"]) == 0
    assert "done: 0 moved, 1 already in place, 0 failed" in capsys.readouterr().out  # the orphan, by one HEAD
    assert snapshot(env) == before  # no request per episode (the records say they are in S3), no listing
    assert heads == [("episodes/_orphans/lost_show/audio/lost_show.mp3",)]


@pytest.mark.parametrize("left", ["the same bytes", "other bytes"])
def test_an_upload_a_killed_run_left_is_found_by_its_create_only_put(env, audio, capsys, monkeypatch, left) -> None:
    with Runtime.open(Settings.from_env(env)) as runtime:
        item = next(i for i in ToS3(runtime.episodes).plan().items if i.action is Action.UPLOAD)
    leftover = Path(env["DATA_FOLDER"]).parent / "leftover.mp3"
    leftover.write_bytes((Path(env["DATA_FOLDER"]) / item.source).read_bytes() if left == "the same bytes" else b"x")
    S3Storage(s3_config(Settings.from_env(env))).save_file(item.dest, leftover, "audio/mpeg")  # record not switched
    listings, puts = counted(monkeypatch, S3Storage, "list"), counted(monkeypatch, S3Storage, "save_file")
    assert main(["migrate", "to-s3"]) == 0
    held = left == "the same bytes"
    assert f"done: {7 - held} moved, {int(held)} already in place, 0 failed" in capsys.readouterr().out
    assert listings == [] and puts.count((item.dest,)) == (1 if held else 2)  # refused; other bytes: overwritten
    assert played(env, "s3") == audio


def test_a_local_file_unlike_its_record_is_neither_uploaded_nor_switched(env, audio, capsys) -> None:
    data = Path(env["DATA_FOLDER"])
    damaged = next(p for p in sorted((data / "podcasts" / "episodes").rglob("*.mp3")) if "lost show" not in str(p))
    damaged.write_bytes(bytes([damaged.read_bytes()[0] ^ 1]) + damaged.read_bytes()[1:])  # same size, one bit off
    assert main(["migrate", "to-s3"]) == 1
    out = capsys.readouterr().out
    assert "done: 6 moved, 0 already in place, 1 failed" in out and "nothing was uploaded" in out
    assert damaged.relative_to(data).as_posix() in out
    left = [e for e in records(env) if not e.audio_ref.startswith("s3://")]
    assert len(left) == 1 and left[0].audio_ref.endswith(damaged.name)
    assert len(bucket_state(env)) == 6 and damaged.exists()  # 5 episodes + the orphan; the damaged file kept


def test_keep_local_keeps_the_local_copies(env, audio) -> None:
    assert main(["migrate", "to-s3", "--keep-local"]) == 0
    assert len(files_under(Path(env["DATA_FOLDER"]))) == 7
    assert all(e.audio_ref.startswith("s3://") for e in records(env))


def test_a_keep_local_rerun_uploads_nothing_and_makes_no_orphan(env, audio, capsys, monkeypatch) -> None:
    assert main(["migrate", "to-s3", "--keep-local"]) == 0
    capsys.readouterr()
    puts = counted(monkeypatch, S3Storage, "save_file")
    before = snapshot(env)
    assert main(["migrate", "to-s3", "--keep-local"]) == 0
    out, err = capsys.readouterr()
    assert "plan: 1 items (1 orphan)" in out  # the one file no record knows, as before
    assert "1/1 files (1 already in place), 0.0/" in err  # the progress says nothing was sent, as the report does
    assert puts == [] and snapshot(env) == before
    assert not [key for key in bucket_state(env) if key.startswith("episodes/_orphans/Show")]


def test_a_file_changed_after_its_record_is_found_without_hashing_the_others(env, audio, capsys,
                                                                            monkeypatch) -> None:
    data = Path(env["DATA_FOLDER"])
    changed = sorted((data / "podcasts" / "episodes").glob("Show_*/audio/*.mp3"))[2]
    changed.write_bytes(changed.read_bytes()[::-1])  # same size, rewritten after its record
    hashed = counted(monkeypatch, app.moves.to_s3, "digest_file")
    assert main(["migrate", "to-s3"]) == 1
    assert f"{changed.name} has SHA-256" in capsys.readouterr().out
    assert sorted(Path(call[0]).name for call in hashed) == sorted([changed.name, "lost show.mp3"])  # + the orphan


def counted(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple]:
    """Record the positional arguments of every call to ``owner.name`` (methods: without self)."""
    calls: list[tuple] = []
    original = getattr(owner, name)

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args[1:2] if isinstance(owner, type) else args[:1])
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_to_local_brings_everything_back(env, audio, capsys) -> None:
    assert main(["migrate", "to-s3"]) == 0
    before = snapshot(env)
    assert main(["migrate", "to-local", "--dry-run"]) == 0
    assert snapshot(env) == before
    assert main(["migrate", "to-local", "--delete-remote"]) == 0
    assert "done: 6 moved" in capsys.readouterr().out
    assert all(not e.audio_ref.startswith("s3://") and e.audio_ref.startswith("podcasts/episodes/")
               for e in records(env))
    assert list(bucket_state(env)) == ["episodes/_orphans/lost_show/audio/lost_show.mp3"]
    assert played(env, "local") == audio
    assert main(["migrate", "to-local"]) == 0  # rerun: nothing left
    assert "plan: 0 items" in capsys.readouterr().out


def test_to_local_refuses_when_the_disk_lacks_room(env, audio, capsys, monkeypatch) -> None:
    assert main(["migrate", "to-s3"]) == 0
    capsys.readouterr()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(app.moves.to_local.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    before = snapshot(env)
    assert main(["migrate", "to-local"]) == 2
    assert "the disk lacks 256 MiB" in capsys.readouterr().err
    assert snapshot(env) == before


def test_fix_keys_repairs_legacy_keys_and_paths(env, audio, capsys) -> None:
    data = Path(env["DATA_FOLDER"])
    assert main(["migrate", "to-s3"]) == 0
    db = Records(data / "app.db")
    first, second, third = db.episodes()[:3]
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=env["S3_ENDPOINT_URL"])
    bucket = env["S3_BUCKET_NAME"]
    # 1. the seed's unsanitised key: colons and spaces
    old_key = first.audio_ref.split("/", 3)[3]
    legacy_key = f"episodes/user:u0/episode:{first.id}/Show 0: part 0.mp3"
    s3.copy_object(Bucket=bucket, Key=legacy_key, CopySource={"Bucket": bucket, "Key": old_key},
                   MetadataDirective="COPY")
    s3.delete_object(Bucket=bucket, Key=old_key)
    db.move_audio(first.id, f"s3://{bucket}/{legacy_key}")
    # 2. and 3. audio back on disk under older mount points
    storage = LocalStorage(data)
    for episode, legacy_root in ((second, "/app/data"), (third, "file:///mydata")):
        key = f"podcasts/episodes/{episode.id}/audio/{episode.id}.mp3"
        storage.save_stream(key, io.BytesIO(audio[episode.id]), "audio/mpeg")
        db.move_audio(episode.id, f"{legacy_root}/{key}")
    db.close()
    capsys.readouterr()

    before = snapshot(env)
    assert main(["fix-keys", "--dry-run"]) == 0
    assert snapshot(env) == before
    assert "plan: 3 items (1 copy, 2 relink)" in capsys.readouterr().out

    assert main(["fix-keys"]) == 0
    fixed = {e.id: e.audio_ref for e in records(env)}
    canonical = f"episodes/u0/{first.id}/Show_0_part_0.mp3"
    assert fixed[first.id] == f"s3://{bucket}/{canonical}"
    assert canonical in bucket_state(env) and legacy_key not in bucket_state(env)
    assert fixed[second.id] == fixed[third.id].replace(third.id, second.id) == \
        f"podcasts/episodes/{second.id}/audio/{second.id}.mp3"
    assert main(["fix-keys"]) == 0 and "plan: 0 items" in capsys.readouterr().out
    assert played(env, "s3") == audio


def test_fix_keys_points_access_point_references_at_the_bucket(aws, tmp_path: Path) -> None:
    """Runs in-process (mock_aws): moto resolves access-point ARNs only there (DESIGN.md)."""
    s3 = boto3.client("s3", region_name=REGION)
    create_bucket(s3)
    arn = boto3.client("s3control", region_name=REGION).create_access_point(
        AccountId=ACCOUNT, Name="ephitup-prod", Bucket=BUCKET)["AccessPointArn"]
    data = tmp_path / "data"
    audio = build_local_episodes(data, count=2, size=1000)
    with Runtime.open(Settings.from_env(s3_env(data, S3_ACCESS_POINT=arn))) as runtime:
        to_s3 = ToS3(runtime.episodes)
        assert not to_s3.run(to_s3.plan(), concurrency=2).failed
        db = runtime.records
        for episode in db.episodes():  # as the seed wrote them: the access-point ARN as the "bucket"
            db.move_audio(episode.id, episode.audio_ref.replace(f"s3://{BUCKET}/", f"s3://{arn}/"))
        fix_keys = FixKeys(runtime.episodes)
        plan = fix_keys.plan()
        assert [item.action for item in plan.items] == [Action.RELINK, Action.RELINK]
        assert not fix_keys.run(plan, concurrency=2).failed
        assert all(e.audio_ref.startswith(f"s3://{BUCKET}/episodes/") for e in db.episodes())
        assert {e.id: read_all(fix_keys.remote, e.audio_ref.split("/", 3)[3]) for e in db.episodes()} == audio


def test_fix_keys_rerun_deletes_the_old_key_a_killed_run_left(env, audio, capsys) -> None:
    """The state a kill between 'switch the record' and 'delete the old key' leaves behind."""
    assert main(["migrate", "to-s3"]) == 0
    bucket = env["S3_BUCKET_NAME"]
    db = Records(Path(env["DATA_FOLDER"]) / "app.db")
    episode = db.episodes()[0]
    old_key = f"episodes/user:u0/episode:{episode.id}/old name.mp3"
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=env["S3_ENDPOINT_URL"])
    s3.copy_object(Bucket=bucket, Key=old_key, CopySource={"Bucket": bucket, "Key": episode.audio_ref.split("/", 3)[3]})
    db.move_audio(episode.id, episode.audio_ref, superseded_ref=f"s3://{bucket}/{old_key}")
    db.close()
    capsys.readouterr()
    assert main(["fix-keys"]) == 0
    assert "plan: 1 items (1 cleanup)" in capsys.readouterr().out
    assert old_key not in bucket_state(env)
    assert [e.superseded_ref for e in records(env)] == [None] * len(audio)
    assert played(env, "s3") == audio


def test_the_s3_client_keeps_a_connection_for_every_worker(env, audio, monkeypatch) -> None:
    from scripts.moving import move_runtime

    with Runtime.open(Settings.from_env()) as runtime:  # the app: 32 by default, above its 16 S3 threads
        assert runtime.stores.remote.client.meta.config.max_pool_connections == 32  # type: ignore[union-attr]
    with move_runtime(100) as runtime:
        assert runtime.stores.remote.client.meta.config.max_pool_connections == 100  # type: ignore[union-attr]
    monkeypatch.setenv("S3_MAX_CONNECTIONS", "200")
    with move_runtime(8) as runtime:  # never lowered
        assert runtime.stores.remote.client.meta.config.max_pool_connections == 200  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["0", "257", "many"])
def test_concurrency_is_bounded(env, value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["migrate", "to-s3", "--concurrency", value])
    assert exit_.value.code == 2 and f"{value!r} is not a whole number from 1 to 256" in capsys.readouterr().err


def test_episodes_the_live_app_deletes_during_a_migration_are_not_failures_and_leave_no_object(
        env, audio, monkeypatch, capsys) -> None:
    """One episode is deleted before its turn, one while its upload runs: exit 0, nothing of either in S3."""
    victims = [episode.id for episode in records(env)[:2]]
    original = Records.mark_stored

    def deleted_while_uploading(self: Records, episode_id: str, *args: object, **kwargs: object) -> object:
        if episode_id == victims[1]:
            self.delete_episode(episode_id)
        return original(self, episode_id, *args, **kwargs)

    monkeypatch.setattr(Records, "mark_stored", deleted_while_uploading)
    real_run = app.moves.base.Move.run

    def delete_first_then_run(self, plan, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.records.delete_episode(victims[0])  # after the plan, before the work: the app's own DELETE
        return real_run(self, plan, *args, **kwargs)

    monkeypatch.setattr(app.moves.base.Move, "run", delete_first_then_run)
    assert main(["migrate", "to-s3"]) == 0
    assert "2 deleted meanwhile, 0 failed" in capsys.readouterr().out
    assert not [key for key in bucket_state(env) if any(victim in key for victim in victims)]
    assert {e.id for e in records(env)}.isdisjoint(victims)


def test_a_missing_object_fails_to_local_with_the_way_out(env, audio, capsys) -> None:
    assert main(["migrate", "to-s3"]) == 0
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=env["S3_ENDPOINT_URL"])
    gone = next(key for key in bucket_state(env) if "_orphans" not in key)
    s3.delete_object(Bucket=env["S3_BUCKET_NAME"], Key=gone)
    capsys.readouterr()
    assert main(["migrate", "to-local"]) == 1
    out = capsys.readouterr().out
    assert f"failed: download {gone}" in out and "`ephitup orphans` lists such records" in out
