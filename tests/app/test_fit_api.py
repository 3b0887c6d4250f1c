"""``POST /v1/fit`` through FastAPI's test client, with a bag-of-words embedder and no LM."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import fit as fit_routes
from app.api.errors import install_error_handlers
from app.model_cache import ModelCache
from app.settings import Settings
from pipelines.fit.sentence import SentenceFitter
from pipelines.reading import reading_chars
from tests.pipelines.fit.test_sentence import FILLED, BagOfWords


def serving(fitter: SentenceFitter) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(fit_routes.router)
    models = ModelCache(Settings())
    models.get("fitter", lambda: fitter)  # a fake in the real cache the route reads
    app.state.services = SimpleNamespace(settings=Settings(), key_ids={}, models=models)
    return TestClient(app)


@pytest.fixture
def client() -> TestClient:
    return serving(SentenceFitter(BagOfWords()))


def test_fit_by_chars(client: TestClient) -> None:
    limit = reading_chars(FILLED) - 25
    r = client.post("/v1/fit", json={"text": FILLED, "max_chars": limit})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fits"] and body["unit"] == "chars" and body["changed"]
    assert len(body["text"]) <= limit and body["similarity"] >= 0.8
    assert body["candidates"][0]["text"] == body["text"]
    assert {c["method"] for c in body["candidates"]} >= {"original"}


def test_fit_speaking_not_fitting_is_reported(client: TestClient) -> None:
    r = client.post("/v1/fit", json={"text": FILLED, "max_seconds": 0.5, "mode": "speaking"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fits"] is False and body["overrun"] > 0 and body["text"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"text": FILLED}, "validation_error"),
        ({"text": FILLED, "max_seconds": 2, "max_chars": 20}, "validation_error"),
        ({"text": "", "max_seconds": 2}, "validation_error"),
        ({"text": FILLED, "max_seconds": 2, "profile": "nope"}, "invalid_options"),
        ({"text": FILLED, "max_seconds": 2, "mode": "speaking", "language": "fi"}, "unsupported_language"),
        ({"text": FILLED, "max_seconds": 2, "language": "english"}, "unsupported_language"),
        ({"text": FILLED, "max_seconds": 2, "language": "zz"}, "unsupported_language"),
    ],
)
def test_errors(client: TestClient, payload: dict[str, Any], code: str) -> None:
    r = client.post("/v1/fit", json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code


@pytest.mark.parametrize("language", ["english", "zz"])
def test_an_unknown_language_is_refused_naming_the_supported_ones(client: TestClient, language: str) -> None:
    """It answered 200 with the text unchanged (method "original", no note)."""
    slot = {"text": FILLED, "max_chars": reading_chars(FILLED) - 25}
    r = client.post("/v1/fit", json={**slot, "language": language})
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert message.startswith(f"Unknown fit language {language!r}")
    assert "Supported: de, en, es, fr, it" in message and " ko," in message
    ok = client.post("/v1/fit", json={**slot, "language": "en-US"})
    assert ok.status_code == 200 and ok.json()["changed"]


@pytest.mark.slow
def test_the_rules_percent_sign_is_not_refused_by_the_meaning_guard(require_model: Any, model_dir: Path) -> None:
    """fits: false: "We have about 20% of the memory left." was refused as "drops 'about 20 percent'"."""
    require_model("minilm-l6-v2")
    require_model("spacy-en-sm")
    client = serving(SentenceFitter.load(model_dir, use_lm=False))  # MiniLM and the parser, as served
    r = client.post("/v1/fit", json={"text": "Well, you know, we have about 20 percent of the memory left.",
                                     "max_chars": 40, "lm": "never", "time_budget_s": None})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fits"] and body["text"] == "We have about 20% of the memory left."
    assert not any(c["note"].startswith("drops") for c in body["candidates"])
