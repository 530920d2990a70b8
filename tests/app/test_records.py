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
    assert "\r[" + "#" * 30 + "] 4/4 files, 4.0/4.0 MiB" in terminal.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("progress: 4/4 files, 4.0/4.0 MiB, ")
    assert len(log.getvalue().splitlines()) == 1  # not a line per file: every interval, and at the end
