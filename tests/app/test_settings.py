"""Settings come from the environment (``LESSONLENS_*``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LESSONLENS_MODEL_DIR", str(tmp_path))
    assert Settings().model_dir == tmp_path
