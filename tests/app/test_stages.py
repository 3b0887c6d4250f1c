"""The stage graph: planning, option validation, and the subtitles stage on a fake engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from app.stages import StageContext, parse_subtitle_options, plan, run_stages
from pipelines.asr import AsrOptions, Segment, Transcript, Word
from pipelines.exceptions import OptionsError


def test_plan_validates_names() -> None:
    assert plan(["subtitles"]) == ["subtitles"]
    assert plan(["fit"]) == ["subtitles", "fit"]
    order = plan(["classify", "ocr"])
    assert sorted(order) == ["classify", "ocr", "subtitles"] and order[-1] == "classify"
    with pytest.raises(OptionsError, match="Unknown stage 'transcribe'"):
        plan(["transcribe"])
    with pytest.raises(OptionsError, match="No stages requested"):
        plan([])


def test_subtitle_options_parse_and_reject() -> None:
    asr, profile = parse_subtitle_options({"language": "de", "profile": "bbc", "profile_overrides": {"max_lines": 1}})
    assert asr.resolved_model() == "whisper-base"
    assert (profile.name, profile.max_line_chars, profile.max_lines) == ("bbc", 37, 1)
    with pytest.raises(OptionsError, match="Unknown subtitles option"):
        parse_subtitle_options({"speed": 2})


class FakeEngine:
    name = "fake"

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None) -> Transcript:
        words = tuple(Word(0.5 + i * 0.4, 0.8 + i * 0.4, f" word{i}", 0.9) for i in range(12))
        seg = Segment(0.5, 5.3, "".join(w.text for w in words), words)
        if progress:
            progress(1.0)
        return Transcript((seg,), "en", 1.0, 6.0, "fake")


class FakeModels:
    def whisper(self, name: str) -> FakeEngine:
        return FakeEngine()


def test_subtitles_stage_writes_files_and_reports(samples: Path, tmp_path: Path) -> None:
    states: list[tuple[str, str]] = []
    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcomes = run_stages(ctx, ["subtitles"], {}, lambda n, s, o: states.append((n, s)))
    assert states == [("subtitles", "running"), ("subtitles", "done")]
    outcome = outcomes["subtitles"]
    assert outcome.status == "succeeded"
    assert outcome.summary["words"] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outcome.files)


def test_subtitles_stage_skips_without_audio(samples: Path, tmp_path: Path) -> None:
    ctx = StageContext(media_path=samples / "silent.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcome = run_stages(ctx, ["subtitles"], {})["subtitles"]
    assert outcome.status == "skipped"
    assert outcome.reason and "no speech track" in outcome.reason


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LESSONLENS_MODEL_DIR", str(tmp_path))
    assert Settings().model_dir == tmp_path
