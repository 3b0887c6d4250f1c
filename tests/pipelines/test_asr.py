"""Whisper through faster-whisper on the packaged weights: options, and real transcription."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.asr import AsrOptions, load_engine
from pipelines.exceptions import OptionsError
from pipelines.media import load_audio

normalise = EnglishTextNormalizer()


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def reference_text(path: Path) -> str:
    return next(line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))


def test_options_resolve_models() -> None:
    assert AsrOptions().resolved_model() == "whisper-tiny.en"
    assert AsrOptions(language="de").resolved_model() == "whisper-base"
    assert AsrOptions(language="auto").resolved_model() == "whisper-base"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model": "whisper-large"}, "Unknown Whisper model"),
        ({"beam_size": 0}, "beam_size"),
        ({"language": "english!"}, "ISO 639-1"),
        ({"model": "whisper-tiny.en", "language": "de"}, "only understands English"),
        ({"temperature": 0.2}, "Unknown ASR option"),
        ({"vad_filter": "yes"}, "true or false"),
    ],
)
def test_bad_options_are_explained(values: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        AsrOptions.from_mapping(values)


@pytest.fixture(scope="module")
def tiny(model_dir: Path, require_model):  # type: ignore[no-untyped-def]
    require_model("whisper-tiny.en")
    return load_engine("whisper-tiny.en", model_dir)


@pytest.fixture(scope="module")
def base(model_dir: Path, require_model):  # type: ignore[no-untyped-def]
    require_model("whisper-base")
    return load_engine("whisper-base", model_dir)


@pytest.mark.slow
def test_tiny_en_transcribes_sample_lesson_with_word_timings(tiny, samples: Path) -> None:  # type: ignore[no-untyped-def]
    reference = json.loads((samples / "lesson.json").read_text())
    progress: list[float] = []
    transcript = tiny.transcribe(load_audio(samples / "lesson.mp4"), AsrOptions(), progress.append)
    assert transcript.language == "en"
    assert wer(reference["narration"], transcript.text) < 0.15
    words = transcript.words
    assert len(words) > 50
    assert all(0 <= w.start <= w.end <= transcript.duration + 0.5 for w in words)
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    # the first slide's speech starts after its 0.5 s of silence
    first = reference["slides"][0]
    assert words[0].start == pytest.approx(first["speech_start"], abs=0.6)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lj_LJ001-0001", "librivox_sns01_0870", "sb_spk1_snt1", "ps_goforward"])
def test_tiny_en_on_human_references(tiny, testdata: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    transcript = tiny.transcribe(load_audio(testdata / "audio" / f"{name}.wav"), AsrOptions())
    assert wer(reference_text(testdata / "audio" / f"{name}.txt"), transcript.text) < 0.25


@pytest.mark.slow
def test_initial_prompt_and_hotwords_reach_the_model(tiny, testdata: Path) -> None:  # type: ignore[no-untyped-def]
    audio = load_audio(testdata / "audio" / "fw_hotwords.mp3")
    transcript = tiny.transcribe(audio, AsrOptions(hotwords="ComfyUI"))
    assert "comfyui" in transcript.text.lower().replace(" ", "")


@pytest.mark.slow
def test_base_detects_russian(base, testdata: Path) -> None:  # type: ignore[no-untyped-def]
    transcript = base.transcribe(load_audio(testdata / "audio" / "ds_ru.wav"), AsrOptions(language="auto"))
    assert transcript.language == "ru"
    assert transcript.language_probability > 0.5
    assert any("\u0400" <= ch <= "\u04ff" for ch in transcript.text)


@pytest.mark.slow
def test_english_only_model_refuses_other_languages(tiny) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    with pytest.raises(OptionsError, match="English-only"):
        tiny.transcribe(np.zeros(16000, dtype=np.float32), AsrOptions(model="auto", language="fr"))
