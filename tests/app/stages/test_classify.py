"""Stage ``classify``: its options (the pipeline's ClassifyOptions), its place in the graph, what
it classifies from when the media lacks a track, and what it reads of the earlier stages' files
(burned-in captions and watermarks are not on-screen text; a transcript the subtitles stage
doubts is not read)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.jobs import StageStatus
from app.model_cache import ModelCache
from app.settings import Settings
from app.stages import classify, ocr, subtitles
from app.stages.context import StageContext
from app.stages.graph import run_stages
from pipelines.classify.classifier import Classifier
from pipelines.classify.head import KINDS, HeadSet, KindHead, LinearHead
from pipelines.exceptions import OptionsError
from pipelines.media import MediaInfo


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


class FlatEmbedder:
    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return np.ones((len(texts), 1), dtype=np.float32)


class RecordingModels:
    """A classifier whose every input is kept (its verdict is even odds: no weights)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        heads = HeadSet(LinearHead(w=np.zeros(1, dtype=np.float32), b=0.0, mu=np.zeros(1, dtype=np.float32)),
                        KindHead(W=np.zeros((len(KINDS), 1), dtype=np.float32), b=np.zeros(len(KINDS))), "trained")
        self.inner = Classifier(FlatEmbedder(), heads, multilingual_embedder=FlatEmbedder(), multilingual_heads=heads)

    def classifier(self) -> Any:
        return self

    def classify(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.inner.classify(**kwargs)


VIDEO = MediaInfo(path="clip.mp4", format="mp4", duration=6.006, size_bytes=1, has_audio=True, has_video=True)


def _film(out: Path, *, doubt: bool) -> None:
    """The stage files of a real 6 s anime clip (vsr_rezero_en): Whisper tiny.en wrote English
    words over Japanese speech, OCR read the fansub's watermark and one English caption."""
    (out / subtitles.SUBTITLES_JSON).write_text(json.dumps({
        "language": "en", "cues": [{"lines": ["She met on the limb."], "start": 1.2, "end": 3.0}],
        **({"language_doubt": {"asked": "en", "heard": "ja", "probability": 0.884, "sure": True}} if doubt else {}),
    }))
    (out / ocr.OCR_JSON).write_text(json.dumps({
        "duration": 6.006, "frames_sampled": 12,
        "events": [{"start": 0.0, "end": 6.0055, "box": [0.7617, 0.0375, 0.957, 0.0875], "text": "Yami Sukehiro"},
                   {"start": 0.5005, "end": 3.0025, "box": [0.3617, 0.8819, 0.6328, 0.9569],
                    "text": "Ive decided, Rem."}],
        "visual": {"text_frame_share": 1.0, "static_share": 0.909, "slide_like_share": None, "frames": 12},
        "hardsubs": {"band": [0.0, 0.7981, 1.0, 1.0], "bands": [[0.0, 0.7981, 1.0, 1.0]],
                     "cues": [{"start": 1.3, "end": 3.1, "lines": ["I've decided, Rem."], "text": "I've decided, Rem."}]},
    }))


def test_captions_and_watermarks_are_not_screen_text_and_ocr_cuts_are_not_a_still_screen(tmp_path: Path) -> None:
    """The clip's only evidence for learning was "100 % of frames show text" (the watermark and
    the caption) and "91 % of frame changes are a static screen" (OCR's cuts, on footage with 5
    shot changes in 6 s); now the classifier is given neither."""
    _film(tmp_path, doubt=False)
    models = RecordingModels()
    ctx = StageContext(media_path=tmp_path / "clip.mp4", out_dir=tmp_path, models=models, info=VIDEO)  # type: ignore[arg-type]
    outcome = classify.run(ctx, classify.STAGE.parse({}))
    call = models.calls[-1]
    assert call["screen_text"] is None and call["language"] == "en"
    assert call["visual"].text_frame_share == 0.0 and call["visual"].static_share is None
    assert [c["text"] for c in call["transcript"]] == ["She met on the limb."]
    assert outcome.summary["screen_text_left_out"] == {"captions": 1, "overlays": 1}
    notes = json.loads((tmp_path / classify.CLASSIFICATION_JSON).read_text())["notes"]
    assert any("1 in the burned-in caption band" in n and "'Yami Sukehiro'" in n for n in notes)


def test_a_transcript_in_doubt_gives_way_to_the_burned_in_captions(tmp_path: Path) -> None:
    _film(tmp_path, doubt=True)
    models = RecordingModels()
    ctx = StageContext(media_path=tmp_path / "clip.mp4", out_dir=tmp_path, models=models, info=VIDEO)  # type: ignore[arg-type]
    classify.run(ctx, classify.STAGE.parse({}))
    call = models.calls[-1]
    assert [c["text"] for c in call["transcript"]] == ["I've decided, Rem."] and call["language"] is None
    notes = json.loads((tmp_path / classify.CLASSIFICATION_JSON).read_text())["notes"]
    assert any(n.startswith("transcript not read: the speech sounds like 'ja', not 'en'") for n in notes)


@pytest.mark.slow
def test_a_real_captioned_anime_clip_is_not_learning(testdata: Path, tmp_path: Path,
                                                     require_model: Callable[[str], Path]) -> None:
    """vsr_rezero_en (6 s): subtitles, ocr and classify as a job runs them. It came out
    learning (p 0.59) on the watermark, the caption and OCR's cuts read as a still screen."""
    require_model("minilm-l6-v2-ct2")
    ctx = StageContext(media_path=testdata / "video" / "vsr_rezero_en.mp4", out_dir=tmp_path,
                       models=ModelCache(Settings()))
    outcome = run_stages(ctx, [subtitles.NAME, ocr.NAME, classify.NAME], {}, threads=2)[classify.NAME]
    assert outcome.status == StageStatus.SUCCEEDED
    assert outcome.summary["label"] == "not_learning", outcome.summary
    assert outcome.summary["screen_text_left_out"]["overlays"] >= 1  # "Yami Sukehiro", top right all along
    doc = json.loads((tmp_path / classify.CLASSIFICATION_JSON).read_text())
    assert not any(e["source"] == "visual" and e["weight"] > 0 for e in doc["evidence_for"])
