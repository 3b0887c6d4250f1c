"""Stage ``fit``: its options, checked by the pipeline's own rules at parse time."""

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
from app.stages import fit, subtitles
from app.stages.context import StageContext
from app.stages.graph import normalise_options, plan, run_stages
from pipelines.exceptions import OptionsError, UnsupportedLanguageError
from pipelines.fit.sentence import SentenceFitter
from tests.pipelines.fit.test_sentence import BagOfWords
from tests.pipelines.fit.test_subtitle_file import SRT, Recording


def test_fit_options_build_the_pipeline_options() -> None:
    opts = fit.STAGE.parse({"mode": "speaking", "syllables_per_second": "5"})
    assert opts.language is None  # filled from the detected language when the stage runs
    built = opts.fit_options("de")
    assert (built.mode, built.language, built.syllables_per_second) == ("speaking", "de", 5.0)
    assert fit.STAGE.parse({"language": "fr"}).fit_options("de").language == "fr"
    assert fit.STAGE.parse({}).fit_options(None).language == "en"


@pytest.mark.parametrize(("values", "match"), [
    ({"max_chars": 3}, "Unknown fit option"),
    ({"mode": "singing"}, "mode must be 'reading' or 'speaking'"),
    ({"lm": "sometimes"}, "lm must be"),
    ({"similarity_floor": 2}, "similarity_floor"),
    ({"subtitles": ["1"]}, "subtitles must be text"),
])
def test_bad_fit_options(values: dict[str, object], match: str) -> None:
    with pytest.raises(OptionsError, match=match):
        fit.STAGE.parse(values)


@pytest.mark.parametrize(("values", "error", "message"), [
    ({"language": "zz"}, UnsupportedLanguageError, "Unknown fit language 'zz': give a language code"),
    ({"language": "english"}, UnsupportedLanguageError, "Unknown fit language 'english'"),
    ({"subtitles": "this is not srt"}, OptionsError,
     "fit.subtitles: Could not read the subtitles as SRT or WebVTT (No suitable formats); check the file's "
     "format."),
    ({"subtitles": "WEBVTT\n\n"}, OptionsError, "fit.subtitles has no cues: nothing to fit."),
])
def test_a_language_or_subtitles_the_fit_cannot_use_is_refused_when_parsed(
        values: dict[str, object], error: type[Exception], message: str) -> None:
    """At submit, not after Whisper ran (``options.fit.subtitles`` failed the job then) or never
    (``language: zz`` fitted by trims alone, the text unchanged)."""
    with pytest.raises(error) as refused:
        fit.STAGE.parse(values)
    assert str(refused.value).startswith(message)
    assert fit.STAGE.parse({"language": "pt-BR", "subtitles": SRT}).language == "pt-BR"


def test_the_job_s_cues_in_another_language_are_fitted_in_theirs(samples: Path, tmp_path: Path) -> None:
    (tmp_path / subtitles.SUBTITLES_SRT).write_text(SRT)
    cues = [{"index": n, "language": lang} for n, lang in ((1, ""), (2, ""), (3, "de"))]
    (tmp_path / subtitles.SUBTITLES_JSON).write_text(json.dumps({"language": "en", "cues": cues}))
    recording = Recording(SentenceFitter(BagOfWords()))

    class Models:
        def fitter(self) -> Any:
            return recording

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    outcome = fit.run(ctx, fit.STAGE.parse({}))  # the subtitles stage's files are there
    assert outcome.summary["source"] == subtitles.SUBTITLES_SRT and recording.languages == ["en", "en", "de"]


class NoFitter:
    def fitter(self) -> Any:
        raise AssertionError("the fitter is not loaded when there is nothing to fit")


def test_subtitles_without_cues_skip_the_fit(tmp_path: Path) -> None:
    """Audio without speech leaves the job a 0-byte subtitles.srt: nothing to fit, not a failure
    ("Could not read the subtitles as SRT or WebVTT")."""
    (tmp_path / subtitles.SUBTITLES_SRT).write_text("")
    (tmp_path / subtitles.SUBTITLES_JSON).write_text(json.dumps({"language": "en", "cues": []}))
    ctx = StageContext(media_path=tmp_path / "tone.mp4", out_dir=tmp_path, models=NoFitter())  # type: ignore[arg-type]
    outcome = fit.run(ctx, fit.STAGE.parse({}))
    assert outcome.status == StageStatus.SKIPPED and outcome.files == ()
    assert outcome.reason == "no subtitles to fit: no speech was heard in the audio"



@pytest.mark.slow
@pytest.mark.parametrize("clip", ["tone.mp4", "hush.m4a"])
def test_sound_without_speech_skips_the_fit_after_the_real_subtitles_stage(
        clip: str, media_dir: Path, tmp_path: Path, require_model: Callable[[str], Path]) -> None:
    """A tone with a picture, and a silent audio-only track: Whisper hears no speech, fit skips."""
    require_model("whisper-tiny.en")
    path = media_dir / clip if clip == "tone.mp4" else tmp_path / clip
    if not path.exists():
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                        "-t", "2", "-c:a", "aac", str(path)], check=True, capture_output=True, timeout=120)
    out = tmp_path / "out"
    out.mkdir()
    planned = plan([fit.NAME])
    outcomes = run_stages(StageContext(media_path=path, out_dir=out, models=ModelCache(Settings())), planned,
                          normalise_options(planned, {}), overlap=False)
    assert outcomes[subtitles.NAME].status == StageStatus.SUCCEEDED and outcomes[subtitles.NAME].summary["cues"] == 0
    assert outcomes[fit.NAME].status == StageStatus.SKIPPED
    assert outcomes[fit.NAME].reason == "no subtitles to fit: no speech was heard in the audio"


def test_the_profile_auto_follows_the_job_s_subtitles_or_the_language() -> None:
    """The fit judged every job's cues by netflix-en: a Japanese job's at 20 characters a second
    and 42 a line, where its subtitles were made to netflix-ja's 4 and 13."""
    from app.stages.fit import FitStageOptions

    assert FitStageOptions().fit_options("ja").profile == "netflix-ja"
    assert FitStageOptions().fit_options("ja", "bbc").profile == "bbc"  # the job's own subtitles' profile
    assert FitStageOptions().fit_options("de").profile == "netflix-en"
    assert FitStageOptions(profile="netflix-en").fit_options("ja", "netflix-ja").profile == "netflix-en"
