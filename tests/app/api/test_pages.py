"""Listings in pages: every episode exactly once while others come and go, an index behind each page, a filter."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx

from tests.support.live import LiveApp


def post(client: httpx.Client, name: str, user: str = "u1") -> dict:  # type: ignore[type-arg]
    return client.post("/api/podcasts/episodes", data={"name": name, "user_id": user},  # type: ignore[no-any-return]
                       files={"audio": ("a.mp3", b"x" * 10, "audio/mpeg")}).json()


def next_url(answer: httpx.Response) -> str | None:
    found = re.fullmatch(r'<([^>]+)>; rel="next"', answer.headers.get("link", ""))
    return found.group(1) if found else None


def test_walking_every_page_returns_each_episode_once_while_episodes_come_and_go(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        first = [post(client, f"e{n}")["id"] for n in range(25)]
        seen: list[str] = []
        url: str | None = "/api/podcasts/episodes?limit=4"
        added, deleted = [], first[20:23]  # deleted before the walk reaches them
        while url:
            answer = client.get(url)
            assert answer.status_code == 200 and len(answer.json()) <= 4
            seen += [e["id"] for e in answer.json()]
            if len(seen) == 8:
                for gone in deleted:
                    assert client.delete(f"/api/podcasts/episodes/{gone}").status_code == 204
                assert client.delete(f"/api/podcasts/episodes/{seen[0]}").status_code == 204  # already seen
                added.append(post(client, "late")["id"])
            url = next_url(answer)
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(seen) == (set(first) - set(deleted)) | set(added)


def test_a_listing_without_parameters_is_the_first_page_with_a_way_to_the_rest(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        for n in range(3):
            client.post("/api/sources", files={"file": (f"{n}.txt", b"x", "text/plain")})
        assert len(client.get("/api/sources").json()) == 3 and next_url(client.get("/api/sources")) is None
        page = client.get("/api/sources?limit=2")
        assert len(page.json()) == 2 and next_url(page)
        assert [s["filename"] for s in client.get(next_url(page) or "").json()] == ["2.txt"]
        assert client.get("/api/sources?cursor=not-a-cursor").status_code == 400
        assert client.get("/api/sources?limit=100000").status_code == 422


def test_the_user_filter_pages_one_users_episodes(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        mine = [post(client, f"m{n}", "alice")["id"] for n in range(3)]
        post(client, "other", "bob")
        page = client.get("/api/podcasts/episodes?user_id=alice&limit=2")
        rest = client.get(next_url(page) or "")
        assert [e["id"] for e in page.json() + rest.json()] == mine
        assert "user_id=alice" in (next_url(page) or "")


def test_each_pages_query_is_served_by_an_index(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The statements the records really run for a page, through SQLite's EXPLAIN QUERY PLAN."""
    from app.databases import SqliteDatabase
    from app.records import Records

    ran: list[tuple[str, tuple]] = []  # type: ignore[type-arg]
    original = SqliteDatabase.rows

    def recording(self, sql: str, params: tuple = ()) -> list:  # type: ignore[no-untyped-def, type-arg]
        ran.append((sql, params))
        return original(self, sql, params)

    monkeypatch.setattr(SqliteDatabase, "rows", recording)
    records = Records(tmp_path / "app.db")
    records.episode_page((1.0, "x"), 5)
    records.episode_page((1.0, "x"), 5, user_id="alice")
    records.source_page((1.0, "x"), 5)
    records.close()
    with sqlite3.connect(tmp_path / "app.db") as db:
        for (sql, params), index in zip(ran[-3:], ("episodes_by_time", "episodes_by_user", "sources_by_time"),
                                        strict=True):
            plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert index in plan and "TEMP B-TREE" not in plan, plan


def test_the_reconcilers_search_for_leftover_local_copies_reads_only_those(tmp_path: Path) -> None:
    """A partial index holds only the episodes with a local copy: a pass costs their number, not the library's."""
    from app.records import Records

    Records(tmp_path / "app.db").close()
    with sqlite3.connect(tmp_path / "app.db") as db:
        sql = "SELECT * FROM episodes WHERE local_key IS NOT NULL AND state = 'stored' ORDER BY created_at"
        plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "episodes_local_copies" in plan and "TEMP B-TREE" not in plan, plan
