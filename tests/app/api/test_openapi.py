"""``/openapi.json`` describes every route's answers: JSON ones with schemas, downloads as binary."""

from __future__ import annotations

from pathlib import Path

from tests.support.live import LiveApp


def test_every_route_declares_a_schema_for_each_answer(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        document = client.get("/openapi.json").json()
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert len({op["operationId"] for _, _, op in operations}) == len(operations) == 13
    for path, method, operation in operations:
        for status, answer in operation["responses"].items():
            where = f"{method.upper()} {path} {status}"
            if status in ("204", "307", "416") or method == "head":
                continue  # no body: the headers carry the answer
            (media_type, content), = answer["content"].items()
            assert "schema" in content, where
            if path.endswith(("/audio", "/download")) and status in ("200", "206"):
                assert content["schema"] == {"type": "string", "format": "binary"} and media_type != "application/json"
            elif path == "/metrics" and status == "200":
                assert media_type.startswith("text/plain"), where
            else:
                assert media_type == "application/json" and content["schema"], where
        if path.startswith(("/api/", "/metrics")):
            assert "401" in operation["responses"], f"{method} {path} does not declare the token's 401"


def test_json_answers_name_their_models(tmp_path: Path) -> None:
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        paths = client.get("/openapi.json").json()["paths"]
    schema = paths["/api/podcasts/episodes/{episode_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"] == {"$ref": "#/components/schemas/EpisodeOut"}
    created = paths["/api/sources"]["post"]["responses"]
    assert set(created) >= {"201", "401", "413", "415", "422", "503"}
    assert paths["/health"]["get"]["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthOut"}


def test_no_page_loads_a_script_from_another_host(tmp_path: Path) -> None:
    """FastAPI's /docs and /redoc pull Swagger UI and ReDoc from a public CDN: the app serves neither."""
    with LiveApp({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}) as client:
        assert client.get("/docs").status_code == client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").json()["info"]["title"] == "ephitup"
