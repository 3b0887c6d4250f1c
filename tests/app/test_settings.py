"""Settings come from the environment (``LESSONLENS_*``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, megabytes


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LESSONLENS_MODEL_DIR", str(tmp_path))
    assert Settings().model_dir == tmp_path


def test_megabytes_are_shown_as_precisely_as_set() -> None:
    assert [megabytes(int(mb * 1e6)) for mb in (2048, 1.5, 0.03, 0.0005)] == ["2048", "1.5", "0.03", "0.0005"]
