"""``POST /v1/classify`` through FastAPI's test client, with a keyword-fake classifier."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import classify as classify_routes
from app.api.errors import install_error_handlers
from app.model_cache import ModelCache
from app.settings import Settings
from pipelines.classify.classifier import Classifier
from tests.pipelines.classify.test_classifier import LESSON, VLOG, KeywordEmbedder, keyword_heads


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(classify_routes.router)
    models = ModelCache(Settings())
    models.get("classifier", lambda: Classifier(KeywordEmbedder(), keyword_heads()))  # a fake in the real cache the route reads
    app.state.services = SimpleNamespace(settings=Settings(), key_ids={}, models=models)
    return TestClient(app)


def test_transcript_only(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"transcript": LESSON})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "learning" and body["kind"] == "lecture"
    assert body["signals"] == ["transcript"]
    assert body["evidence_for"][0]["source"] == "transcript" and body["evidence_for"][0]["weight"] > 0


def test_all_inputs_and_options(client: TestClient) -> None:
    r = client.post("/v1/classify", json={
        "transcript": VLOG,
        "screen_text": ["Click the menu button", {"text": "Open the terminal", "start": 3.0, "end": 5.0}],
        "visual": {"text_frame_share": 0.2, "static_share": 0.1},
        "options": {"screen_text_share": 0.2, "evidence_per_side": 1},
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "not_learning"
    assert body["signals"] == ["transcript", "screen_text", "visual"]
    assert len(body["evidence_for"]) <= 1 and len(body["evidence_against"]) == 1


def test_empty_input_is_422_with_a_clear_message(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"transcript": "  ", "screen_text": []})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "empty_input"
    assert "Nothing to classify" in r.json()["error"]["message"]


@pytest.mark.parametrize("body", [
    {"transcript": "x", "options": {"threshold": 2}},
    {"transcript": "x", "visual": {"static_share": 1.5}},
    {"transcript": "x", "colour": "red"},
])
def test_invalid_requests_are_rejected(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/v1/classify", json=body).status_code == 422
