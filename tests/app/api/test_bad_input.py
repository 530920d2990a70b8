"""Bad input gets a clear 4xx and changes nothing on disk or in the records."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import app.api.sources
from tests.support.live import LiveApp, files_under

TOKEN = "s3cr3t-token-value"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data: Path) -> Iterator[httpx.Client]:
    env = {"DATA_FOLDER": str(data), "STORAGE_MODE": "local", "MAX_UPLOAD_MB": "1"}
    with LiveApp(env) as client:
        client.post("/api/podcasts/episodes", data={"name": "keep"}, files={"audio": ("a.mp3", b"ID3", "audio/mpeg")})
        yield client


def unchanged(client: httpx.Client, data: Path, action) -> httpx.Response:  # type: ignore[no-untyped-def]
    before_files, before_records = files_under(data), client.get("/api/podcasts/episodes").json()
    response = action()
    assert files_under(data) == before_files
    assert client.get("/api/podcasts/episodes").json() == before_records
    assert client.get("/api/sources").json() == []
    return response  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 1024 * 1024 + 1])
def test_oversize_upload_is_413(client: httpx.Client, data: Path, size: int) -> None:
    response = unchanged(client, data, lambda: client.post(
        "/api/podcasts/episodes", data={"name": "big"}, files={"audio": ("b.mp3", os.urandom(size), "audio/mpeg")}))
    assert response.status_code == 413 and "MAX_UPLOAD_MB (1 MB)" in response.json()["detail"]


def test_oversize_upload_without_content_length_is_cut_while_streaming(
        client: httpx.Client, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    handler_ran = []
    monkeypatch.setattr(app.api.sources, "check_size", lambda *args: handler_ran.append(args))
    sent = 0

    def body() -> Iterator[bytes]:  # chunked: the server cannot know the size up front
        nonlocal sent
        boundary = b"--x\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.mp3\"\r\n" \
                   b"Content-Type: audio/mpeg\r\n\r\n"
        yield boundary
        for _ in range(64):
            sent += 65536
            yield b"\0" * 65536
        yield b"\r\n--x--\r\n"

    response = unchanged(client, data, lambda: client.post(
        "/api/sources", content=body(), headers={"Content-Type": "multipart/form-data; boundary=x"}))
    assert response.status_code == 413
    assert handler_ran == []  # refused by the streaming limit, before any handler saw a spooled file


def test_wrong_content_type_is_415(client: httpx.Client, data: Path) -> None:
    response = unchanged(client, data, lambda: client.post(
        "/api/podcasts/episodes", data={"name": "x"}, files={"audio": ("x.mp3", b"#!/bin/sh", "text/x-shellscript")}))
    assert response.status_code == 415 and "text/x-shellscript" in response.json()["detail"]


def test_missing_fields_are_422(client: httpx.Client, data: Path) -> None:
    response = unchanged(client, data, lambda: client.post("/api/podcasts/episodes", data={"name": "x"}))
    assert response.status_code == 422


@pytest.mark.parametrize("hostile", ["../../../etc/cron.d/evil", "..\\..\\boot.ini", "/etc/passwd",
                                     "a\x00b.pdf", "\u202egnp.exe", "x" * 400])
def test_hostile_file_names_are_never_paths(client: httpx.Client, data: Path, hostile: str) -> None:
    response = client.post("/api/sources", files={"file": (hostile, b"payload", "application/pdf")})
    assert response.status_code == 201
    source = response.json()
    assert "/" not in source["filename"] and "\\" not in source["filename"] and "\x00" not in source["filename"]
    assert len(source["filename"]) <= 255
    stored = [p for p in (data / "uploads").iterdir()]
    assert [p.name for p in stored] == [f"{source['id']}.pdf"]
    assert all(p.resolve().is_relative_to(data.resolve()) for p in data.rglob("*"))


@pytest.mark.parametrize("path", ["/api/podcasts/episodes/nope", "/api/podcasts/episodes/nope/audio",
                                  "/api/sources/nope/download"])
def test_unknown_ids_are_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_deleting_unknown_ids_is_404_and_changes_nothing(client: httpx.Client, data: Path) -> None:
    assert unchanged(client, data, lambda: client.delete("/api/podcasts/episodes/nope")).status_code == 404
    assert unchanged(client, data, lambda: client.delete("/api/sources/nope")).status_code == 404


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=", "bytes=--1", "bytes=-"])
def test_malformed_range_is_400(client: httpx.Client, header: str) -> None:
    url = client.get("/api/podcasts/episodes").json()[0]["audio_url"]
    response = client.get(url, headers={"Range": header})
    assert response.status_code == 400 and "malformed Range header" in response.json()["detail"]


def test_token_required_when_set(data: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(data), "STORAGE_MODE": "local", "APP_TOKEN": TOKEN}) as client:
        assert client.get("/api/podcasts/episodes").status_code == 401
        wrong = client.get("/api/podcasts/episodes", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in wrong.text
        posted = client.post("/api/sources", files={"file": ("a.pdf", b"x", "application/pdf")})
        assert posted.status_code == 401 and not (data / "uploads").exists()
        right = client.get("/api/podcasts/episodes", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        assert client.get("/health").status_code == 200  # health stays open for Render's check
