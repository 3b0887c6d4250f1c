"""``GET /v1/stages``: the registry as clients (and the web page) read it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import stages as stage_routes
from app.stages.graph import DEFAULT_STAGES, STAGES


def test_lists_every_stage_with_its_dependencies_options_and_view() -> None:
    app = FastAPI()
    app.include_router(stage_routes.router)
    with TestClient(app) as client:
        body = client.get("/v1/stages").json()
    assert [s["name"] for s in body["stages"]] == list(STAGES)  # registry order: a valid run order
    assert body["default"] == list(DEFAULT_STAGES)
    by_name = {s["name"]: s for s in body["stages"]}
    assert by_name["classify"]["needs"] == ["subtitles"] and by_name["classify"]["uses"] == ["ocr"]
    options = {o["name"]: o for o in by_name["subtitles"]["options"]}
    assert options["beam_size"] == {"name": "beam_size", "type": "int", "default": 5}
    assert "tracking" not in {o["name"] for o in by_name["ocr"]["options"]}  # fixed fields are not offered
    assert by_name["subtitles"]["view"] == {"section": "transcript", "data": "subtitles.json",
                                            "track": "subtitles.vtt", "captions": None}
    # Burned-in captions are a subtitle track of their own on the page.
    assert by_name["ocr"]["view"] == {"section": "screen_text", "data": "ocr.json", "track": "ocr.vtt",
                                      "captions": "hardsubs.vtt"}
    assert all(s["label"] and s["description"] for s in body["stages"])
