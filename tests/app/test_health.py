"""Health, readiness and metrics routes (in-process app; no models needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_readyz_names_the_missing_model_and_how_to_install_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", model_dir=tmp_path / "no-models")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        r = client.get("/readyz")
        assert r.status_code == 503
        error = r.json()["error"]
        assert error["code"] == "not_ready" and "whisper-tiny.en" in error["message"]
        assert "model:whisper-tiny.en" in error["detail"]
        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "lessonlens_queue_depth 0.0" in metrics.text
        assert 'route="/readyz",status="503"' in metrics.text


def test_readyz_ok_with_installed_models(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        r = client.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ready"
