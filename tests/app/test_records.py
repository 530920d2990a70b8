"""Schema upgrades of existing databases, and the migration progress output."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

import app.records
from app.records import Episode, Records
from scripts.progress import Progress


def test_an_existing_database_is_brought_forward_and_keeps_its_records(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    current = len(app.records.SCHEMA_STEPS)
    db = Records(tmp_path / "app.db")
    assert db.schema_version == current
    db.add_episode(id="e1", name="n", user_id="u", audio_ref="podcasts/x.mp3", local_key=None,
                   content_type="audio/mpeg", size=3, sha256="abc", state="stored")
    db.close()
    later = "ALTER TABLE episodes ADD COLUMN duration_seconds REAL"
    monkeypatch.setattr(app.records, "SCHEMA_STEPS", (*app.records.SCHEMA_STEPS, later))
    db = Records(tmp_path / "app.db")
    try:
        assert db.schema_version == current + 1
        assert db.episode("e1").audio_ref == "podcasts/x.mp3"
        columns = [row["name"] for row in db._query("PRAGMA table_info(episodes)")]
        assert "duration_seconds" in columns
    finally:
        db.close()
    Records(tmp_path / "app.db").close()  # reopening an up-to-date database changes nothing


def forget_copy(db: Records, episode_id: str) -> Episode:  # not durable: skips the fsync
    return db.forget_local_copy(episode_id)


def mark_stored(db: Records, episode_id: str) -> Episode:  # durable
    return db.mark_stored(episode_id, "s3://b/k.mp3", '"etag"', None)


@pytest.mark.parametrize("write", [forget_copy, mark_stored], ids=["not-durable", "durable"])
def test_an_update_returns_the_row_as_committed_and_keeps_the_database_synchronous(tmp_path: Path,
                                                                                  write: Callable) -> None:
    db, reader = Records(tmp_path / "app.db"), Records(tmp_path / "app.db")
    try:
        db.add_episode(id="e1", name="n", user_id="u", audio_ref="s3://b/k.mp3", local_key="podcasts/x.mp3",
                       content_type="audio/mpeg", size=3, sha256="abc", state="stored")
        updated = write(db, "e1")
        assert updated.local_key is None and updated.audio_ref == "s3://b/k.mp3"
        assert reader.episode("e1") == updated  # committed: another connection sees it
        with pytest.raises(KeyError):
            write(db, "nope")
        assert db._query("PRAGMA synchronous")[0]["synchronous"] == 2  # FULL again, whatever happened
    finally:
        db.close()
        reader.close()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    terminal, log = Terminal(), io.StringIO()
    for out in (terminal, log):
        progress = Progress(4, 4 * 2**20, out, interval=3600)
        for _ in range(4):
            progress.advance(2**20)
    assert "\r[" + "#" * 30 + "] 4/4 files, 4.0/4.0 MiB sent" in terminal.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("progress: 4/4 files, 4.0/4.0 MiB sent, ")
    assert len(log.getvalue().splitlines()) == 1  # not a line per file: every interval, and at the end


def test_a_rerun_whose_files_are_in_place_shows_nothing_sent() -> None:
    log = io.StringIO()
    progress = Progress(3, 3 * 2**20, log, interval=3600)
    for _ in range(3):
        progress.advance(2**20, moved=False)
    assert log.getvalue().startswith("progress: 3/3 files (3 already in place), 0.0/3.0 MiB sent, ")


def test_a_database_from_before_the_bucket_column_gets_each_episodes_bucket(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "app.db") as old:  # version 3, as the last release left it
        for step in app.records.SCHEMA_STEPS[:3]:
            old.executescript(step)
        old.execute("PRAGMA user_version = 3")
        for n, ref in enumerate(["s3://old-bucket/episodes/a.mp3", "s3://old-bucket/episodes/b.mp3",
                                 "s3://arn:aws:s3:us-east-2:123456789012:accesspoint/ap/episodes/c.mp3",
                                 "podcasts/episodes/d/audio/d.mp3"]):
            old.execute("INSERT INTO episodes (id, name, audio_ref, content_type, size, sha256, state, created_at, "
                        "updated_at) VALUES (?, 'n', ?, 'audio/mpeg', 1, 'x', 'stored', ?, ?)", (f"e{n}", ref, n, n))
    db = Records(tmp_path / "app.db")
    try:
        assert db.schema_version == len(app.records.SCHEMA_STEPS)
        assert db.episodes_by_bucket(leaving_out=set()) == {
            "old-bucket": 2, "arn:aws:s3:us-east-2:123456789012:accesspoint/ap": 1}
        assert db.episodes_by_bucket(leaving_out={"old-bucket"}) == {
            "arn:aws:s3:us-east-2:123456789012:accesspoint/ap": 1}
        db.move_audio("e3", "s3://new-bucket/episodes/d.mp3")
        assert db.episodes_by_bucket(leaving_out={"old-bucket"})["new-bucket"] == 1
    finally:
        db.close()


def test_the_buckets_are_read_from_their_index_not_from_every_episode(tmp_path: Path) -> None:
    db = Records(tmp_path / "app.db")
    try:
        plan = " ".join(row["detail"] for row in db._query(
            "EXPLAIN QUERY PLAN SELECT MIN(audio_bucket) FROM episodes WHERE audio_bucket > 'a'"))
        counted = " ".join(row["detail"] for row in db._query(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) AS n FROM episodes WHERE audio_bucket = 'a'"))
        assert "episodes_by_bucket" in plan and "episodes_by_bucket" in counted, (plan, counted)
        assert "SCAN episodes" not in plan + counted
    finally:
        db.close()


def test_a_walk_of_every_row_reads_pages_and_returns_each_row_once_even_when_times_tie(tmp_path: Path) -> None:
    db = Records(tmp_path / "app.db")
    try:
        for n in range(5):  # one created_at for all: the id breaks the tie between pages
            db.add_episode(id=f"e{n}", name="n", user_id=None, audio_ref=f"podcasts/{n}.mp3", local_key=None,
                           content_type="audio/mpeg", size=n, sha256="x", state="stored", created_at=100.0)
        assert [row["id"] for row in db._paged("episodes", ("size",), page=2)] == [f"e{n}" for n in range(5)]
        assert sorted(size for _, size, _ in db.stored_sizes()) == [0, 1, 2, 3, 4]
        assert [reference for _, reference in db.references()] == [f"podcasts/{n}.mp3" for n in range(5)]
    finally:
        db.close()
