"""``ephitup orphans`` on a data set holding each kind of orphan, and ``ephitup usage`` on known sizes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime import Runtime
from app.settings import Settings
from app.storage import ObjectStat
from scripts.cli import main
from tests.support.aws import s3_env
from tests.support.live import files_under


@pytest.fixture
def env(tmp_path: Path, moto_server: str, server_bucket, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    name, _ = server_bucket
    values = s3_env(tmp_path / "data", S3_ENDPOINT_URL=moto_server, S3_BUCKET_NAME=name)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def bucket(server_bucket) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    name, s3 = server_bucket
    return {o["Key"]: s3.get_object(Bucket=name, Key=o["Key"])["Body"].read()
            for o in s3.list_objects_v2(Bucket=name).get("Contents", [])}


def test_orphans_finds_each_kind_changes_nothing_in_a_dry_run_and_deletes_exactly_the_orphans(
        env: dict[str, str], server_bucket, capsys: pytest.CaptureFixture[str]) -> None:
    name, s3 = server_bucket
    data = Path(env["DATA_FOLDER"])
    with Runtime.open(Settings.from_env(env)) as runtime:
        episodes = [runtime.episodes.create(f"show {n}", "u1", io.BytesIO(b"ID3" * 100), "audio/mpeg")
                    for n in range(3)]
        runtime.sources.create(io.BytesIO(b"%PDF"), "notes.pdf", "application/pdf")
    s3.put_object(Bucket=name, Key="episodes/u1/gone/stray.mp3", Body=b"x" * 111)  # no record: an orphan
    s3.put_object(Bucket=name, Key="episodes/_orphans/old/audio/old.mp3", Body=b"kept")  # kept by migrate: never
    (data / "uploads" / "stray.pdf").write_bytes(b"y" * 222)  # no record: an orphan
    s3.delete_object(Bucket=name, Key=episodes[0].audio_ref.split("/", 3)[3])  # a record whose object is gone
    before = (files_under(data), bucket(server_bucket))

    assert main(["orphans"]) == 1  # the record without its object; the rest is younger than the 24 h grace
    out = capsys.readouterr().out
    assert "unreferenced but younger than 24 h (kept: maybe in flight): 2" in out and "nothing to delete" in out
    assert main(["orphans", "--grace-hours", "0"]) == 1
    out = capsys.readouterr().out
    assert "S3 objects no record points at: 1\n  episodes/u1/gone/stray.mp3 (111 bytes)" in out
    assert "files under DATA_FOLDER no record points at: 1\n  uploads/stray.pdf (222 bytes)" in out
    assert f"records whose object or file is gone: 1\n  episode {episodes[0].id}" in out
    assert (files_under(data), bucket(server_bucket)) == before  # the dry run changed nothing

    assert main(["orphans", "--grace-hours", "0", "--delete"]) == 1  # a record still lacks its object
    assert "deleted 2 orphaned objects and files; 0 failed" in capsys.readouterr().out
    after_files, after_bucket = files_under(data), bucket(server_bucket)
    assert set(before[0]) - set(after_files) == {"uploads/stray.pdf"}
    assert set(before[1]) - set(after_bucket) == {"episodes/u1/gone/stray.mp3"}
    assert "episodes/_orphans/old/audio/old.mp3" in after_bucket


def test_usage_reports_known_sizes(small_disk: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATA_FOLDER", str(small_disk))
    monkeypatch.setenv("STORAGE_MODE", "local")
    with Runtime.open() as runtime:
        for n in range(3):
            runtime.episodes.create(f"show {n}", None, io.BytesIO(bytes(100_000)), "audio/mpeg")
        runtime.sources.create(io.BytesIO(bytes(50_000)), "notes.pdf", "application/pdf")
    assert main(["usage", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bytes_by_folder"]["podcasts"] == 300_000 and report["bytes_by_folder"]["uploads"] == 50_000
    assert report["bytes_by_folder"]["records"] > 0 and report["s3_bytes"] is None
    assert report["disk_total_bytes"] == 4 * 2**20
    assert report["local_growth_bytes_per_day"] == 350_000 * 24  # all of it within the last hour: the floor
    assert report["days_until_full"] == round(report["disk_free_bytes"] / (350_000 * 24), 1)
    assert main(["usage", "--chart"]) == 0
    table = capsys.readouterr().out
    assert "  podcasts" in table and "#" in table and "full in:" in table
    rows = {line[:24].strip(): float(line[24:37]) for line in table.splitlines() if line[38:41] == "MiB"}
    folder = sum(report["bytes_by_folder"].values()) / 2**20  # the data folder, not the whole filesystem
    assert rows["data folder"] == pytest.approx(folder, abs=0.05)
    assert rows["data folder"] + rows["disk: other files"] + rows["disk free"] == pytest.approx(4.0, abs=0.15)


def test_usage_counts_s3_from_one_listing(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with Runtime.open(Settings.from_env(env)) as runtime:
        for n in range(2):
            runtime.episodes.create(f"show {n}", "u1", io.BytesIO(bytes(1000)), "audio/mpeg")
    assert main(["usage", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["s3_objects"], report["s3_bytes"]) == (2, 2000)
    assert report["local_growth_bytes_per_day"] == 0 and report["days_until_full"] is None  # audio went to S3


def test_usage_and_orphans_report_a_record_with_an_unusable_reference_instead_of_failing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATA_FOLDER", str(tmp_path / "data"))
    monkeypatch.setenv("STORAGE_MODE", "local")
    with Runtime.open() as runtime:
        episode = runtime.episodes.create("show", None, io.BytesIO(bytes(1000)), "audio/mpeg")
        runtime.records.move_audio(episode.id, "/etc/elsewhere/show.mp3")  # outside DATA_FOLDER
    assert main(["usage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["local_growth_bytes_per_day"] == 0
    assert main(["orphans"]) == 1
    assert f"episode {episode.id}: /etc/elsewhere/show.mp3" in capsys.readouterr().out


def test_an_episode_the_live_app_deletes_during_the_scan_is_not_reported_missing(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The app deletes the record, then the file: a scan that read the record before and looks for the file after
    finds nothing to report, and --delete exits 0."""
    from app.storage import LocalStorage

    with Runtime.open(Settings.from_env(env)) as runtime:
        doomed = runtime.sources.create(io.BytesIO(b"%PDF"), "gone.pdf", "application/pdf")
    original, deleted = LocalStorage.list, []

    def deleted_meanwhile(self: LocalStorage, prefix: str = "") -> Iterator[ObjectStat]:
        if not deleted:  # the app's DELETE lands between reading the records and listing the files
            with Runtime.open(Settings.from_env(env)) as app:
                app.sources.delete(doomed)
            deleted.append(prefix)
        return original(self, prefix)

    monkeypatch.setattr(LocalStorage, "list", deleted_meanwhile)
    assert main(["orphans", "--delete"]) == 0 and deleted
    assert "records whose object or file is gone: 0" in capsys.readouterr().out


def test_the_merge_of_listing_and_records_holds_for_keys_that_sort_around_the_separator(tmp_path: Path) -> None:
    """The listing walks folders in key order and the references are sorted apart: names with `-`, `.` and
    non-ASCII sort around `/`, so a merge that disagreed on the order would call a known file an orphan."""
    from app.inventory import find_orphans
    from app.records import Records
    from app.storage import LocalStorage
    from app.storage.stores import Stores

    data = tmp_path / "data"
    local = LocalStorage(data)
    keys = ["podcasts/a-b/x.mp3", "podcasts/a/x.mp3", "podcasts/a.b/x.mp3", "podcasts/é/x.mp3", "podcasts/z/x.mp3"]
    for key in keys:
        (data / key).parent.mkdir(parents=True, exist_ok=True)
        (data / key).write_bytes(b"x")
    records = Records(data / "app.db")
    try:
        for n, key in enumerate([*keys[1:4], "podcasts/gone/x.mp3"]):  # a-b and z unreferenced; one missing
            records.add_episode(id=f"e{n}", name="n", user_id=None, audio_ref=local.reference(key), local_key=None,
                                content_type="audio/mpeg", size=1, sha256="x", state="stored")
        found = find_orphans(records, Stores(local, None), grace_seconds=0)
    finally:
        records.close()
    assert sorted(stat.key for stat in found.files) == ["podcasts/a-b/x.mp3", "podcasts/z/x.mp3"]
    assert found.missing == [f"episode e3: {local.reference('podcasts/gone/x.mp3')}"] and found.objects == []
