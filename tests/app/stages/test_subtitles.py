"""Stage ``subtitles``: its options, and its runner on a fake engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.jobs import StageStatus
from app.stages import subtitles
from app.stages.context import StageContext
from app.stages.graph import run_stages
from pipelines.asr import AsrOptions, Segment, Transcript, Word
from pipelines.exceptions import OptionsError


def test_subtitle_options_parse_and_reject() -> None:
    opts = subtitles.STAGE.parse({"language": "de", "profile": "bbc", "profile_overrides": {"max_lines": 1}})
    asr, profile = opts.asr(), opts.style()
    assert asr.resolved_model() == "whisper-base"
    assert (profile.name, profile.max_line_chars, profile.max_lines) == ("bbc", 37, 1)
    with pytest.raises(OptionsError, match="Unknown subtitles option"):
        subtitles.STAGE.parse({"speed": 2})
    with pytest.raises(OptionsError, match="Unknown subtitle profile 'cinema'"):
        subtitles.STAGE.parse({"profile": "cinema"})
    with pytest.raises(OptionsError, match="beam_size"):
        subtitles.STAGE.parse({"beam_size": 99})
    with pytest.raises(OptionsError, match="vad_filter must be true or false"):
        subtitles.STAGE.parse({"vad_filter": "yes"})


def test_subtitle_options_name_the_model_they_load() -> None:
    assert subtitles.STAGE.required_models({}) == ("whisper-tiny.en",)
    assert subtitles.STAGE.required_models({"language": "auto"}) == ("whisper-base",)


def test_defaults_are_the_asr_defaults() -> None:
    opts, asr = subtitles.SubtitlesOptions(), AsrOptions()
    assert (opts.model, opts.language, opts.beam_size, opts.vad_filter) == (
        asr.model, asr.language, asr.beam_size, asr.vad_filter)


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
    assert outcome.status == StageStatus.SUCCEEDED
    assert outcome.summary["words"] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outcome.files)
    assert subtitles.SUBTITLES_JSON in outcome.files


def test_subtitles_stage_skips_without_audio(samples: Path, tmp_path: Path) -> None:
    ctx = StageContext(media_path=samples / "silent.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcome = run_stages(ctx, ["subtitles"], {})["subtitles"]
    assert outcome.status == StageStatus.SKIPPED
    assert outcome.reason and "no speech track" in outcome.reason
