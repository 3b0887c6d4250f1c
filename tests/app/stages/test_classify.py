"""Stage ``classify``: its options (the pipeline's ClassifyOptions), its place in the graph, and
what it classifies from when the media lacks a track."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.jobs import StageStatus
from app.model_cache import ModelCache
from app.settings import Settings
from app.stages import classify, ocr, subtitles
from app.stages.context import StageContext
from pipelines.exceptions import OptionsError


def test_classify_options_and_dependencies() -> None:
    assert classify.STAGE.parse({"threshold": "0.6", "multilingual": False}).threshold == 0.6
    assert classify.STAGE.needs == (subtitles.NAME,) and classify.STAGE.uses == (ocr.NAME,)
    with pytest.raises(OptionsError, match="Unknown classify option"):
        classify.STAGE.parse({"model": "x"})
    with pytest.raises(OptionsError, match="multilingual must be true or false"):
        classify.STAGE.parse({"multilingual": "no"})


@pytest.fixture(scope="module")
def audio_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s tone with no video stream (``audioonly.m4a``)."""
    path = tmp_path_factory.mktemp("audio") / "audioonly.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac",
                    str(path)], check=True, capture_output=True, timeout=120)
    return path


def _transcript(out: Path, texts: list[str]) -> None:
    cues = [{"lines": [t], "start": 2.0 * n, "end": 2.0 * n + 1.8} for n, t in enumerate(texts)]
    (out / subtitles.SUBTITLES_JSON).write_text(json.dumps({"language": "en", "cues": cues}))


class NoClassifier:
    def classifier(self) -> Any:
        raise AssertionError("nothing to classify: the classifier is not loaded")


def test_audio_only_without_speech_is_skipped_not_failed(audio_only: Path, tmp_path: Path) -> None:
    """No transcript and no video: it read frames and failed the job ("not a video OpenCV can
    decode"); there is nothing to classify, so the stage is skipped and says why."""
    _transcript(tmp_path, [])
    ctx = StageContext(media_path=audio_only, out_dir=tmp_path, models=NoClassifier())  # type: ignore[arg-type]
    outcome = classify.run(ctx, classify.STAGE.parse({}))
    assert outcome.status == StageStatus.SKIPPED and outcome.files == ()
    assert outcome.reason == "nothing to classify: no speech was heard and the media has no video track"


@pytest.mark.slow
def test_audio_only_is_classified_from_its_transcript_and_says_so(audio_only: Path, tmp_path: Path,
                                                                 require_model: Callable[[str], Path]) -> None:
    require_model("minilm-l6-v2-ct2")
    _transcript(tmp_path, ["Welcome to week three of the course.", "Today we learn how to solve linear equations.",
                           "First, isolate the variable on one side.", "Then check your answer by substituting it."])
    ctx = StageContext(media_path=audio_only, out_dir=tmp_path, models=ModelCache(Settings()))
    outcome = classify.run(ctx, classify.STAGE.parse({}))
    assert outcome.status == StageStatus.SUCCEEDED
    assert outcome.summary["signals"] == ["transcript"] and outcome.summary["note"] == classify.NO_VIDEO
    doc = json.loads((tmp_path / classify.CLASSIFICATION_JSON).read_text())
    assert classify.NO_VIDEO in doc["notes"] and doc["label"] == "learning"
