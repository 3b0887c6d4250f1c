"""Shared fixtures: where the shared test data and the installed models are."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from pipelines.exceptions import ModelNotInstalledError
from pipelines.models import model_path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """``../shared/testdata``; tests that use it skip where it is absent (a user's clone)."""
    if not TESTDATA.is_dir():
        pytest.skip(f"shared test data not found at {TESTDATA} (only present on the project's machines)")
    return TESTDATA


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return Settings().model_dir


@pytest.fixture(scope="session")
def require_model(model_dir: Path):  # type: ignore[no-untyped-def]
    """Call with a model name: its folder, or a clear failure naming the install command."""

    def get(name: str) -> Path:
        try:
            return model_path(name, model_dir)
        except ModelNotInstalledError as e:
            pytest.fail(str(e))

    return get


@pytest.fixture(scope="session")
def samples() -> Path:
    """The generated sample media (``samples/build``), made on first use."""
    from samples.make_samples import build

    return build()


@pytest.fixture(scope="session")
def long_lesson(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample lesson played four times over (about 2 minutes, copied, not re-encoded): for
    tests that stop or kill a worker while its job runs. The 33 s lesson's subtitles take about
    2 s on a quiet machine, so a stop sent once the stage is running could land after the job ended."""
    import subprocess

    out = tmp_path_factory.mktemp("long") / "lesson_x4.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "3", "-i", str(samples / "lesson.mp4"),
                    "-c", "copy", str(out)], check=True)
    return out
